// What the remote held after our last push, per remote: `pushed/<remote>`, one `<commit> <finished ms> <ref>`
// line per result. A rejected push (not a fast-forward) of a result whose remote value is the one we left
// there is a result of ours whose history gc rewrote, not another machine's: it is replaced by ours when ours
// was built later (a result is newer by its build time, not by ancestry), with a lease on the value we left.
// A file, not refs: refs would keep the rewritten histories' objects from gc.
import path = require('node:path');
import { readStamped, writeStamped } from './stampedFile';

export interface PushedResult {
  readonly commit: string;
  /** When the result finished (its commit time), ms since the epoch. */
  readonly finished: number;
}

function fileOf(gitDir: string, remote: string): string {
  return path.join(gitDir, 'pushed', remote);
}

/** What we left on `remote`, by its ref there (`refs/datakit-ci/…`); empty if we never pushed there. */
export function readPushed(gitDir: string, remote: string): Map<string, PushedResult> {
  return new Map([...readStamped(fileOf(gitDir, remote))].map(([ref, s]) => [ref, { commit: s.id, finished: s.ms }]));
}

/** Records what `remote` holds now for the refs given (the rest as recorded before); written whole, then renamed. */
export function recordPushed(gitDir: string, remote: string, now: ReadonlyMap<string, PushedResult>): void {
  if (now.size === 0) { return; }
  const all = readPushed(gitDir, remote);
  for (const [ref, r] of now) { all.set(ref, r); }
  writeStamped(fileOf(gitDir, remote), [...all].map(([ref, r]) => [ref, { id: r.commit, ms: r.finished }] as const));
}
