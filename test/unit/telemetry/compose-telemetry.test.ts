import { describe, expect, it } from 'vitest';
import { composeTelemetry } from '../../../src/telemetry/compose-telemetry.js';
import type { TelemetryHooks } from '../../../src/telemetry/hooks.js';
import type { OperationInfo, ProxyTelemetry, RequestTelemetry, ServerRequestInfo } from '../../../src/telemetry/proxy-telemetry.js';

function recording(name: string, calls: string[], hooks: TelemetryHooks, allEvents?: boolean): ProxyTelemetry {
  return {
    startRequest: (): RequestTelemetry => ({
      hooks,
      ...(allEvents === undefined ? {} : { allEvents }),
      startOperation: (info) => calls.push(`${name} startOperation ${info.model}`),
      onHead: (status, transport) => calls.push(`${name} onHead ${status} ${transport}`),
      onEvent: (event) => calls.push(`${name} onEvent ${event.type}`),
      onWrite: () => calls.push(`${name} onWrite`),
      onError: (type) => calls.push(`${name} onError ${type}`),
      startTurn: () => {
        calls.push(`${name} startTurn`);
        return {
          onEvent: (event) => calls.push(`${name} turn.onEvent ${event.type}`),
          onChunk: (readAt) => calls.push(`${name} turn.onChunk ${readAt}`),
          onWrite: (readAt) => calls.push(`${name} turn.onWrite ${readAt}`),
          end: (type) => calls.push(`${name} turn.end ${type}`),
        };
      },
      onFallback: (reason) => calls.push(`${name} onFallback ${reason}`),
      end: (outcome) => calls.push(`${name} end ${outcome.statusCode}`),
    }),
  };
}

const info = { method: 'POST', route: '/v1/responses', path: '/v1/responses', scheme: 'http', clientAddress: undefined, userAgent: undefined, protocolVersion: '1.1', headers: {}, arrival: 0 } satisfies ServerRequestInfo;
const op = { apiType: 'responses', requestKind: undefined, model: 'm', stream: true, conversationId: undefined, turnId: undefined, originator: undefined, serverAddress: '127.0.0.1', serverPort: 1, body: {} } satisfies OperationInfo;

describe('composeTelemetry', () => {
  it('one part is returned as it is', () => {
    const part = recording('a', [], {});
    expect(composeTelemetry([part])).toBe(part);
  });

  it('every call reaches every part, in order', () => {
    const calls: string[] = [];
    const rt = composeTelemetry([recording('a', calls, {}), recording('b', calls, {})]).startRequest(info);
    rt.startOperation(op);
    rt.onHead(200, 'http_sse', 0.1, 1);
    rt.onEvent({ type: 'created' });
    rt.onWrite(0);
    rt.onError('aborted');
    const turn = rt.startTurn(op);
    turn.onEvent({ type: 'created' });
    turn.onChunk(1);
    turn.onWrite(2);
    turn.end('x');
    rt.onFallback('426');
    rt.end({ statusCode: 200 });
    expect(calls).toEqual(
      [
        'startOperation m',
        'onHead 200 http_sse',
        'onEvent created',
        'onWrite',
        'onError aborted',
        'startTurn',
        'turn.onEvent created',
        'turn.onChunk 1',
        'turn.onWrite 2',
        'turn.end x',
        'onFallback 426',
        'end 200',
      ].flatMap((c) => [`a ${c}`, `b ${c}`]),
    );
  });

  it("when only one part has hooks, its hooks object is passed through unchanged", () => {
    const hooks: TelemetryHooks = { onSsePoll: () => undefined };
    const rt = composeTelemetry([recording('a', [], hooks), recording('b', [], {})]).startRequest(info);
    expect(rt.hooks).toBe(hooks);
  });

  it('hooks of several parts all run, and the headers they return are merged', () => {
    const seen: string[] = [];
    const a: TelemetryHooks = { onAttemptStart: () => ({ traceparent: 'tp' }), onSsePoll: () => void seen.push('a') };
    const b: TelemetryHooks = { onAttemptStart: () => ({ 'x-extra': '1' }) };
    const rt = composeTelemetry([recording('a', [], a), recording('b', [], b)]).startRequest(info);
    expect(rt.hooks.onAttemptStart?.(0, { method: 'POST', url: 'http://127.0.0.1:1/v1/responses' })).toEqual({ traceparent: 'tp', 'x-extra': '1' });
    expect(rt.hooks.onWsEvent).toBeUndefined();
  });

  it('hooks that are methods keep their object when several parts have hooks', () => {
    class MethodHooks implements TelemetryHooks {
      readonly seen: string[] = [];
      onSsePoll(): void {
        this.seen.push('poll');
      }
      onAttemptStart(): Record<string, string> {
        this.seen.push('attempt');
        return { traceparent: 'tp' };
      }
    }
    const methods = new MethodHooks();
    const rt = composeTelemetry([recording('a', [], methods), recording('b', [], { onAttemptStart: () => ({ 'x-extra': '1' }) })]).startRequest(info);
    rt.hooks.onSsePoll?.({ kind: 'end' }, 0);
    expect(rt.hooks.onAttemptStart?.(0, { method: 'POST', url: 'http://127.0.0.1:1/v1/responses' })).toEqual({ traceparent: 'tp', 'x-extra': '1' });
    expect(methods.seen).toEqual(['poll', 'attempt']);
  });

  it('asks for every event when any part does', () => {
    expect(composeTelemetry([recording('a', [], {}), recording('b', [], {})]).startRequest(info).allEvents).toBe(false);
    expect(composeTelemetry([recording('a', [], {}), recording('b', [], {}, true)]).startRequest(info).allEvents).toBe(true);
  });
});
