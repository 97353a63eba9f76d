import { describe, expect, it } from 'vitest';
import { isPostgresUrl, redactPostgresUrl } from '../../../src/store/pg-url.js';

describe('a PostgreSQL --store URL', () => {
  it('is told apart from a path by its scheme', () => {
    expect(['postgres://h/db', 'postgresql://u:p@h:5432/db', 'POSTGRES://h/db'].map(isPostgresUrl)).toEqual([true, true, true]);
    expect(['/var/lib/modeltap.db', 'postgres.db', ':memory:', 'default', 'mysql://h/db'].map(isPostgresUrl)).toEqual([false, false, false, false, false]);
  });

  it('is shown without its password', () => {
    expect(redactPostgresUrl('postgres://modeltap:s3cret%40x@db.internal:5432/modeltap?sslmode=require')).toBe('postgres://modeltap:***@db.internal:5432/modeltap?sslmode=require');
    expect(redactPostgresUrl('postgresql://modeltap@db/modeltap')).toBe('postgresql://modeltap@db/modeltap');
    expect(redactPostgresUrl('postgres://u:secret@[bad')).toBe('postgres://…');
  });
});
