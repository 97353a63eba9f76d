import type { TelemetryHooks } from './hooks.js';
import type { ProxyTelemetry, RequestTelemetry } from './proxy-telemetry.js';

/** Several telemetry implementations as one: every call reaches each, hooks included. */
export function composeTelemetry(parts: readonly ProxyTelemetry[]): ProxyTelemetry {
  if (parts.length === 1) return parts[0] as ProxyTelemetry;
  return {
    startRequest: (info) => {
      const requests = parts.map((p) => p.startRequest(info));
      const hooks: TelemetryHooks = {};
      const keys = ['onAttemptStart', 'onRequest', 'onSsePoll', 'onWsRequest', 'onWsEvent', 'onWsFallback', 'onAuthRecovery'] as const;
      for (const key of keys) {
        const fns = requests.map((r) => r.hooks[key]).filter((f): f is NonNullable<typeof f> => f !== undefined);
        if (fns.length === 0) continue;
        // Hooks run per SSE frame: with one implementation (the usual case), call it directly.
        if (fns.length === 1) {
          (hooks as Record<string, unknown>)[key] = fns[0];
          continue;
        }
        (hooks as Record<string, unknown>)[key] = (...args: unknown[]) => {
          let merged: Record<string, string> | undefined;
          for (const fn of fns) {
            const out = (fn as (...a: unknown[]) => unknown)(...args);
            if (out !== undefined && typeof out === 'object') merged = { ...merged, ...(out as Record<string, string>) };
          }
          return merged;
        };
      }
      const all = <K extends keyof Omit<RequestTelemetry, 'hooks' | 'allEvents'>>(key: K) => (...args: Parameters<RequestTelemetry[K]>) => {
        for (const r of requests) (r[key] as (...a: unknown[]) => void)(...args);
      };
      return {
        hooks,
        allEvents: requests.some((r) => r.allEvents === true),
        startOperation: all('startOperation'),
        onHead: all('onHead'),
        // Called per relayed chunk: plain loops, no argument arrays.
        onEvent: (event) => {
          for (const r of requests) r.onEvent(event);
        },
        onWrite: (readAt) => {
          for (const r of requests) r.onWrite(readAt);
        },
        onError: all('onError'),
        startTurn: all('startTurn'),
        endTurn: all('endTurn'),
        onFallback: all('onFallback'),
        end: all('end'),
      };
    },
  };
}
