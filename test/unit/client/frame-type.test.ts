import { describe, expect, it } from 'vitest';
import { frameType } from '../../../src/client/upstream-websocket.js';

describe('frameType', () => {
  it('reads the JSON type of a text frame, wherever it stands', () => {
    expect(frameType(Buffer.from('{"type":"response.output_text.delta","delta":"hi"}'))).toBe('response.output_text.delta');
    expect(frameType(Buffer.from('{ "type" : "error", "status": 400 }'))).toBe('error');
    // Past the bounded first look: the whole frame is searched.
    expect(frameType(Buffer.from(`{"response":{"text":"${'x'.repeat(4096)}"},"type":"response.completed"}`))).toBe('response.completed');
  });

  it('is undefined for a frame without one', () => {
    expect(frameType(Buffer.from('not json'))).toBeUndefined();
    expect(frameType(Buffer.from(`{"delta":"${'x'.repeat(4096)}"}`))).toBeUndefined();
  });
});
