// Values derived from a repository's files (its config, its tags), kept while the files they came from keep
// their modification times, and not kept while those times are too recent to trust.
import fs = require('node:fs');
import path = require('node:path');

/** The modification times of files of `dir` (-1 for a missing one), to tell when they change. */
export function mtimes(dir: string, files: readonly string[]): number[] {
  return files.map((f) => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? -1);
}

/** The modification times of a folder and of every folder beneath it (-1 if it is missing). */
export function folderTimes(dir: string, into: number[] = []): number[] {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) { into.push(-1); return into; }
  into.push(st.mtimeMs);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) { folderTimes(path.join(dir, e.name), into); }
  }
  return into;
}

/**
 * A file changed within this long of a look may have changed again since without its time changing (the
 * clock of file times is coarse): what depends on it is not kept.
 */
const RACY_MS = 2000;

export class StampedMemo {
  private readonly memo = new Map<string, { stamp: string; value: Promise<unknown> }>();

  /**
   * `compute`'s value, computed again when the modification times of what it depends on (`times`) changed,
   * or changed too recently to tell.
   */
  get<T>(name: string, times: () => number[], compute: () => Promise<T>): Promise<T> {
    const t = times();
    const stamp = t.join(' ');
    const known = this.memo.get(name);
    if (known && known.stamp === stamp) { return known.value as Promise<T>; }
    const value = compute();
    this.memo.set(name, { stamp, value });
    // Shared by the calls made while it is computed; kept after only if what it depends on is settled.
    if (Math.max(...t) > Date.now() - RACY_MS) {
      const forget = (): void => { if (this.memo.get(name)?.value === value) { this.memo.delete(name); } };
      value.then(forget, forget);
    }
    // A failure is not kept (its callers get it through `value`): the next call computes again.
    value.catch(() => { if (this.memo.get(name)?.value === value) { this.memo.delete(name); } });
    return value;
  }
}
