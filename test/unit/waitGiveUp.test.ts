// `status --fetch --wait` ends when no runner is at the jobs left: the remote shows no sign of work (no result
// pushed, no claim made, refreshed or removed) for the claim expiry. A bare repository is the remote; runners are
// processes of the command line in clones of their own, or a claim put there by hand and left alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLAIMS_PREFIX } from '../../src/store/results/claims';
import { CLI, ENV, git, gitWith, makeTeam, runCli, runCliAsync, tempRoot } from '../fixtures';

const tmp = tempRoot('giveup');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = (cwd: string): NodeJS.ProcessEnv => ({ ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(path.dirname(cwd))}-${path.basename(cwd)}`) });
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, env(cwd));
const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
type Shown = { job: string; state: string; message: string | null };
const shown = (json: string): Shown[] => (JSON.parse(json) as { jobs: Shown[] }).jobs.map((j) => ({ job: j.job, state: j.state, message: j.message }));
/** The entry (`shell/<job>/<16 hex>`) of each job, as a clone's status names its branch. */
const entries = (dir: string): Map<string, string> =>
  new Map((JSON.parse(cli(dir, 'status', '--json').out) as { jobs: { job: string; branch: string }[] }).jobs.map((j) => [j.job, j.branch.slice('refs/heads/'.length)]));

describe('status --fetch --wait gives up on jobs no runner is at', () => {
  it('a claim left unchanged and a job no one claimed: each job left is given up with why, the exit code a failed build\'s', () => {
    const { remote, clone } = makeTeam(tmp, 'left', {
      a: { run: 'true', inputs: ['src'] },
      b: { run: 'true', inputs: ['src'], needs: ['a'] },
      c: { run: 'true', inputs: ['src'] },
    });
    const verdict = clone('verdict');
    // A runner claimed a, then went away (its claim never changes again).
    const claim = gitWith({ cwd: remote, input: `datakit-ci claim 1\nrunner runner-3 pid 4242\ntime ${Date.now()}\nnonce 0011223344556677\n` }, 'hash-object', '-w', '--stdin');
    git(remote, 'update-ref', `${CLAIMS_PREFIX}${entries(verdict).get('a')!}`, claim);
    const r = cli(verdict, 'status', '--fetch', '--wait', '--claim-expiry', '2', '--timeout', '120', '--json');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /gave up waiting for 3 jobs: nothing changed on origin for 2 s \(no result pushed, no claim made, refreshed or removed\), so no runner is at them/);
    assert.match(r.err, /^datakit-ci: {3}a: runner-3 pid 4242's claim did not change for \d+ s$/m);
    assert.match(r.err, /^datakit-ci: {3}b: it needs a, which has no result$/m);
    assert.match(r.err, /^datakit-ci: {3}c: no runner claimed it for \d+ s$/m);
    assert.doesNotMatch(r.err, /after waiting/, 'given up, not timed out');
    const jobs = shown(r.out);
    assert.deepEqual(jobs.map((j) => [j.job, j.state]), [['a', 'not built'], ['b', 'not built'], ['c', 'not built']]);
    assert.match(jobs[0]!.message!, /^Given up: runner-3 pid 4242's claim did not change for \d+ s$/);
  });

  it('a runner killed (SIGKILL) mid-build: the verdict names its claim, keeps the results it pushed, and fails', async () => {
    const ran = path.join(tmp, 'ran-killed');
    const { clone } = makeTeam(tmp, 'killed', {
      first: { run: `echo first >> '${ran}'`, inputs: ['src'] },
      slow: { run: `echo slow >> '${ran}'; sleep 30`, inputs: ['src'], needs: ['first'] },
    });
    const runner = clone('runner');
    const victim = spawn(process.execPath, [CLI, 'build', '--fetch', '--push', '--runners', '2', '--claim-expiry', '2'], { cwd: runner, env: env(runner), stdio: 'ignore' });
    const exited = new Promise((r) => victim.on('exit', r));
    // Mid-build: slow has started (its claim is on the remote, first's result pushed before it).
    while (!lines(ran).includes('slow')) { await new Promise((r) => setTimeout(r, 20)); }
    victim.kill('SIGKILL');
    await exited;
    const verdict = clone('verdict');
    const r = await runCliAsync(verdict, ['status', '--fetch', '--wait', '--claim-expiry', '2', '--timeout', '120'], env(verdict));
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /gave up waiting for 1 job: nothing changed on origin for 2 s/);
    assert.match(r.err, new RegExp(`^datakit-ci: {3}slow: \\S+ pid ${victim.pid}'s claim did not change for \\d+ s$`, 'm'));
    assert.match(r.out, /^first\s+success\s+cached · fetched from origin/m);
    assert.match(r.out, /^slow\s+not built\s.*Given up: \S+ pid \d+'s claim did not change/m);
  });

  it('does not give up while a living runner builds a job longer than the claim expiry: its refreshes are signs of work', async () => {
    const { clone } = makeTeam(tmp, 'alive', { long: { run: 'sleep 9', inputs: ['src'] } });
    const [runner, verdict] = [clone('runner'), clone('verdict')];
    const waiting = runCliAsync(verdict, ['status', '--fetch', '--wait', '--claim-expiry', '6', '--timeout', '300'], env(verdict));
    const built = await runCliAsync(runner, ['build', '--fetch', '--push', '--runners', '1', '--claim-expiry', '6'], env(runner));
    assert.equal(built.code, 0, built.err);
    const v = await waiting;
    assert.equal(v.code, 0, v.err);
    assert.doesNotMatch(v.err, /gave up/);
    assert.match(v.out, /^long\s+success/m);
  });

  it('refuses --claim-expiry without --wait', () => {
    const { clone } = makeTeam(tmp, 'usage', { a: { run: 'true' } });
    assert.equal(cli(clone('u'), 'status', '--fetch', '--claim-expiry', '2').code, 2);
  });
});
