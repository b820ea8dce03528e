// Plain-text formatting for the command-line tool.
import { timestamp } from '../engine/liveLog';

export { ago } from '../shared/format';

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) { r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); }); }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export function seconds(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) { return '-'; }
  if (ms < 10_000) { return `${(ms / 1000).toFixed(1)} s`; }
  if (ms < 120_000) { return `${Math.round(ms / 1000)} s`; }
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
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
