// Plain-text formatting for the command-line tool.
import { timestamp } from '../engine/liveLog';

import { runDuration } from '../shared/format';

export { ago } from '../shared/format';

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) { r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); }); }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A duration in a table or a line of the command line (`-` when unknown): as everywhere, see runDuration. */
export function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : runDuration(ms);
}

export function localTime(iso: string | null): string {
  return iso ? timestamp(new Date(iso)) : '-';
}

/**
 * Text from a result or a repository (a path, a name, a message) made safe for a terminal: control
 * characters (C0 and C1, DEL, newlines and tabs included) and the bidirectional overrides shown as `\u001b`
 * instead of acting on the terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
