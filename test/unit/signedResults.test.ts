// Signed results and trusted builders, attacked as a teammate with push access would: real git, real
// ssh-keygen keys, results forged by hand with git's own plumbing and pushed under refs/datakit-ci/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, gitIn, gitWith, makeTeam, runCli, tempRoot, type Team } from '../fixtures';

const tmp = tempRoot('signed');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const ran = path.join(tmp, 'ran');
const runs = (): string[] => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean) : []);

function cli(cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> {
  return runCli(cwd, args, { ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_SIGNING_KEY: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(cwd)}`), ...extra });
}

/** A key made by the real ssh-keygen, with the allowed-signers line that trusts it as `principal`. */
function sshKey(name: string, principal: string): { file: string; privateKey: string; allowed: string } {
  const file = path.join(tmp, `${name}_ed25519`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', principal, '-f', file]);
  const pub = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { file, privateKey: fs.readFileSync(file, 'utf8'), allowed: `${principal} namespaces="git" ${pub}\n` };
}

/**
 * A bare origin with one commit whose jobs are: `lint` (fails), `unit` (passes), `build` (an output script)
 * and `app` (runs what build made). Each appends its name to `ran`; `app` also what the script printed.
 */
function team(name: string, files: Record<string, string> = {}): Team {
  const jobs = {
    lint: { run: `echo lint >> '${ran}'; exit 1`, inputs: ['src'] },
    unit: { run: `echo unit >> '${ran}'`, inputs: ['src'] },
    build: { run: `mkdir -p dist && printf 'echo genuine\\n' > dist/app.sh && echo build >> '${ran}'`, inputs: ['src'], outputs: ['dist'] },
    app: { run: `echo "app $(sh dist/app.sh)" >> '${ran}'`, inputs: ['src'], needs: ['build'] },
  };
  return makeTeam(tmp, name, jobs, files);
}

type Report = { job: string; state: string; cached: boolean; branch: string; commit: string; fetchedFrom: string | null; verified: string | null };

/**
 * The forger: keys from `status --json` (nothing runs there), then result commits made by hand from the trees
 * of its own builds (so their key.json is right): lint passes, unit fails, build's output prints `FORGED`.
 * unit's forgery is signed with the forger's own key (a signer nobody trusts).
 */
function forge(forger: string, remote: string, forgerKey: string): void {
  const status = JSON.parse(cli(forger, ['status', '--json']).out) as { jobs: Report[] };
  assert.ok(status.jobs.every((j) => j.state === 'not built'), 'the keys are known before anything is built');
  cli(forger, ['build']);
  const r = results(forger);
  const index = path.join(tmp, 'forge-index');
  const empty = fs.mkdtempSync(path.join(tmp, 'forge-wt-')); // update-index wants a work tree; it reads nothing there
  const withIndex = (input: string, ...args: string[]): string => gitWith({ input, env: { GIT_INDEX_FILE: index, GIT_WORK_TREE: empty } }, `--git-dir=${r}`, ...args);
  for (const j of status.jobs) {
    const genuine = gitIn(r, 'rev-parse', j.branch);
    withIndex('', 'read-tree', genuine);
    let subject = `${j.job} @ forged: passed in 1 s`;
    let sign: string[] = [];
    if (j.job === 'lint') { withIndex('', 'update-index', '--force-remove', 'failure'); }
    if (j.job === 'unit') {
      const failure = withIndex('forged failure\n', 'hash-object', '-w', '--stdin');
      withIndex('', 'update-index', '--add', '--cacheinfo', `100644,${failure},failure`);
      subject = `${j.job} @ forged: failed after 1 s: forged failure`;
      sign = ['-c', 'gpg.format=ssh', '-c', `user.signingKey=${forgerKey}`];
    }
    if (j.job === 'build') {
      const script = gitIn(r, 'ls-tree', '-r', '--name-only', genuine).split('\n').find((p) => p.endsWith('app.sh'))!;
      const forged = withIndex('echo FORGED\n', 'hash-object', '-w', '--stdin');
      withIndex('', 'update-index', '--cacheinfo', `100644,${forged},${script}`);
    }
    const tree = withIndex('', 'write-tree');
    const commit = gitWith({}, ...sign, `--git-dir=${r}`, 'commit-tree', ...(sign.length ? ['-S'] : []), tree, '-m', subject, '-m', 'Built-By: runner@ci-runner-7 (linux-x64, GitHub Actions)');
    gitIn(r, 'push', '-q', remote, `${commit}:refs/datakit-ci/${j.branch.slice('refs/heads/'.length)}`);
  }
}

describe('signed results and trusted builders', () => {
  it('with a trusted builder configured, forged results pushed by a teammate are not used: the jobs build here, the verdict is a clean build\'s, and each refusal says why', () => {
    const { remote, clone } = team('forged');
    const ci = sshKey('ci', 'ci@example.com');
    const forger = sshKey('forger', 'mallory@example.com');
    forge(clone('forger'), remote, forger.file);
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/').split('\n').length, 4);

    const clean = JSON.parse(cli(clone('clean'), ['build', '--json']).out) as { jobs: Report[] };
    const victim = clone('victim');
    fs.writeFileSync(path.join(tmp, 'allowed_signers'), ci.allowed);
    git(victim, 'config', 'datakit-ci.allowedSigners', path.join(tmp, 'allowed_signers'));
    fs.writeFileSync(ran, '');
    const r = cli(victim, ['build', '--fetch', '--push', '--json']);
    const got = JSON.parse(r.out) as { jobs: Report[] };
    assert.deepEqual(got.jobs.map((j) => [j.job, j.state, j.cached]), clean.jobs.map((j) => [j.job, j.state, false]), 'the verdict of a clean build, each job built here');
    assert.equal(r.code, 1, 'lint fails, as it really does');
    assert.deepEqual(runs().sort(), ['app genuine', 'build', 'lint', 'unit'], 'every job ran, and app ran the genuine script');
    assert.match(r.err, /lint: fetched from origin, unsigned — not used/);
    assert.match(r.err, /build: fetched from origin, unsigned — not used/);
    assert.match(r.err, /unit: fetched from origin, signature by SHA256:[A-Za-z0-9+/]{43} not trusted — not used/);
    assert.match(r.err, /pushed to origin: 0 sent, 0 already there, 4 left as origin has them from another machine/);
    assert.doesNotMatch(fs.readFileSync(ran, 'utf8'), /FORGED/);
    // Restore Outputs and `log` read the entry's branch: what was refused never entered it.
    const build = got.jobs.find((j) => j.job === 'build')!;
    assert.equal(gitIn(results(victim), 'rev-parse', build.branch), build.commit);
    const script = gitIn(results(victim), 'ls-tree', '-r', '--name-only', build.commit).split('\n').find((p) => p.endsWith('app.sh'))!;
    assert.match(gitIn(results(victim), 'show', `${build.commit}:${script}`), /genuine/);
  });

  it('a result signed with DATAKIT_CI_SIGNING_KEY by CI is a hit that says "verified: <principal>", and the real git verify-commit accepts it', () => {
    const ci = sshKey('ci2', 'ci@example.com');
    // The trusted builders are published on the remote's default branch.
    const { clone } = team('signed', { '.datakit-ci/allowed_signers': ci.allowed });
    const runner = clone('runner');
    const built = cli(runner, ['build', '--push'], { DATAKIT_CI_SIGNING_KEY: ci.privateKey });
    assert.match(built.err, /results saved here are signed with DATAKIT_CI_SIGNING_KEY \(ssh-ed25519 SHA256:/);
    assert.equal(built.err.split('signed with').length, 2, 'said once');

    const dev = clone('dev');
    fs.writeFileSync(ran, '');
    const r = cli(dev, ['build', '--fetch', '--json']);
    assert.deepEqual(runs(), [], 'nothing ran: every job is a hit');
    const jobs = (JSON.parse(r.out) as { jobs: Report[] }).jobs;
    assert.deepEqual(jobs.map((j) => [j.job, j.cached, j.fetchedFrom, j.verified]), jobs.map((j) => [j.job, true, 'origin', 'ci@example.com']));
    assert.match(cli(dev, ['status']).out, /unit\s+success\s+cached · fetched from origin, verified: ci@example\.com/);
    assert.match(cli(dev, ['history', 'unit']).out, /\(fetched from origin, verified: ci@example\.com\)/);
    assert.match(cli(dev, ['explain', 'unit']).out, /fetched from origin, verified: ci@example\.com/);
    assert.equal((JSON.parse(cli(dev, ['history', 'unit', '--json']).out) as { builds: { verified: string }[] }).builds[0]!.verified, 'ci@example.com');

    const allowed = path.join(tmp, 'allowed_signers_git');
    fs.writeFileSync(allowed, ci.allowed);
    for (const j of jobs) {
      const verified = gitWith({}, `--git-dir=${results(dev)}`, '-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', '--raw', j.commit);
      assert.equal(typeof verified, 'string', `git verify-commit accepts ${j.job}'s result`);
    }
    // And it refuses one we did not sign (the check is real).
    assert.throws(() => gitWith({}, `--git-dir=${results(dev)}`, '-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', `${jobs[0]!.commit}^{tree}`));
  });

  it('with no trusted builder configured, fetched results are used and each says "unverified"; --trust any says so with one configured', () => {
    const { clone } = team('open');
    cli(clone('ci3'), ['build', '--push']);
    const dev = clone('dev3');
    fs.writeFileSync(ran, '');
    const r = cli(dev, ['build', '--fetch', '--json']);
    assert.deepEqual(runs(), []);
    assert.deepEqual((JSON.parse(r.out) as { jobs: Report[] }).jobs.map((j) => j.verified), ['unverified', 'unverified', 'unverified', 'unverified']);
    assert.equal(r.err.split('used unverified').length, 2, 'said once per build');
    assert.match(cli(dev, ['status']).out, /unit\s+success\s+cached · fetched from origin, unverified/);
    assert.match(cli(dev, ['history', 'unit']).out, /\(fetched from origin, unverified\)/);

    const other = clone('dev4');
    fs.writeFileSync(path.join(tmp, 'allowed_signers4'), sshKey('ci4', 'ci@example.com').allowed);
    git(other, 'config', 'datakit-ci.allowedSigners', path.join(tmp, 'allowed_signers4'));
    const any = cli(other, ['build', '--fetch', '--trust', 'any', '--json']);
    assert.deepEqual(runs(), [], 'unsigned results used as asked');
    assert.match(any.err, /fetched results are used unverified \(--trust any\)/);
  });
});
