// The results repository as the store tests see it: fsck, and saves (git, temp dirs and the command line are
// in ../fixtures).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { GitStore } from '../../src/store/results';
import { ENV } from '../fixtures';

export function assertFsckClean(results: string): void {
  const r = spawnSync('git', [`--git-dir=${results}`, 'fsck', '--strict', '--no-dangling'], { env: ENV, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // The results repository's HEAD names a branch that never exists, which fsck mentions in notices.
  assert.equal((r.stdout + r.stderr).replace(/^notice: .*\n/gm, ''), '');
}

/** After a test suite: checks each results repository with fsck, and removes `root` whatever the check says. */
export function fsckThenRemove(root: string, ...results: string[]): void {
  try {
    for (const r of results) {
      assertFsckClean(r);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export function text(data: Uint8Array): string {
  return Buffer.from(data).toString('utf8');
}

/** Commits one result of `builder`/`entry`: each file written, or removed where its content is null. */
export async function save(store: GitStore, builder: string, entry: string, files: Record<string, string | null>, message: string): Promise<string> {
  const tx = store.begin(builder, entry);
  for (const [p, content] of Object.entries(files)) {
    if (content === null) {
      tx.remove(p);
    } else {
      await tx.writeFile(p, content);
    }
  }
  return tx.commit(message);
}
