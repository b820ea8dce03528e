// Which processes write objects into a repository: each leaves a mark, `info/writers/<pid>`, on its first
// write and removes it when it exits. A process killed with kill -9 cannot remove its own, nor the
// temporary object file it was writing: a mark whose process is gone tells the next process that opens the
// repository that there may be such files to sweep now, not at the next hourly sweep.
import fs = require('node:fs');
import path = require('node:path');
import { processAlive } from './gcGuard';

/** The marks this process left, removed when it exits. */
const marks = new Set<string>();

function writersDir(gitDir: string): string {
  return path.join(gitDir, 'info', 'writers');
}

/** Marks this process as a writer of the repository whose objects are in `objectsDir` (once per process). */
export function noteWriter(objectsDir: string): void {
  const mark = path.join(writersDir(path.dirname(objectsDir)), String(process.pid));
  if (marks.has(mark)) { return; }
  try {
    fs.mkdirSync(path.dirname(mark), { recursive: true });
    fs.writeFileSync(mark, '');
  } catch {
    return; // unwritable: the write that follows says why; the hourly sweep still runs
  }
  if (marks.size === 0) { process.once('exit', removeMarks); }
  marks.add(mark);
}

function removeMarks(): void {
  for (const m of marks) {
    try { fs.unlinkSync(m); } catch { /* already gone */ }
  }
  marks.clear();
}

/** The marks of writers of `gitDir` that are no longer running (their temporary files may be left). */
export function deadWriters(gitDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(writersDir(gitDir));
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid && !processAlive(Number(n))).map((n) => path.join(writersDir(gitDir), n));
}

/** Removes the marks of dead writers once their files were swept. */
export function forgetWriters(marksOfDead: readonly string[]): void {
  for (const m of marksOfDead) {
    try { fs.unlinkSync(m); } catch { /* another sweep took it */ }
  }
}
