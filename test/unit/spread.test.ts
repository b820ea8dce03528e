// Runners that share one commit's jobs through nothing but the git remote (`build --fetch --push --runners N`):
// each runner a process of the command line in a clone of its own, a bare repository the remote. Each job
// appends its name to a file outside every clone: how many times it ran is counted there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLAIMS_PREFIX } from '../../src/store/results/claims';
import { CLI, ENV, git, gitWith, makeTeam, runCli, runCliAsync, tempRoot } from '../fixtures';

const tmp = tempRoot('spread');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = (cwd: string): NodeJS.ProcessEnv => ({ ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(path.dirname(cwd))}-${path.basename(cwd)}`) });
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, env(cwd));
const cliAsync = (cwd: string, ...args: string[]): ReturnType<typeof runCliAsync> => runCliAsync(cwd, args, env(cwd));

/**
 * `n` jobs j00… that each append their name to `ran` and sleep `sleep` s; most need one or two earlier jobs
 * (chains and fans both); `failing` exits 1 after appending.
 */
function graph(n: number, ran: string, sleep: string, failing?: string): Record<string, unknown> {
  const name = (i: number): string => `j${String(i).padStart(2, '0')}`;
  const jobs: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const needs = [i - 5, i - 9].filter((j) => j >= 0 && i % 4 !== 0).map(name);
    jobs[name(i)] = { run: `echo ${name(i)} >> '${ran}'; sleep ${sleep}${name(i) === failing ? '; exit 1' : ''}`, inputs: ['src'], ...(needs.length ? { needs } : {}) };
  }
  return jobs;
}

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
/** How many times each job ran. */
const counts = (file: string): Map<string, number> => {
  const m = new Map<string, number>();
  for (const l of lines(file)) { m.set(l, (m.get(l) ?? 0) + 1); }
  return m;
};
const refsOn = (remote: string, prefix: string): string[] => git(remote, 'for-each-ref', '--format=%(refname)', prefix).split('\n').filter(Boolean);
const verdict = (json: string): string[][] => (JSON.parse(json) as { jobs: { job: string; state: string; reason: string | null }[] }).jobs.map((j) => [j.job, j.state, String(j.reason)]);

describe('one commit\'s jobs over several runners, through the remote alone', () => {
  it('three runners build 40 jobs with needs, each exactly once; the verdict job\'s output equals a single runner\'s', async () => {
    const ran = path.join(tmp, 'ran-40');
    const jobs = graph(40, ran, '0.2', 'j05');
    const { remote, clone } = makeTeam(tmp, 'forty', jobs);
    // The same commit built by one runner alone, as today.
    const alone = cli(clone('alone'), 'build', '--json');
    assert.equal(alone.code, 1, 'j05 fails, and what needs it is skipped');
    const skipped = verdict(alone.out).filter(([, , reason]) => reason === 'skipped').map(([job]) => job);
    assert.deepEqual(skipped, ['j10', 'j14', 'j15', 'j19', 'j23'], 'what needs j05, directly or not');
    fs.rmSync(ran);

    const runners = ['r1', 'r2', 'r3'].map((r) => clone(r));
    const waiting = cliAsync(clone('verdict'), 'status', '--fetch', '--wait', '--json', '--timeout', '300');
    const runs = await Promise.all(runners.map((r) => cliAsync(r, 'build', '--fetch', '--push', '--runners', '3', '--json')));
    for (const r of runs) { assert.equal(r.code, 1, r.err); }
    const ranCounts = counts(ran);
    assert.deepEqual([...ranCounts.keys()].sort(), Object.keys(jobs).filter((j) => !skipped.includes(j)).sort(), 'every job ran but those skipped');
    assert.deepEqual([...ranCounts].filter(([, c]) => c !== 1), [], 'none ran twice');
    assert.ok(runs.filter((r) => /built [1-9]\d* of 40 jobs here/.test(r.err)).length >= 2, 'the work was shared');
    assert.equal(refsOn(remote, 'refs/datakit-ci/').length, 40, 'every result is on the remote, the skipped ones too');
    assert.deepEqual(refsOn(remote, 'refs/datakit-ci-claims/'), [], 'no claim is left');
    for (const r of runs) { assert.deepEqual(verdict(r.out), verdict(alone.out)); }

    const v = await waiting;
    assert.equal(v.code, alone.code, v.err);
    assert.deepEqual(verdict(v.out), verdict(alone.out));
    assert.deepEqual(Object.keys(JSON.parse(v.out).problems), Object.keys(JSON.parse(alone.out).problems));
  });

  it('a runner killed (SIGKILL) while it builds leaves a claim that expires: another takes the job, the run completes, every job has one result', async () => {
    const ran = path.join(tmp, 'ran-kill');
    const { remote, clone } = makeTeam(tmp, 'kill', graph(12, ran, '0.5'));
    const [a, b, c] = ['ra', 'rb', 'rc'].map((r) => clone(r));
    const args = ['build', '--fetch', '--push', '--runners', '3', '--claim-expiry', '2'];
    const victim = spawn(process.execPath, [CLI, ...args], { cwd: a, env: env(a), stdio: 'ignore' });
    const exited = new Promise((r) => victim.on('exit', r));
    // Mid-build: its first job has started (and sleeps) and holds a claim on the remote.
    while (lines(ran).length === 0) { await new Promise((r) => setTimeout(r, 20)); }
    const held = refsOn(remote, 'refs/datakit-ci-claims/');
    assert.ok(held.length >= 1, 'the killed runner holds a claim');
    victim.kill('SIGKILL');
    await exited;
    const runs = await Promise.all([b, c].map((r) => cliAsync(r, ...args)));
    for (const r of runs) { assert.equal(r.code, 0, r.err); }
    assert.ok(runs.some((r) => /taking it over from \S+ pid \d+, whose claim did not change/.test(r.err)), runs.map((r) => r.err).join('\n'));
    assert.equal(refsOn(remote, 'refs/datakit-ci/').length, 12, 'one result per job');
    assert.deepEqual(refsOn(remote, 'refs/datakit-ci-claims/'), [], 'the dead runner\'s claims are gone too');
    assert.deepEqual([...counts(ran).keys()].sort(), Object.keys(graph(12, ran, '0.5')).sort(), 'every job ran');
  });

  it('a remote that refuses every push: the runner says so and builds the jobs here', () => {
    const ran = path.join(tmp, 'ran-refused');
    const { remote, clone } = makeTeam(tmp, 'refused', graph(4, ran, '0.2'));
    fs.writeFileSync(path.join(remote, 'hooks', 'pre-receive'), '#!/bin/sh\necho "read-only mirror" >&2\nexit 1\n', { mode: 0o755 });
    const r = cli(clone('r'), 'build', '--fetch', '--push', '--runners', '2');
    assert.match(r.err, /warning: Could not claim shell\/j0\d\/\w+ on origin: \[remote rejected\] \(pre-receive hook declined\); the jobs left build here, unclaimed/);
    assert.equal(lines(ran).length, 4, 'every job built here');
    assert.match(r.err, /Could not push the results to origin/);
    assert.equal(r.code, 4, 'the push failed: the machine\'s trouble, as `build --push` says today');
  });

  it('a runner with a slot idle says which needs each waiting job waits for, and where each is built', async () => {
    const { remote, clone } = makeTeam(tmp, 'waits', {
      a: { run: 'true', inputs: ['src'] },
      b: { run: 'true', inputs: ['src'], needs: ['a'] },
    });
    const dir = clone('r');
    const entry = (JSON.parse(cli(dir, 'status', '--json').out) as { jobs: { job: string; branch: string }[] }).jobs.find((j) => j.job === 'a')!.branch.slice('refs/heads/'.length);
    // Another runner holds a (a claim put there by hand, fresh for the whole test: the expiry is long).
    const claim = gitWith({ cwd: remote, input: `datakit-ci claim 1\nrunner runner-3 pid 4242\ntime ${Date.now()}\nnonce 0011223344556677\n` }, 'hash-object', '-w', '--stdin');
    git(remote, 'update-ref', `${CLAIMS_PREFIX}${entry}`, claim);
    const runner = spawn(process.execPath, [CLI, 'build', '--fetch', '--push', '--runners', '2', '--claim-expiry', '3600'], { cwd: dir, env: env(dir), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    runner.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const exited = new Promise<number | null>((r) => runner.on('exit', (code) => r(code)));
    try {
      for (const until = Date.now() + 120_000; !/^datakit-ci: b: waits for a \(building on runner-3 pid 4242\)$/m.test(err);) {
        assert.equal(runner.exitCode, null, err);
        assert.ok(Date.now() < until, `no word of why b waits after 120 s: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(err, /^datakit-ci: a: building on runner-3 pid 4242$/m);
      // That runner goes away and its claim with it: this one builds both.
      git(remote, 'update-ref', '-d', `${CLAIMS_PREFIX}${entry}`);
      assert.equal(await exited, 0, err);
      assert.match(err, /built 2 of 2 jobs here/);
    } finally {
      runner.kill();
    }
  });

  it('refuses --runners without --fetch and --push, and a bad count', () => {
    const { clone } = makeTeam(tmp, 'usage', graph(1, path.join(tmp, 'ran-usage'), '0'));
    const dir = clone('u');
    assert.match(cli(dir, 'build', '--runners', '2').err, /--runners shares the jobs through the remote: give --fetch and --push too/);
    assert.match(cli(dir, 'build', '--fetch', '--push', '--runners', '0').err, /--runners takes how many runners/);
    assert.equal(cli(dir, 'status', '--wait').code, 2);
  });
});
