// Times as people read them, in the tree and on the command line alike.

/** `just now`, `3 min ago`, `2 h ago`, `4 d ago`. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) { return 'just now'; }
  if (s < 90) { return '1 min ago'; }
  if (s < 3600) { return `${Math.round(s / 60)} min ago`; }
  if (s < 5400) { return '1 h ago'; }
  if (s < 86_400) { return `${Math.round(s / 3600)} h ago`; }
  return `${Math.round(s / 86_400)} d ago`;
}


/** A duration as a result's subject says it: `0.4 s`, `12 s`, `3 min 4 s`. */
export function runDuration(ms: number): string {
  if (ms < 10_000) { return `${(ms / 1000).toFixed(1)} s`; }
  if (ms < 60_000) { return `${Math.round(ms / 1000)} s`; }
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * Text from a result or a repository (a commit's subject, a failure message, a branch) as it may be shown in a
 * label: control characters (a newline, an escape sequence, a bidirectional override) neutralised, so that it
 * stays one line and reads as what it is. Escaping for HTML or markdown is still the caller's.
 */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\t\n\r\v\f\u2028\u2029]+/g, ' ').replace(/[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
}
