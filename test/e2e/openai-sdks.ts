// The real `openai` SDKs the end-to-end tests run against: the newest 7 and 6.49 (still widely
// installed), the second as the npm alias `openai6`.
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { VERSION } from 'openai/version';
import OpenAI6 from 'openai6';
import { ResponsesWS as ResponsesWS6 } from 'openai6/resources/responses/ws';
import { VERSION as VERSION6 } from 'openai6/version';

/** One installed SDK: its client and Responses WebSocket classes, and the version it reports. */
export interface Sdk {
  readonly name: string;
  readonly version: string;
  /** The user-agent its Responses WebSocket handshake sends: 6.49 sends only the auth headers. */
  readonly wsUserAgent: string | undefined;
  readonly OpenAI: typeof OpenAI;
  readonly ResponsesWS: typeof ResponsesWS;
}

/** openai 7 and openai 6.49, for `describe.each`. */
export const SDKS: readonly Sdk[] = [
  { name: `openai ${VERSION}`, version: VERSION, wsUserAgent: `OpenAI/JS ${VERSION}`, OpenAI, ResponsesWS },
  // Typed as 7's API: every call the tests make exists in 6.49 too, and they run it for real.
  {
    name: `openai ${VERSION6}`,
    version: VERSION6,
    wsUserAgent: undefined,
    OpenAI: OpenAI6 as unknown as typeof OpenAI,
    ResponsesWS: ResponsesWS6 as unknown as typeof ResponsesWS,
  },
];
