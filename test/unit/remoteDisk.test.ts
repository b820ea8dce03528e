// Fetch, push and gc against a real bare remote: what a killed fetch leaves (processes, temp packs), gc
// beside a fetch, push after gc rewrote histories, and a size cap with fetched results.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { appendingJobs, CLI, ENV, git, makeTeam, runCli, tempRoot, type Team } from '../fixtures';

const tmp = tempRoot('remote-disk');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const ran = path.join(tmp, 'ran');
const team = (name: string, files: Record<string, string> = {}): Team => makeTeam(tmp, name, appendingJobs(ran), files);

function cliEnv(cwd: string): NodeJS.ProcessEnv {
  return { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(path.dirname(cwd))}-${path.basename(cwd)}`) };
}
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, cliEnv(cwd));

/** The command line in `cwd`, started (not waited for): its process, its output so far, and its end. */
function start(cwd: string, ...args: string[]): { pid: number; output: () => string; ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const c = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(cwd), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (b) => { out += b; });
  c.stderr.on('data', (b) => { out += b; });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
  return { pid: c.pid!, output: () => out, ended };
}

/**
 * A remote `name` in `clone` for the team's bare repository, reached through an upload-pack that passes
 * `holdAfter` bytes of its answer (0: none), then writes its pid to `reached` and waits (until killed).
 */
function heldRemote(clone: string, name: string, remote: string, holdAfter: number): { reached: string } {
  const reached = path.join(tmp, `reached-${name}-${path.basename(clone)}`);
  const wrapper = path.join(tmp, `upload-pack-${name}-${path.basename(clone)}`);
  fs.writeFileSync(wrapper, `#!/bin/sh
git upload-pack "$@" | { head -c ${holdAfter}; echo $$ > '${reached}.tmp'; mv '${reached}.tmp' '${reached}'; exec sleep 600; }
`, { mode: 0o755 });
  git(clone, 'remote', 'add', name, remote);
  git(clone, 'config', `remote.${name}.uploadpack`, wrapper);
  return { reached };
}

/** Until `file` exists; what `ended` says first fails the test (the command ended before it got there). */
async function untilExists(file: string, ended: Promise<unknown>, what: string): Promise<void> {
  let over = false;
  void ended.then(() => { over = true; });
  for (let i = 0; !fs.existsSync(file); i++) {
    if (over && !fs.existsSync(file)) { throw new Error(`the command ended before ${what}`); }
    if (i === 6000) { throw new Error(`not ${what} in two minutes`); }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The processes (pid and command line) whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const ps = execFileSync('ps', ['-A', '-o', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(text) && !/\bps -A\b/.test(l)).map((l) => l.trim());
}

/** Whether a process is there (a zombie that its parent has not reaped answers too). */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Until every process of `pids` and every one mentioning `text` is gone; what is left after 20 s is listed in the failure. */
async function untilGone(pids: number[], text: string): Promise<void> {
  for (let i = 0; ; i++) {
    const left = [...pids.filter(alive).map((p) => `${p}`), ...processesMentioning(text)];
    if (left.length === 0) { return; }
    if (i === 400) { assert.fail(`still running 20 s after the command line was killed: ${left.join(' | ')}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fetch, push and gc keep the remote and the disk right', () => {
  it('a fetch killed with kill -9 leaves no git process of it running (git and the upload-pack it started die with it)', async () => {
    const { remote, clone } = team('killed');
    const ci = clone('ci');
    assert.equal(cli(ci, 'build', '--push').code, 1, 'lint fails; all three pushed');
    const mine = clone('mine');
    const { reached } = heldRemote(mine, 'slow', remote, 0);
    const fetch = start(mine, 'fetch', 'slow');
    await untilExists(reached, fetch.ended, 'the remote was asked');
    const held = Number(fs.readFileSync(reached, 'utf8'));
    assert.ok(alive(held));
    assert.ok(processesMentioning(results(mine)).length > 0, 'git fetch runs, naming the results repository');
    process.kill(fetch.pid, 'SIGKILL');
    assert.deepEqual(await fetch.ended, { code: null, signal: 'SIGKILL' });
    await untilGone([held], results(mine));
  });
});
