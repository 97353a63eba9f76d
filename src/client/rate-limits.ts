import type { CreditsSnapshot, RateLimitSnapshot, RateLimitWindow } from './events.js';
import { headerValue, type HeaderMap } from './header-map.js';

function parseWindow(headers: HeaderMap, prefix: 'primary' | 'secondary'): RateLimitWindow | null {
  const usedText = headerValue(headers, `x-codex-${prefix}-used-percent`);
  if (usedText === undefined) return null;
  const usedPercent = Number.parseFloat(usedText);
  if (!Number.isFinite(usedPercent)) return null;
  const minutesText = headerValue(headers, `x-codex-${prefix}-window-minutes`);
  const resetText = headerValue(headers, `x-codex-${prefix}-reset-at`);
  const windowMinutes = minutesText === undefined ? null : parseInteger(minutesText);
  const resetsAt = resetText === undefined ? null : parseInteger(resetText);
  // §3.5: a window exists only if something in it is non-zero or a reset time is known.
  if (usedPercent === 0 && (windowMinutes ?? 0) === 0 && resetsAt === null) return null;
  return { usedPercent, windowMinutes, resetsAt };
}

function parseInteger(text: string): number | null {
  const value = Number.parseInt(text.trim(), 10);
  return Number.isFinite(value) ? value : null;
}

function parseBool(text: string | undefined): boolean | undefined {
  const t = text?.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

function parseCredits(headers: HeaderMap): CreditsSnapshot | null {
  const hasCredits = parseBool(headerValue(headers, 'x-codex-credits-has-credits'));
  const unlimited = parseBool(headerValue(headers, 'x-codex-credits-unlimited'));
  if (hasCredits === undefined || unlimited === undefined) return null;
  const balance = headerValue(headers, 'x-codex-credits-balance')?.trim();
  return { hasCredits, unlimited, balance: balance ? balance : null };
}

/**
 * Parses the `x-codex-*` rate-limit headers (spec §3.5). Always returns a snapshot, possibly with
 * every part null, because Codex B always emits the `RateLimits` event.
 */
export function parseRateLimitHeaders(headers: HeaderMap): RateLimitSnapshot {
  return {
    primary: parseWindow(headers, 'primary'),
    secondary: parseWindow(headers, 'secondary'),
    credits: parseCredits(headers),
    planType: null,
  };
}
