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


/**
 * A duration as people read it, wherever it is shown (a result's subject, the tree, the chart, the command
 * line): `0.4 s` (tenths under 10 s), `12 s`, `2 min 0 s`, `1 h 5 min`. The units carry: it is rounded to
 * what is shown first, so 119.6 s is `2 min 0 s`, never `1 min 60 s`.
 */
export function runDuration(ms: number): string {
  if (ms < 9_950) { return `${(Math.max(0, ms) / 1000).toFixed(1)} s`; }
  const s = Math.round(ms / 1000);
  if (s < 60) { return `${s} s`; }
  if (s < 3600) { return `${Math.floor(s / 60)} min ${s % 60} s`; }
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A duration in a row of the tree, where tenths are noise: `<1 s`, `12 s`, `2 min 0 s`. */
export function duration(ms: number): string {
  if (ms < 1000) { return '<1 s'; }
  return ms < 9_950 ? `${Math.round(ms / 1000)} s` : runDuration(ms);
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

/**
 * Text of several lines from a result or a log (a problem's message) as it may be shown: each line as `plain`
 * makes it (control characters, escape sequences and bidirectional overrides neutralised), the line breaks kept.
 */
export function plainLines(text: string): string {
  return text.split(/\r?\n/).map(plain).join('\n');
}
