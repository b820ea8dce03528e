import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RepoJobs, type JobStatus } from '../../src/jobs/repoJobs';
import { restoreOutputs } from '../../src/jobs/run/outputs';
import { digestOf, TOOL } from '../../src/jobs/keys/key';
import { git, gitIn, repo, rootTreeWithout, tempRoot } from '../fixtures';

const tmp = tempRoot('jobs');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A repository of `config` (.datakit-ci.json) with src/a.txt and docs/d.md, and `files`. */
const project = (config: object, files: Record<string, string> = {}): string =>
  repo(path.join(tmp, `r${n++}`), { config, files: { 'src/a.txt': 'a\n', 'docs/d.md': 'd\n', ...files } });

async function open(dir: string): Promise<RepoJobs> {
  return RepoJobs.open({ dir, cacheDir: path.join(tmp, 'cache') });
}

async function final(jobs: RepoJobs, key: Parameters<RepoJobs['lookup']>[0]): Promise<JobStatus> {
  let s = await jobs.lookup(key);
  while (s.result.kind === 'pending') { await s.result.changed; s = jobs.peek(key) ?? await jobs.lookup(key); }
  return s;
}

function fsck(dir: string): void {
  execFileSync('git', [`--git-dir=${path.join(dir, '.git', 'datakit-ci')}`, 'fsck', '--strict', '--no-progress'], { stdio: 'pipe' });
}

/** Every file of the user's .git except our results repository, with its bytes' digest and mtime. */
function snapshotGit(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === path.join(dir, '.git', 'datakit-ci')) { continue; }
      if (e.isDirectory()) { walk(p); } else {
        out.push(`${path.relative(dir, p)} ${crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex')} ${fs.statSync(p).mtimeMs}`);
      }
    }
  };
  walk(path.join(dir, '.git'));
  return out.sort();
}

