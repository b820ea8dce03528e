// A record file of ours beside the results (`pushed/<remote>`, `claims-gc/<remote>`): one
// `<object id> <ms> <name>` line per name. Read whole (a missing file holds nothing, a line of another shape is
// skipped); written whole to a file of its own, then renamed over the old one.
import fs = require('node:fs');
import path = require('node:path');
import { randomBytes } from 'node:crypto';

export interface Stamped {
  readonly id: string;
  /** A time, ms since the epoch. */
  readonly ms: number;
}

export function readStamped(file: string): Map<string, Stamped> {
  const out = new Map<string, Stamped>();
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{40,64}) (\d+) (\S+)$/.exec(line);
    if (m) { out.set(m[3]!, { id: m[1]!, ms: Number(m[2]) }); }
  }
  return out;
}

/** Writes the lines, by name, in a new file renamed over `file`. */
export function writeStamped(file: string, lines: Iterable<readonly [string, Stamped]>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, [...lines].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, s]) => `${s.id} ${s.ms} ${name}\n`).join(''));
  fs.renameSync(tmp, file);
}
