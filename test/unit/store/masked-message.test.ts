// What the store keeps of an error message: never a credential, never more than MAX_ERROR_MESSAGE.
import { describe, expect, it } from 'vitest';
import { MAX_ERROR_MESSAGE } from '../../../src/store/operation-row.js';
import { maskedMessage } from '../../../src/store/row-builder.js';

describe('maskedMessage', () => {
  it("masks the keys and tokens an upstream's message quotes, and keeps the rest", () => {
    expect(maskedMessage('Incorrect API key provided: sk-proj-abc123DEF456_ghi. You can find your API key at https://platform.openai.com/account/api-keys.')).toBe(
      'Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
    expect(maskedMessage('sent Bearer abc.def and sess-0123456789 and rk-live-9999999')).toBe('sent [redacted] and [redacted] and [redacted]');
    expect(maskedMessage('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired')).toBe('token [redacted] expired');
    // Words that only start like a key are not keys.
    expect(maskedMessage('the task-runner and disk-full are fine')).toBe('the task-runner and disk-full are fine');
  });

  it("reads an OpenAI-shaped error body to its message and code, and keeps any other text as it is", () => {
    expect(maskedMessage('{"error":{"message":"simulated 400","type":"invalid_request_error","param":null,"code":null}}')).toBe('simulated 400');
    expect(maskedMessage('{"error":{"message":"Incorrect API key provided: sk-abcdefgh123.","code":"invalid_api_key"}}')).toBe('Incorrect API key provided: [redacted]. (invalid_api_key)');
    expect(maskedMessage('{"detail":"not the shape"}')).toBe('{"detail":"not the shape"}');
    expect(maskedMessage('{not json')).toBe('{not json');
  });

  it('cuts a long message to the limit, marked, and keeps none of an empty one', () => {
    const long = maskedMessage('x'.repeat(5000));
    expect(long).toHaveLength(MAX_ERROR_MESSAGE);
    expect(long?.endsWith('…')).toBe(true);
    expect(maskedMessage('')).toBeNull();
    expect(maskedMessage(null)).toBeNull();
  });
});