describe('jobs on a real repository', () => {
  it('gives a rebased commit with identical trees the same keys, and reuses the result', async () => {
    const dir = project({ jobs: { t: { run: 'echo hi' } } });
    const jobs = await open(dir);
    try {
      const a = git(dir, 'rev-parse', 'HEAD');
      const [ka] = (await jobs.jobsAt(a)).keys;
      assert.equal((await final(jobs, ka)).result.kind, 'success');
      // The same tree under a different parent and message: what a rebase or an amend of a message makes.
      const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
      const b = git(dir, 'commit-tree', tree, '-m', 'rebased');
      assert.notEqual(a, b);
      const [kb] = (await jobs.jobsAt(b)).keys;
      assert.equal(kb.digest, ka.digest);
      const s = await jobs.query(kb);
      assert.equal(s?.result.kind, 'success', 'a hit, without building');
      fsck(dir);
    } finally { jobs.dispose(); }
  });

  it('treats a docs-only commit as a hit for a job with inputs ["src"], and a miss for a job without inputs', async () => {
    const dir = project({ jobs: { test: { run: 'echo test', inputs: ['src'] }, all: { run: 'echo all' } } });
    const jobs = await open(dir);
    try {
      const before = await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'));
      for (const k of before.keys) { await final(jobs, k); }
      fs.writeFileSync(path.join(dir, 'docs', 'd.md'), 'changed\n');
      git(dir, 'commit', '-qam', 'docs');
      const after = await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'));
      assert.equal(after.keys[0].digest, before.keys[0].digest);
      assert.equal((await jobs.query(after.keys[0]))?.result.kind, 'success');
      assert.notEqual(after.keys[1].digest, before.keys[1].digest);
      assert.equal(await jobs.query(after.keys[1]), undefined);
      assert.deepEqual(Object.keys(after.keys[0].inputs), ['src']);
      assert.match(after.keys[0].inputs.src as string, /^[0-9a-f]{40}$/);
      assert.equal(after.keys[1].inputs['.'], rootTreeWithout(dir, 'HEAD', '.datakit-ci.json'), 'the whole tree but the configuration file');
    } finally { jobs.dispose(); }
  });

  it('keeps the results of a job without inputs when only .datakit-ci.json changes: another job, a comment, the file first committed', async () => {
    // No configuration yet: the job as suggested (the configuration given, as the editor's suggestions are).
    const dir = repo(path.join(tmp, `r${n++}`), { files: { 'src/a.txt': 'a\n' } });
    const config = { jobs: { all: { run: 'echo all' } } };
    const jobs = await open(dir);
    try {
      const [suggested] = (await jobs.jobsWithConfig(git(dir, 'rev-parse', 'HEAD'), JSON.stringify(config))).keys;
      assert.equal((await final(jobs, suggested)).result.kind, 'success');
      // The suggestion saved as the file and committed: the same key, a hit.
      fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify(config));
      git(dir, 'add', '.datakit-ci.json');
      git(dir, 'commit', '-qm', 'Save the suggested jobs');
      const [saved] = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      assert.equal(saved.digest, suggested.digest, 'committing the file keeps the key');
      assert.equal((await jobs.query(saved))?.result.kind, 'success', 'a hit, without building');
      // A comment and another job: its key is kept; the other job's definition is its own.
      fs.writeFileSync(path.join(dir, '.datakit-ci.json'), `// the jobs\n${JSON.stringify({ jobs: { ...config.jobs, lint: { run: 'echo lint' } } })}`);
      git(dir, 'commit', '-qam', 'Another job');
      const keys = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      assert.equal(keys.find((k) => k.job.name === 'all')!.digest, suggested.digest, 'another job and a comment keep the key');
      // Its own definition changed: a new key.
      fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs: { all: { run: 'echo all again' } } }));
      git(dir, 'commit', '-qam', 'Its own definition');
      const [changed] = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      assert.notEqual(changed.digest, suggested.digest, 'its own definition is in the key');
      // Any other file of the tree still counts.
      fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'changed\n');
      git(dir, 'commit', '-qam', 'A source file');
      const [source] = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      assert.notEqual(source.digest, changed.digest, 'every other file of the tree is an input');
    } finally { jobs.dispose(); }
  });

  it('saves outputs under value/, key.json beside them, and restores them byte for byte', async () => {
    const dir = project({ jobs: { b: { run: 'mkdir -p dist/sub && printf "\\001\\002bin" > dist/sub/x.bin && echo ok > dist/y.txt && printf "#!/bin/sh\\necho run\\n" > dist/run.sh && chmod +x dist/run.sh && echo no > other.txt', outputs: ['dist/**'] } } });
    const jobs = await open(dir);
    try {
      const [k] = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      const s = await final(jobs, k);
      assert.deepEqual(s.result.kind === 'success' && s.result.value.outputs, ['dist/run.sh', 'dist/sub/x.bin', 'dist/y.txt']);
      const results = path.join(dir, '.git', 'datakit-ci');
      const ref = jobs.ref(k);
      assert.deepEqual(gitIn(results, 'ls-tree', '-r', ref).split('\n').map((l) => `${l.split(' ')[0]} ${l.split('\t')[1]}`),
        ['100644 key.json', '100644 log', '100755 value/dist/run.sh', '100644 value/dist/sub/x.bin', '100644 value/dist/y.txt']);
      const keyJson = JSON.parse(gitIn(results, 'show', `${ref}:key.json`));
      assert.equal(keyJson.digest, k.digest);
      assert.equal(keyJson.commit, git(dir, 'rev-parse', 'HEAD'));
      assert.deepEqual(keyJson.inputs, { '.': rootTreeWithout(dir, 'HEAD', '.datakit-ci.json') });
      const saved = s.output.kind === 'saved' ? s.output.saved : assert.fail();
      const target = fs.mkdtempSync(path.join(tmp, 'restore-'));
      const files = await Promise.all((await jobs.outputFiles(saved)).map(async (f) => ({ ...f, data: await jobs.readOutput(saved, f.path) })));
      // An older executable copy of y.txt in the way loses its execute bit, as git would check it out.
      fs.mkdirSync(path.join(target, 'dist'));
      fs.writeFileSync(path.join(target, 'dist', 'y.txt'), 'old\n', { mode: 0o755 });
      assert.deepEqual(await restoreOutputs(files, target), ['dist/run.sh', 'dist/sub/x.bin', 'dist/y.txt']);
      assert.deepEqual(fs.readFileSync(path.join(target, 'dist/sub/x.bin')), Buffer.from([1, 2, 0x62, 0x69, 0x6e]));
      assert.equal(fs.statSync(path.join(target, 'dist/run.sh')).mode & 0o111, 0o111, 'the executable stays executable');
      assert.equal(fs.statSync(path.join(target, 'dist/y.txt')).mode & 0o111, 0);
      assert.equal(execFileSync(path.join(target, 'dist/run.sh'), { encoding: 'utf8' }), 'run\n');
      await assert.rejects(restoreOutputs([{ path: '../escape', data: new Uint8Array() }], target), /Refusing/);
      // Nothing under a .git, however it is spelled, and nothing at all once one path is refused.
      for (const bad of ['.git/hooks/post-checkout', 'sub/.GIT/config', '.git./hooks/x', 'git~1/hooks/x']) {
        await assert.rejects(restoreOutputs([{ path: 'fine.txt', data: new Uint8Array() }, { path: bad, data: new Uint8Array() }], target),
          { code: 'UnsafePath', message: `Refusing to restore "${bad}": it would write into a .git directory` });
      }
      assert.equal(fs.existsSync(path.join(target, 'fine.txt')), false);
      fs.symlinkSync(tmp, path.join(target, 'link'));
      await assert.rejects(restoreOutputs([{ path: 'link/x', data: new Uint8Array() }], target), /not a directory/);
    } finally { jobs.dispose(); }
  });

  it('gives the job its env and DATAKIT_CI variables, in a directory outside the repository', async () => {
    const dir = project({ jobs: { e: { run: 'echo "$FOO/$DATAKIT_CI/$DATAKIT_CI_JOB/$DATAKIT_CI_COMMIT"; pwd', env: { FOO: 'bar' } } } });
    const jobs = await open(dir);
    try {
      const head = git(dir, 'rev-parse', 'HEAD');
      const [k] = (await jobs.jobsAt(head)).keys;
      const s = await final(jobs, k);
      const log = await jobs.readLog(s.output.kind === 'saved' ? s.output.saved : assert.fail());
      assert.match(log, new RegExp(`^bar/1/e/${head}$`, 'm'));
      const pwd = log.split('\n').find((l) => l.startsWith('/'))!;
      assert.ok(!pwd.startsWith(dir), 'the build directory is outside the repository');
      assert.ok(pwd.startsWith(path.join(tmp, 'cache')));
    } finally { jobs.dispose(); }
  });

  it('leaves the user\'s index, working tree and refs byte-identical', async () => {
    const dir = project({ jobs: { w: { run: 'echo changed > src/a.txt; touch new.txt; git status >/dev/null 2>&1; true' } } });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'dirty\n'); // a local change the build must not see or touch
    const status = git(dir, 'status', '--porcelain'); // (git status itself may refresh the index: run it first)
    const gitBefore = snapshotGit(dir);
    const jobs = await open(dir);
    try {
      const [k] = (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys;
      assert.equal((await final(jobs, k)).result.kind, 'success');
    } finally { jobs.dispose(); }
    assert.deepEqual(snapshotGit(dir), gitBefore);
    assert.equal(git(dir, 'status', '--porcelain'), status);
    assert.equal(fs.readFileSync(path.join(dir, 'src', 'a.txt'), 'utf8'), 'dirty\n');
    assert.ok(!fs.existsSync(path.join(dir, '.git', 'worktrees')));
  });

  it('runs nothing for a broken configuration and reports every error with its position', async () => {
    const dir = project({});
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), '{\n  "jobs": {\n    "Bad Name": { "run": "touch /tmp/never" },\n    "ok": { "rnu": "x" }\n  }\n}\n');
    git(dir, 'commit', '-qam', 'broken');
    const jobs = await open(dir);
    try {
      const at = await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'));
      assert.equal(at.keys.length, 0);
      const config = at.config;
      assert.ok(config !== 'missing' && !config.ok);
      const errors = config.errors;
      assert.ok(errors.length >= 2);
      assert.ok(errors.some((e) => e.line === 3 && /Bad Name/.test(e.message)));
      assert.ok(errors.some((e) => e.line === 4 && /rnu/.test(e.message)));
      assert.equal(gitIn(path.join(dir, '.git', 'datakit-ci'), 'for-each-ref'), '');
    } finally { jobs.dispose(); }
  });
});

