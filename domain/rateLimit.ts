// Fixed-window rate limits: time is cut into windows of equal length, counted from the epoch, so
// every API replica agrees on which window a request falls in without talking to the others.

export interface RateWindow {
  /** The window's number since the epoch: part of every counter's key. */
  index: number;
  /** When the window ends (ms since the epoch): the counter's expiry and Retry-After. */
  endsAtMs: number;
}

export function fixedWindow(nowMs: number, windowMs: number): RateWindow {
  const index = Math.floor(nowMs / windowMs);
  return { index, endsAtMs: (index + 1) * windowMs };
}

/** Whole seconds until the window ends, at least 1: what `Retry-After` says (RFC 9110). */
export function retryAfterSeconds(nowMs: number, window: RateWindow): number {
  return Math.max(1, Math.ceil((window.endsAtMs - nowMs) / 1000));
}
