import { describe, expect, it } from 'vitest';
import {
  classifyResponseFailed,
  mapHttpError,
  MESSAGES,
  parseRetryDelayMs,
} from '../../../src/client/errors.js';
import { backoffMs, shouldRetryAttempt } from '../../../src/client/retry.js';
import { parseRateLimitHeaders } from '../../../src/client/rate-limits.js';

const upstream = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)),
});

describe('parseRetryDelayMs (§2.2.3, §6.1 item 11)', () => {
  it.each([
    ['Rate limit reached. Please try again in 28ms.', 28],
    ['Please try again in 1.898s. Visit …', 1898],
    ['Rate limit exceeded. Try again in 35 seconds.', 35_000],
    ['Please try again in 11.054s', 11_054],
    ['try again in 1 second', 1000],
    ['no delay here', undefined],
  ])('%s → %s ms', (message, expected) => {
    const value = parseRetryDelayMs(message);
    if (expected === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(expected, 6);
  });
});

describe('classifyResponseFailed (§2.2.3)', () => {
  const failed = (error: unknown) => classifyResponseFailed({ response: { id: 'r', error } });

  it('maps the codes Codex inspects', () => {
    expect(failed({ code: 'context_length_exceeded', message: 'a\nb' }).kind).toBe('context_window_exceeded');
    expect(failed({ code: 'insufficient_quota' }).kind).toBe('quota_exceeded');
    expect(failed({ code: 'usage_not_included' }).kind).toBe('usage_not_included');
    expect(failed({ code: 'invalid_prompt', message: 'bad prompt' })).toMatchObject({ kind: 'invalid_request', message: 'bad prompt' });
    expect(failed({ code: 'invalid_prompt' }).message).toBe('Invalid request.');
  });

  it('treats anything else as a retryable stream error, with a delay only for rate limits', () => {
    const limited = failed({ code: 'rate_limit_exceeded', message: 'Please try again in 2.5s.' });
    expect(limited).toMatchObject({ kind: 'stream', retryable: true, delayMs: 2500 });
    expect(limited.message).toBe('stream disconnected before completion: Please try again in 2.5s.');
    expect(failed({ code: 'server_error', message: 'try again in 3s' }).delayMs).toBeUndefined();
    expect(classifyResponseFailed({}).message).toBe(`stream disconnected before completion: ${MESSAGES.responseFailed}`);
  });
});

describe('mapHttpError (§4.8)', () => {
  it('maps statuses and bodies to Codex variants', () => {
    expect(mapHttpError(upstream(400, 'The image data you provided does not represent a valid image')).kind).toBe('invalid_image_request');
    expect(mapHttpError(upstream(400, { error: { message: 'nope' } }))).toMatchObject({ kind: 'invalid_request', retryable: false, status: 400 });
    expect(mapHttpError(upstream(500, 'x'))).toMatchObject({ kind: 'internal_server_error', retryable: true, message: MESSAGES.internalServerError });
    expect(mapHttpError(upstream(503, { error: { code: 'server_is_overloaded' } }))).toMatchObject({ kind: 'server_overloaded', retryable: false });
    expect(mapHttpError(upstream(503, { error: { code: 'slow_down' } })).kind).toBe('server_overloaded');
    expect(mapHttpError(upstream(429, { error: { type: 'usage_not_included' } })).kind).toBe('usage_not_included');
    expect(mapHttpError(upstream(429, { error: { type: 'rate_limit' } }))).toMatchObject({ kind: 'retry_limit', retryable: false, status: 429 });
    const other = mapHttpError(upstream(404, { error: { message: 'no such model' } }, { 'x-request-id': 'req_9' }));
    expect(other).toMatchObject({ kind: 'unexpected_status', retryable: true, status: 404, upstreamStatus: 404, requestId: 'req_9' });
    expect(other.message).toBe('unexpected status 404: no such model');
  });

  it('keeps the request id in Codex B order: cf-ray, x-request-id, x-oai-request-id', () => {
    expect(mapHttpError(upstream(502, '', { 'x-oai-request-id': 'c', 'x-request-id': 'b', 'cf-ray': 'a' })).requestId).toBe('a');
    expect(mapHttpError(upstream(502, '', { 'x-oai-request-id': 'c' })).requestId).toBe('c');
  });

  it('reads a usage limit with its rate limits', () => {
    const err = mapHttpError(
      upstream(429, { error: { type: 'usage_limit_reached', plan_type: 'pro', resets_at: 1704067242 } }, { 'x-codex-primary-used-percent': '100.0', 'x-codex-primary-window-minutes': '15' }),
    );
    expect(err.kind).toBe('usage_limit_reached');
    expect(err.message.toLowerCase()).toContain('usage limit');
    expect(err.rateLimits?.primary).toEqual({ usedPercent: 100, windowMinutes: 15, resetsAt: null });
  });
});

describe('backoff and retry rules (§4.1)', () => {
  it('doubles from the base with ±10 % jitter', () => {
    expect(backoffMs(200, 0)).toBe(200);
    expect(backoffMs(200, 1, () => 0)).toBeCloseTo(180);
    expect(backoffMs(200, 2, () => 0.5)).toBeCloseTo(400);
    expect(backoffMs(200, 4, () => 0.999999)).toBeCloseTo(1760, 0);
  });

  it('retries 5xx, network errors and timeouts but never 429 or other 4xx', () => {
    expect(shouldRetryAttempt({ kind: 'status', status: 503 }, 0, 4)).toBe(true);
    expect(shouldRetryAttempt({ kind: 'status', status: 429 }, 0, 4)).toBe(false);
    expect(shouldRetryAttempt({ kind: 'status', status: 401 }, 0, 4)).toBe(false);
    expect(shouldRetryAttempt({ kind: 'network' }, 3, 4)).toBe(true);
    expect(shouldRetryAttempt({ kind: 'timeout' }, 4, 4)).toBe(false);
  });
});

describe('parseRateLimitHeaders (§3.5)', () => {
  it('always returns a snapshot and drops empty windows', () => {
    expect(parseRateLimitHeaders({})).toEqual({ primary: null, secondary: null, credits: null, planType: null });
    expect(parseRateLimitHeaders({ 'x-codex-primary-used-percent': '0' }).primary).toBeNull();
    expect(parseRateLimitHeaders({ 'x-codex-primary-used-percent': 'abc', 'x-codex-primary-window-minutes': '5' }).primary).toBeNull();
  });

  it('reads credits only when both flags are present', () => {
    expect(parseRateLimitHeaders({ 'x-codex-credits-has-credits': 'true' }).credits).toBeNull();
    expect(
      parseRateLimitHeaders({ 'x-codex-credits-has-credits': '1', 'x-codex-credits-unlimited': 'false', 'x-codex-credits-balance': ' 12 ' }).credits,
    ).toEqual({ hasCredits: true, unlimited: false, balance: '12' });
  });
});
