import { ModelClient, type ModelClientOptions, type ProviderOptions } from '../../src/index.js';
import type { ModelClientError, ResponseEvent } from '../../src/index.js';
import type { FakeUpstream } from './fake-upstream.js';
import { userMessage } from './fake-upstream.js';

/** A client pointed at the fake upstream, with no retries and a fast backoff unless overridden. */
export function clientFor(
  upstream: FakeUpstream,
  options: Partial<Omit<ModelClientOptions, 'provider'>> & { provider?: ProviderOptions } = {},
): ModelClient {
  const { provider, ...rest } = options;
  return new ModelClient({
    auth: { apiKey: 'Test API Key' },
    model: 'gpt-5.1-codex',
    ...rest,
    provider: {
      baseUrl: `${upstream.url}/v1`,
      requestMaxRetries: 0,
      streamMaxRetries: 0,
      retryBaseDelayMs: 1,
      ...provider,
    },
  });
}

/** The events a stream yields and the error it ends with, if any. */
export async function drain(events: AsyncIterable<ResponseEvent>): Promise<{ events: ResponseEvent[]; error: ModelClientError | undefined }> {
  const out: ResponseEvent[] = [];
  try {
    for await (const event of events) out.push(event);
    return { events: out, error: undefined };
  } catch (error) {
    return { events: out, error: error as ModelClientError };
  }
}

/** Events without the frame-only `raw` events and the always-present `rate_limits`, without their bytes. */
export function semantic(events: readonly ResponseEvent[]): unknown[] {
  return events
    .filter((e) => e.type !== 'raw' && e.type !== 'rate_limits')
    .map((e) => {
      if (!('raw' in e)) return e;
      const { raw: _raw, ...rest } = e;
      return rest;
    });
}

/** A minimal prompt. */
export function prompt(text = 'hello', extra: Record<string, unknown> = {}) {
  return { instructions: 'You are a test.', input: [userMessage(text)], ...extra };
}
