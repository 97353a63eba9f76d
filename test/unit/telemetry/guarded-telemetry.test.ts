import { describe, expect, it } from 'vitest';
import { HookFanout } from '../../../src/client/hook-fanout.js';
import { guardTelemetry, TelemetryFaults } from '../../../src/telemetry/guarded-telemetry.js';
import type { TelemetryHooks } from '../../../src/telemetry/hooks.js';
import { noopRequestTelemetry } from '../../../src/telemetry/noop-telemetry.js';
import type { ProxyTelemetry, RequestTelemetry, ServerRequestInfo } from '../../../src/telemetry/proxy-telemetry.js';

const info: ServerRequestInfo = { method: 'POST', route: '/v1/responses', path: '/v1/responses', scheme: 'http', clientAddress: '127.0.0.1', userAgent: undefined, protocolVersion: '1.1', headers: {}, arrival: 0 };

/** A telemetry that records every call it gets. */
function recording(calls: unknown[][], hooks: TelemetryHooks = {}): ProxyTelemetry {
  const request: RequestTelemetry = {
    hooks,
    allEvents: true,
    startOperation: (...args) => void calls.push(['startOperation', ...args]),
    onHead: (...args) => void calls.push(['onHead', ...args]),
    onEvent: (...args) => void calls.push(['onEvent', ...args]),
    onWrite: (...args) => void calls.push(['onWrite', ...args]),
    onError: (...args) => void calls.push(['onError', ...args]),
    startTurn: (...args) => {
      calls.push(['startTurn', ...args]);
      return {
        onEvent: (...a) => void calls.push(['turn.onEvent', ...a]),
        onChunk: (...a) => void calls.push(['turn.onChunk', ...a]),
        onWrite: (...a) => void calls.push(['turn.onWrite', ...a]),
        end: (...a) => void calls.push(['turn.end', ...a]),
      };
    },
    onFallback: (...args) => void calls.push(['onFallback', ...args]),
    end: (...args) => void calls.push(['end', ...args]),
  };
  return { startRequest: (i) => (calls.push(['startRequest', i.path]), request) };
}

describe('guardTelemetry', () => {
  it('passes every call through unchanged, hook results included', () => {
    const calls: unknown[][] = [];
    const hooks: TelemetryHooks = {
      onAttemptStart: (attempt) => (calls.push(['onAttemptStart', attempt]), { traceparent: '00-abc-def-01' }),
      onSsePoll: (poll, ms) => void calls.push(['onSsePoll', poll.kind, ms]),
    };
    const rt = guardTelemetry(recording(calls, hooks), new TelemetryFaults()).startRequest(info);
    expect(rt.allEvents).toBe(true);
    rt.onHead(200, 'http_sse', 1, 2);
    rt.onWrite(5);
    rt.end({ statusCode: 200 });
    expect(rt.hooks.onAttemptStart?.(0, { method: 'POST', url: 'http://u' })).toEqual({ traceparent: '00-abc-def-01' });
    rt.hooks.onSsePoll?.({ kind: 'end' }, 3);
    expect(calls).toEqual([['startRequest', '/v1/responses'], ['onHead', 200, 'http_sse', 1, 2], ['onWrite', 5], ['end', { statusCode: 200 }], ['onAttemptStart', 0], ['onSsePoll', 'end', 3]]);
  });

  it('keeps a part without hooks a plain empty hook set, and is the only guard around hooks it has', () => {
    const faults = new TelemetryFaults();
    expect(guardTelemetry(recording([]), faults).startRequest(info).hooks).toEqual({});
    const hooks = guardTelemetry(recording([], { onSsePoll: () => undefined }), faults).startRequest(info).hooks;
    expect(hooks).toBeInstanceOf(HookFanout);
    // The core's own fan-out (a client with no hooks of its own) takes it as it is: one guard, not two.
    expect(new HookFanout([]).with(hooks)).toBe(hooks);
  });

  it('a startRequest that throws gives the no-op telemetry; a throwing hooks or allEvents getter gives none', () => {
    const reported: [string, string][] = [];
    const faults = new TelemetryFaults({ count: (method, type) => reported.push([method, type]) });
    expect(guardTelemetry({ startRequest: () => { throw new RangeError('no'); } }, faults).startRequest(info)).toBe(noopRequestTelemetry);
    const broken = {
      get hooks(): TelemetryHooks {
        throw new TypeError('hooks');
      },
      get allEvents(): boolean {
        throw new SyntaxError('allEvents');
      },
    } as unknown as RequestTelemetry;
    const rt = guardTelemetry({ startRequest: () => broken }, faults).startRequest(info);
    expect(rt.hooks).toEqual({});
    expect(rt.allEvents).toBe(false);
    rt.onWrite(1); // broken has no methods at all: a TypeError, caught
    expect(reported).toEqual([['startRequest', 'RangeError'], ['hooks', 'TypeError'], ['allEvents', 'SyntaxError'], ['onWrite', 'TypeError']]);
  });
});

