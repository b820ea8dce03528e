// Durations as people write them in .datakit-ci.json: hours, minutes, seconds and milliseconds, in that
// order, each optional, at least one present ("90s", "10m", "1h30m", "500ms").
// The schema's `timeout` pattern is the same expression.
export const DURATION_PATTERN = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Milliseconds, or `undefined` when `s` is not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION_PATTERN.exec(s);
  if (!m) {
    return undefined;
  }
  const [h, min, sec, ms] = m.slice(1).map((g) => (g === undefined ? 0 : Number(g)));
  const total = h * HOUR + min * MINUTE + sec * SECOND + ms;
  return Number.isSafeInteger(total) ? total : undefined;
}

/**
 * The shortest form that `parseDuration` reads back: `1h30m`, `2h`, `1m30s`, `0s`. Below one second the
 * milliseconds are kept (`300ms`), so that a short timeout is not reported as `0s`; from one second on,
 * the fraction of a second is dropped, as a timeout or an elapsed time needs no more.
 */
export function formatDuration(ms: number): string {
  const whole = Number.isFinite(ms) ? Math.floor(ms) : 0;
  if (whole <= 0) {
    return '0s';
  }
  if (whole < SECOND) {
    return `${whole}ms`;
  }
  const total = Math.floor(whole / SECOND);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''];
  return parts.join('');
}
