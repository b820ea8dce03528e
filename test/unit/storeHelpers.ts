// The results repository as the store tests see it: git without user configuration, fsck, temp dirs, saves.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GitStore } from '../../src/store/results';

export const ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 }).replace(/\n$/, '');
}

/** The bundled command line (`npm run build` makes it). */
export const CLI = path.join(path.resolve(__dirname, '..', '..', '..'), 'dist', 'cli.js');

/** Runs the command line in `cwd` and waits for it. */
export function runCli(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** git on a results repository (a bare one: `--git-dir`, no work tree). */
export function gitIn(results: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${results}`, ...args], { env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 }).replace(/\n$/, '');
}

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

export function tempRoot(name: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `dkci-${name}-`)));
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