describe('the keys cache beside the results repository', () => {
  it('never decides what runs: a forged keys file is overwritten by the commit\'s own jobs, which are what runs', async () => {
    const marker = path.join(tmp, 'forged-marker');
    const dir = project({ jobs: { job: { run: 'echo committed' } } });
    const commit = git(dir, 'rev-parse', 'HEAD');
    const keysFile = path.join(dir, '.git', 'datakit-ci', 'keys', `${commit}.json`);
    // A forged file, self-consistent: its digest is what its forged definition hashes to.
    const first = await open(dir);
    const honest = (await first.jobsAt(commit)).keys[0];
    first.dispose();
    const forgedJob = { ...honest.job, run: `echo forged > '${marker}'` };
    fs.writeFileSync(keysFile, JSON.stringify({ tool: TOOL, commit, config: { ok: true, config: { jobs: [forgedJob] } },
      keys: [{ ...honest, job: forgedJob, digest: digestOf(forgedJob, honest.inputs, undefined, {}) }] }));
    const jobs = await open(dir);
    try {
      const at = await jobs.jobsAt(commit);
      assert.equal(at.keys[0].job.run, 'echo committed');
      assert.equal(at.keys[0].digest, honest.digest);
      const s = await final(jobs, at.keys[0]);
      assert.equal(s.result.kind, 'success');
      assert.equal(fs.existsSync(marker), false, 'the forged command never ran');
      assert.match(await jobs.readLog(s.output.kind === 'saved' ? s.output.saved : assert.fail()), /\ncommitted\n/);
      assert.equal(JSON.parse(fs.readFileSync(keysFile, 'utf8')).keys[0].job.run, 'echo committed', 'the file was rewritten from the commit');
    } finally {
      jobs.dispose();
    }
    fsck(dir);
  });

  it('drops a keys file that does not hold up, with a warning, when showing results without git', async () => {
    const dir = project({ jobs: { job: { run: 'true' } } });
    const commit = git(dir, 'rev-parse', 'HEAD');
    const warnings: string[] = [];
    const jobs = await RepoJobs.open({ dir, cacheDir: path.join(tmp, 'cache'), logger: { info: () => {}, error: (m) => warnings.push(m) } });
    try {
      const honest = await jobs.jobsAt(commit);
      assert.deepEqual(await jobs.cachedJobsAt(commit), { commit, config: honest.config, keys: honest.keys });
      const keysFile = path.join(dir, '.git', 'datakit-ci', 'keys', `${commit}.json`);
      const saved = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
      const cases: [unknown, string][] = [
        ['{', 'it is not JSON'],
        [{ ...saved, keys: [{ job: 5 }] }, 'a key has the wrong shape'],
        [{ ...saved, keys: [{ ...saved.keys[0], job: { ...saved.keys[0].job, run: 'rm -rf /' } }] }, 'the key of job "job" does not match what it records'],
        [{ ...saved, tool: 'datakit-ci/0.0.1' }, 'it was written by "datakit-ci/0.0.1", not '],
        [{ ...saved, commit: '0'.repeat(40) }, 'it names another commit'],
        [[], 'it was written by undefined'],
      ];
      for (const [content, why] of cases) {
        warnings.length = 0;
        fs.writeFileSync(keysFile, typeof content === 'string' ? content : JSON.stringify(content));
        assert.equal(await jobs.cachedJobsAt(commit), undefined, why);
        assert.equal(warnings.length, 1);
        assert.ok(warnings[0].startsWith(`Ignored ${keysFile}: ${why}`), `${warnings[0]} / ${why}`);
      }
    } finally {
      jobs.dispose();
    }
  });
});