describe('guardTelemetry: WebSocket turns', () => {
  it("a turn's handle passes its calls through, and is guarded: its faults are counted as turn.<method>", () => {
    const calls: unknown[][] = [];
    const op = { apiType: 'responses', requestKind: undefined, model: 'm', stream: true, conversationId: undefined, turnId: undefined, originator: undefined, serverAddress: '127.0.0.1', serverPort: 1, body: {} } as const;
    const turn = guardTelemetry(recording(calls), new TelemetryFaults()).startRequest(info).startTurn(op);
    turn.onChunk(3);
    turn.end('aborted');
    expect(calls.slice(1)).toEqual([['startTurn', op], ['turn.onChunk', 3], ['turn.end', 'aborted']]);

    const reported: string[] = [];
    const faults = new TelemetryFaults({ count: (method, type) => reported.push(`${method}/${type}`) });
    const throwing = (): never => {
      throw new TypeError('turn');
    };
    const broken: ProxyTelemetry = {
      startRequest: () => ({ ...noopRequestTelemetry, startTurn: () => ({ onEvent: throwing, onChunk: throwing, onWrite: throwing, end: throwing }) }),
    };
    const guarded = guardTelemetry(broken, faults).startRequest(info).startTurn(op);
    guarded.onEvent({ type: 'created' });
    guarded.onChunk(1);
    guarded.onWrite(1);
    guarded.end();
    const failing = guardTelemetry({ startRequest: () => ({ ...noopRequestTelemetry, startTurn: throwing }) }, faults).startRequest(info).startTurn(op);
    expect(() => failing.end('aborted')).not.toThrow();
    expect(reported).toEqual(['turn.onEvent/TypeError', 'turn.onChunk/TypeError', 'turn.onWrite/TypeError', 'turn.end/TypeError', 'startTurn/TypeError']);
  });
});

describe('TelemetryFaults', () => {
  it('counts every fault and logs the first of each kind, one line', () => {
    const counted: string[] = [];
    const lines: string[] = [];
    const faults = new TelemetryFaults({ count: (m, t) => counted.push(`${m}/${t}`), log: (l) => lines.push(l) });
    for (let i = 0; i < 3; i++) faults.report('onEvent', new TypeError(`bad ${i}\nsecond line`));
    faults.report('onEvent', new RangeError('range'));
    faults.report('end', 'a string');
    faults.report('end', Object.assign(new Error('odd'), { name: 'not an identifier!' }));
    expect(counted).toEqual(['onEvent/TypeError', 'onEvent/TypeError', 'onEvent/TypeError', 'onEvent/RangeError', 'end/_OTHER', 'end/_OTHER']);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^telemetry onEvent threw TypeError: bad 0 \(at .*guarded-telemetry\.test\.ts/);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('never throws, whatever its counter and log do', () => {
    const faults = new TelemetryFaults({
      count: () => {
        throw new Error('counter');
      },
      log: () => {
        throw new Error('log');
      },
    });
    expect(() => faults.report('onWrite', new Error('x'))).not.toThrow();
  });

  it('bounds the kinds it remembers: errors of ever new names are counted as _OTHER, unlogged', () => {
    const counted: string[] = [];
    const lines: string[] = [];
    const faults = new TelemetryFaults({ count: (_m, t) => counted.push(t), log: (l) => lines.push(l) });
    for (let i = 0; i < 300; i++) faults.report('onEvent', Object.assign(new Error('x'), { name: `Error${i}` }));
    expect(lines).toHaveLength(256);
    expect(counted.slice(0, 256)).toEqual(Array.from({ length: 256 }, (_, i) => `Error${i}`));
    expect(counted.slice(256)).toEqual(Array.from({ length: 44 }, () => '_OTHER'));
  });
});
