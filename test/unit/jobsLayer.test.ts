// The jobs layer as real repositories use it: inputs and outputs as users write them, a shared setup, a
// task graph, checkouts named by digest, and cleaning up after renamed jobs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { jobDirName } from '../../src/jobs/run/checkout';
import { listingOf } from '../../src/jobs/config/patterns';
import { keyWarnings, type JobKey } from '../../src/jobs/keys/key';
import { RepoJobs, type JobStatus } from '../../src/jobs/repoJobs';
import { Pool } from '../../src/engine/pool';
import { ShellBuilder } from '../../src/jobs/run/shellBuilder';
import { git, repo, tempRoot, write } from '../fixtures';

const tmp = tempRoot('layer');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CACHE = path.join(tmp, 'cache');

let n = 0;
/** A repository with `files` committed; `config` becomes .datakit-ci.json. */
const project = (config: object, files: Record<string, string>): string => repo(path.join(tmp, `r${n++}`), { config, files });

function commit(dir: string, files: Record<string, string | null>): string {
  write(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'change');
  return git(dir, 'rev-parse', 'HEAD');
}

async function withJobs<T>(dir: string, fn: (jobs: RepoJobs) => Promise<T>, pool?: Pool): Promise<T> {
  const jobs = await RepoJobs.open({ dir, cacheDir: CACHE, pool });
  try { return await fn(jobs); } finally { jobs.dispose(); }
}

async function keysAt(jobs: RepoJobs, dir: string): Promise<Record<string, JobKey>> {
  const at = await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'));
  return Object.fromEntries(at.keys.map((k) => [k.job.name, k]));
}

async function final(jobs: RepoJobs, key: JobKey): Promise<JobStatus> {
  let s = await jobs.lookup(key);
  while (s.result.kind === 'pending') { await s.result.changed; s = jobs.peek(key) ?? await jobs.lookup(key); }
  return s;
}

async function logOf(jobs: RepoJobs, s: JobStatus): Promise<string> {
  assert.equal(s.output.kind, 'saved');
  return jobs.readLog(s.output.kind === 'saved' ? s.output.saved : assert.fail());
}

describe('inputs as users write them', () => {
  it('keys a glob by the files it matches, a plain path by its object id, and honours exclusions', async () => {
    const dir = project({ jobs: {
      glob: { run: 'true', inputs: ['src/*.txt'] },
      plain: { run: 'true', inputs: ['src', 'README.md'] },
      except: { run: 'true', inputs: ['src', '!src/*.md'] },
    } }, { 'src/a.txt': 'a\n', 'src/b.md': 'b\n', 'src/deep/c.txt': 'c\n', 'README.md': 'r\n' });
    await withJobs(dir, async (jobs) => {
      const one = await keysAt(jobs, dir);
      const blob = (p: string): string => git(dir, 'rev-parse', `HEAD:${p}`);
      assert.deepEqual(one.glob.inputs, { 'src/*.txt': [['src/a.txt', blob('src/a.txt')]] });
      assert.deepEqual(one.plain.inputs, { 'README.md': blob('README.md'), src: git(dir, 'rev-parse', 'HEAD:src') });
      assert.deepEqual(one.except.inputs, { src: [['src/a.txt', blob('src/a.txt')], ['src/deep/c.txt', blob('src/deep/c.txt')]] });

      commit(dir, { 'src/b.md': 'b changed\n' });
      const two = await keysAt(jobs, dir);
      assert.equal(two.glob.digest, one.glob.digest, 'a markdown file is not one of src/*.txt');
      assert.equal(two.except.digest, one.except.digest, 'excluded');
      assert.notEqual(two.plain.digest, one.plain.digest, 'src changed');

      commit(dir, { 'src/new.txt': 'n\n' });
      const three = await keysAt(jobs, dir);
      assert.notEqual(three.glob.digest, two.glob.digest, 'a file that appears under the glob changes the key');
      assert.equal(keyWarnings(Object.values(three)).length, 0);
    });
  });

  it('lists only as deep as a glob can match: a whole subtree only when its pattern can cross folders', () => {
    assert.deepEqual(['*.js', 'src/*.ts', 'src/*/index.ts', 'src/[ab]/x.ts', 'src/**/*.ts', '**', 'src/{a,b/c}.ts', 'src/@(a|b)/x', 'lib', 'lib/'].map(listingOf), [
      { base: '', depth: 1 }, { base: 'src', depth: 1 }, { base: 'src', depth: 2 }, { base: 'src', depth: 2 },
      { base: 'src' }, { base: '' }, { base: 'src' }, { base: 'src' }, { base: 'lib' }, { base: 'lib' },
    ]);
  });

  it('warns, where it is written, about an input that matches nothing — never a silent constant key', async () => {
    const config = '{\n  "jobs": {\n    "typo": { "run": "true", "inputs": ["srcc", "src/*.js", "src"] }\n  }\n}\n';
    const dir = project({ jobs: {} }, { 'src/a.txt': 'a\n' });
    commit(dir, { '.datakit-ci.json': config });
    await withJobs(dir, async (jobs) => {
      const at = await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'));
      const head = git(dir, 'rev-parse', '--short=7', 'HEAD');
      const warnings = keyWarnings(at.keys);
      assert.deepEqual(warnings.map((w) => [w.job, w.index, w.message]), [
        ['typo', 0, `Input "srcc" of job "typo" matches nothing at ${head}: the job is not rebuilt when such files appear or change`],
        ['typo', 1, `Input "src/*.js" of job "typo" matches nothing at ${head}: the job is not rebuilt when such files appear or change`],
      ]);
      const parsed = at.config;
      const pos = typeof parsed === 'object' && parsed.ok ? parsed.config.positions.typo.inputs[0] : assert.fail('a good config');
      assert.deepEqual([pos.line, pos.column], [3, 41]);
      assert.equal(config.slice(pos.offset, pos.offset + pos.length), '"srcc"');
    });
  });
});

describe('outputs as users write them', () => {
  it('saves plain files and folders, globs, exclusions, executables and links inside the checkout; warns about the rest', async () => {
    const run = [
      'mkdir -p dist/sub bin',
      'echo app > a.js',
      'echo x > dist/x.js && echo m > dist/x.map && echo s > dist/sub/s.js',
      'printf "#!/bin/sh\\necho hi\\n" > bin/tool && chmod +x bin/tool',
      'ln -s x.js dist/link.js',
      'ln -s /etc/passwd dist/out.js',
    ].join(' && ');
    const dir = project({ jobs: { b: { run, outputs: ['a.js', 'dist', '!dist/*.map', 'bin/*', 'missing.txt', 'gen/**'] } } }, { 'src/a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const { b } = await keysAt(jobs, dir);
      const s = await final(jobs, b);
      assert.equal(s.result.kind, 'success');
      const results = path.join(dir, '.git', 'datakit-ci');
      const tree = git(dir, `--git-dir=${results}`, 'ls-tree', '-r', jobs.ref(b)).split('\n').map((l) => `${l.split(' ')[0]} ${l.split('\t')[1]}`);
      assert.deepEqual(tree.filter((l) => l.includes('value/')), [
        '100644 value/a.js', '100755 value/bin/tool', '120000 value/dist/link.js', '100644 value/dist/sub/s.js', '100644 value/dist/x.js',
      ]);
      assert.equal(git(dir, `--git-dir=${results}`, 'cat-file', '-p', `${jobs.ref(b)}:value/dist/link.js`), 'x.js');
      const log = await logOf(jobs, s);
      assert.match(log, /Warning: Output "dist\/out\.js" is a symbolic link to \/etc\/passwd, outside the checkout: not saved\n/);
      assert.match(log, /Warning: Output "missing\.txt" matched no file \(after the exclusions\): nothing was saved for it\n/);
      assert.match(log, /Warning: Output "gen\/\*\*" matched no file \(after the exclusions\): nothing was saved for it\n/);
    });
  });
});

describe('the checkout', () => {
  it('runs a job named "test" in a folder named by a digest: node --test finds only the test files', async () => {
    const dir = project({ jobs: { test: { run: 'node --test' } } }, {
      'lib/helper.js': 'throw new Error("not a test file");\n',
      'test/ok.test.js': 'require("node:test")("ok", () => {});\n',
      'package.json': '{"name": "t", "private": true}\n',
    });
    await withJobs(dir, async (jobs) => {
      const { test } = await keysAt(jobs, dir);
      const s = await final(jobs, test);
      assert.equal(s.result.kind, 'success', await logOf(jobs, s));
      assert.match(await logOf(jobs, s), /# pass 1\n/);
      assert.equal(fs.existsSync(path.join(jobs.buildRoot, 'work', jobDirName('test'))), true);
      assert.equal(fs.existsSync(path.join(jobs.buildRoot, 'work', 'test')), false);
    });
  });

  it('cleans the build directories of renamed and deleted jobs, keeping those in use', async () => {
    const dir = project({ jobs: { one: { run: 'true' }, two: { run: 'true' } } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      for (const k of Object.values(await keysAt(jobs, dir))) { await final(jobs, k); }
      const work = path.join(jobs.buildRoot, 'work');
      assert.deepEqual(fs.readdirSync(work).sort(), [jobDirName('one'), jobDirName('two')].sort());
      const head = commit(dir, { '.datakit-ci.json': JSON.stringify({ jobs: { uno: { run: 'true' }, two: { run: 'true' } } }) });
      const dry = await jobs.clean([head], { dryRun: true });
      assert.deepEqual(dry.removed, [path.join('work', jobDirName('one'))]);
      assert.equal(fs.existsSync(path.join(work, jobDirName('one'))), true, 'a dry run removes nothing');
      const r = await jobs.clean([head]);
      assert.deepEqual(r.removed, [path.join('work', jobDirName('one'))]);
      assert.ok(r.bytes > 0);
      assert.deepEqual(fs.readdirSync(work), [jobDirName('two')]);
    });
  });
});

describe('a shared setup', () => {
  it('runs once per key of its inputs; every job that uses it starts with its products, hard-linked and read-only', async () => {
    const counter = path.join(tmp, 'setup-runs');
    const setupRun = `echo run >> '${counter}'; mkdir -p node_modules/dep packages/p/node_modules/x && cat lock.txt > node_modules/dep/index.js && echo x > packages/p/node_modules/x/i.js && ln -s ../packages/p node_modules/p`;
    const dir = project({
      setup: { run: setupRun, inputs: ['lock.txt'] },
      jobs: {
        a: { run: 'cat node_modules/dep/index.js; test -L node_modules/p && cat packages/p/node_modules/x/i.js', inputs: ['src'] },
        b: { run: 'cat node_modules/dep/index.js', inputs: ['src'] },
        bare: { run: 'test ! -e node_modules', setup: false, inputs: ['src'] },
      },
    }, { 'lock.txt': 'v1\n', 'src/a.txt': 'a\n', 'packages/p/package.json': '{}\n' });
    await withJobs(dir, async (jobs) => {
      const keys = await keysAt(jobs, dir);
      const [a, b, bare] = await Promise.all([final(jobs, keys.a), final(jobs, keys.b), final(jobs, keys.bare)]);
      assert.deepEqual([a, b, bare].map((s) => s.result.kind), ['success', 'success', 'success']);
      assert.equal(fs.readFileSync(counter, 'utf8'), 'run\n', 'the setup ran once for both jobs');
      const logA = await logOf(jobs, a);
      assert.match(logA, /^=== a @ [0-9a-f]{7}\n[^]*=== setup: echo run[^]*Setup done: 3 files that git does not track\n[^]*=== a: cat [^]*\nv1\nx\n/);
      assert.match(await logOf(jobs, b), /=== setup: /);
      assert.doesNotMatch(await logOf(jobs, bare), /setup/);
      // The shared, read-only products (node_modules/dep through one link to the setup's folder).
      const setupDir = path.join(jobs.buildRoot, 'deps', keys.a.setup!.digest.slice(0, 16));
      const products = path.join(setupDir, fs.readFileSync(path.join(setupDir, 'done'), 'utf8').split('\n')[1], 'tree');
      const inJob = path.join(jobs.buildRoot, 'work', jobDirName('a'), 'node_modules', 'dep', 'index.js');
      assert.equal(fs.statSync(inJob).ino, fs.statSync(path.join(products, 'node_modules', 'dep', 'index.js')).ino);
      assert.equal(fs.statSync(inJob).mode & 0o222, 0, 'read-only');
      assert.equal(keys.bare.setup, undefined, 'its key does not depend on the setup');

      // What a job removed or put in the way of a product is put back on its next run, and only that: here
      // the link to the package folder node_modules/dep (a file removed inside it would be the setup's: see
      // buildDirDisk.test.ts).
      assert.ok(fs.lstatSync(path.dirname(inJob)).isSymbolicLink());
      fs.rmSync(path.dirname(inJob));
      const linkInJob = path.join(jobs.buildRoot, 'work', jobDirName('a'), 'node_modules', 'p');
      fs.rmSync(linkInJob);
      fs.mkdirSync(linkInJob);
      assert.equal(await jobs.markForRebuild(keys.a), 'marked');
      const again = await final(jobs, keys.a);
      assert.equal(again.result.kind, 'success');
      assert.match(await logOf(jobs, again), /Setup products in place: 3 files \(2 linked now\)\n/);
      assert.equal(fs.statSync(inJob).ino, fs.statSync(path.join(products, 'node_modules', 'dep', 'index.js')).ino);
      assert.equal(fs.readlinkSync(linkInJob), '../packages/p');

      // A change outside the setup's inputs reuses it; a change of the lockfile runs it again, and the
      // next build of each job sees the new products.
      commit(dir, { 'src/a.txt': 'a2\n' });
      let next = await keysAt(jobs, dir);
      assert.equal(next.a.setup!.digest, keys.a.setup!.digest);
      assert.match(await logOf(jobs, await final(jobs, next.a)), /Setup [0-9a-f]{12} reused \(3 files\)/);
      commit(dir, { 'lock.txt': 'v2\n' });
      next = await keysAt(jobs, dir);
      assert.notEqual(next.a.setup!.digest, keys.a.setup!.digest);
      assert.notEqual(next.a.digest, keys.a.digest, 'a job\'s key includes its setup\'s');
      assert.match(await logOf(jobs, await final(jobs, next.a)), /\nv2\nx\n/);
      assert.equal(fs.readFileSync(counter, 'utf8'), 'run\nrun\n');
    });
  });

  it('fails every job that uses a failing setup, with a clear message, and runs none of them', async () => {
    const ran = path.join(tmp, 'ran-after-failed-setup');
    const dir = project({ setup: { run: 'echo installing; exit 3' }, jobs: { a: { run: `touch '${ran}'` } } }, { 'x.txt': 'x\n' });
    await withJobs(dir, async (jobs) => {
      const { a } = await keysAt(jobs, dir);
      const s = await final(jobs, a);
      assert.deepEqual(s.result, { kind: 'failure', reason: 'failed', message: 'Setup failed: Command exited with code 3 (see the "=== setup" section of this log)' });
      assert.match(await logOf(jobs, s), /=== setup: echo installing; exit 3\n(.*\n)*installing\n/);
      assert.equal(fs.existsSync(ran), false);
    });
  });
});

describe('a task graph', () => {
  it('runs a job after what it needs, with its outputs in place, and keys it with theirs', async () => {
    const dir = project({ jobs: {
      test: { run: 'cat dist/app.js', needs: ['build'], inputs: ['test'] },
      build: { run: 'mkdir -p dist && cat src/app.txt > dist/app.js', inputs: ['src'], outputs: ['dist'] },
    } }, { 'src/app.txt': 'v1\n', 'test/t.txt': 't\n' });
    await withJobs(dir, async (jobs) => {
      const one = await keysAt(jobs, dir);
      assert.deepEqual(one.test.needs, { build: one.build.digest });
      const s = await final(jobs, one.test);
      assert.equal(s.result.kind, 'success');
      const log = await logOf(jobs, s);
      assert.match(log, /build passed \([0-9a-f]{12}\)\n[^]*Restored 1 output file of build\n[^]*\nv1\n/);
      assert.equal((await jobs.query(one.build))?.result.kind, 'success', 'the need was built');
      commit(dir, { 'src/app.txt': 'v2\n' });
      const two = await keysAt(jobs, dir);
      assert.notEqual(two.test.digest, one.test.digest, 'test\'s inputs are unchanged, but what it needs changed');
      assert.match(await logOf(jobs, await final(jobs, two.test)), /\nv2\n/);
    });
  });

  it('gives each job the longest chain of jobs that wait for it, so that a free slot starts the longest chain first', async () => {
    const dir = project({ jobs: {
      'build-core': { run: 'true' }, 'build-utils': { run: 'true' },
      'build-api': { run: 'true', needs: ['build-core', 'build-utils'] }, 'build-web': { run: 'true', needs: ['build-api'] },
      'test-core': { run: 'true', needs: ['build-core'] }, 'test-web': { run: 'true', needs: ['build-web'] }, lint: { run: 'true' },
    } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const keys = await keysAt(jobs, dir);
      assert.deepEqual(Object.fromEntries(Object.entries(keys).map(([n, k]) => [n, k.waitedOnBy])),
        { 'build-core': 3, 'build-utils': 3, 'build-api': 2, 'build-web': 1, 'test-core': 0, 'test-web': 0, lint: 0 });
      assert.equal(new ShellBuilder({ repo: () => Promise.reject(new Error('not read')), buildRoot: tmp, keyOf: () => undefined }).priority(keys['build-api']!), 2);
    });
  });

  it('gives the slot a finished build frees to the job that most jobs wait for, not to the first that asked', async () => {
    const order = path.join(tmp, 'slot-order');
    const rec = (name: string): string => `echo ${name} >> '${order}'`;
    const dir = project({ jobs: {
      core: { run: rec('core') }, utils: { run: rec('utils') },
      'test-core': { run: rec('test-core'), needs: ['core'] },
      api: { run: rec('api'), needs: ['utils', 'core'] },
      web: { run: rec('web'), needs: ['api'] },
    } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const keys = await keysAt(jobs, dir);
      const all = await Promise.all(Object.values(keys).map((k) => final(jobs, k)));
      assert.deepEqual(all.map((s) => s.result.kind), ['success', 'success', 'success', 'success', 'success']);
      const ran = fs.readFileSync(order, 'utf8').trim().split('\n');
      assert.deepEqual(ran.slice(0, 2).sort(), ['core', 'utils'], 'core and utils, which wait for nothing, in either order');
      // test-core was ready as soon as core passed; api (2 jobs in a row wait for it) goes first all the
      // same, then test-core, which waited longer than web.
      assert.deepEqual(ran.slice(2), ['api', 'test-core', 'web']);
    }, new Pool('one at a time', 1));
  });

  it('starts queued jobs of equal priority in the order the configuration declares them, not the order asked', async () => {
    const order = path.join(tmp, 'declared-order');
    const open = path.join(tmp, 'declared-order-gate');
    const rec = (name: string): string => `echo ${name} >> '${order}'`;
    const dir = project({ jobs: {
      gate: { run: `while [ ! -e '${open}' ]; do sleep 0.02; done` },
      a: { run: rec('a') }, b: { run: rec('b') }, c: { run: rec('c') }, d: { run: rec('d') },
    } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const keys = await keysAt(jobs, dir);
      // The gate takes the only slot first: the others are asked for once it runs.
      for (let s = await jobs.lookup(keys.gate!); !(s.result.kind === 'pending' && s.result.reason === 'Running'); s = await jobs.lookup(keys.gate!)) {
        assert.equal(s.result.kind, 'pending', 'the gate stays open until the test opens it');
        await s.result.changed;
      }
      for (const n of ['d', 'c', 'b', 'a']) { await jobs.lookup(keys[n]!); }
      // All four wait behind the gate, which holds the only slot.
      for (const n of ['a', 'b', 'c', 'd']) {
        for (let s = await jobs.lookup(keys[n]!); !(s.result.kind === 'pending' && s.result.reason.startsWith('queued')); s = await jobs.lookup(keys[n]!)) {
          assert.equal(s.result.kind, 'pending', `${n} cannot run while the gate holds the slot`);
          await s.result.changed;
        }
      }
      fs.writeFileSync(open, '');
      await Promise.all(['gate', 'a', 'b', 'c', 'd'].map((n) => final(jobs, keys[n]!)));
      assert.deepEqual(fs.readFileSync(order, 'utf8').trim().split('\n'), ['a', 'b', 'c', 'd']);
    }, new Pool('one at a time', 1));
  });

  it('puts in place what the needed jobs needed too, dependencies first (a test that loads a library the app links)', async () => {
    const dir = project({ jobs: {
      lib: { run: 'mkdir -p lib/dist && echo lib-v1 > lib/dist/lib.js && echo shared-from-lib > out.txt', outputs: ['lib/dist', 'out.txt'] },
      app: { run: 'cat lib/dist/lib.js > app.js && echo shared-from-app > out.txt', needs: ['lib'], outputs: ['app.js', 'out.txt'] },
      test: { run: 'cat lib/dist/lib.js app.js out.txt', needs: ['app'] },
    } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const { test } = await keysAt(jobs, dir);
      const s = await final(jobs, test);
      assert.equal(s.result.kind, 'success');
      const log = await logOf(jobs, s);
      assert.match(log, /\] lib passed \([0-9a-f]{12}\), needed by app\n.*\] app passed \([0-9a-f]{12}\)\n/);
      assert.match(log, /Restored 2 output files of lib\n[^]*Restored 2 output files of app\n/);
      // app's out.txt, restored after lib's, is the one in place.
      assert.match(log, /\nlib-v1\nlib-v1\nshared-from-app\n/);
    });
  });

  it('readies a job\'s checkout while what it needs builds, and frees it when the need fails', async () => {
    const flag = path.join(tmp, 'prepared-need-passes');
    const dir = project({ jobs: {
      // Passes only once test's checkout (and the setup's product in it) is there: test readies it meanwhile.
      build: { run: `for i in $(seq 600); do test -f "@ROOT@/work/${jobDirName('test')}/node_modules/dep.js" && exec test -e '${flag}'; sleep 0.05; done; exit 2` },
      test: { run: 'cat node_modules/dep.js', needs: ['build'] },
    }, setup: { run: 'mkdir -p node_modules && echo dep > node_modules/dep.js' } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const config = JSON.parse(fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8'));
      config.jobs.build.run = config.jobs.build.run.replace('@ROOT@', jobs.buildRoot);
      commit(dir, { '.datakit-ci.json': JSON.stringify(config) });
      const { build, test } = await keysAt(jobs, dir);
      // The need fails (no flag yet): the dependent is skipped, and its readied directory is free again.
      const skipped = await final(jobs, test);
      assert.deepEqual(skipped.result, { kind: 'failure', reason: 'skipped', message: 'Skipped: needs build (failed)' });
      assert.deepEqual(fs.readdirSync(path.join(jobs.buildRoot, 'locks')).filter((f) => f.startsWith(jobDirName('test'))), []);
      fs.writeFileSync(flag, '');
      // The first round left the product in test's directory: build must wait for this round to link it again.
      fs.rmSync(path.join(jobs.buildRoot, 'work', jobDirName('test'), 'node_modules', 'dep.js'));
      assert.equal(await jobs.markForRebuild(build), 'marked');
      const passed = await final(jobs, test);
      assert.equal(passed.result.kind, 'success');
      assert.match(await logOf(jobs, passed), /Setup products in place: 1 files \(\d linked now\)\n[^]*build passed[^]*\ndep\n/);
      assert.deepEqual(fs.readdirSync(path.join(jobs.buildRoot, 'work')).filter((f) => f.startsWith(jobDirName('test'))), [jobDirName('test')], 'one directory, used twice');
    });
  });

  it('skips a job whose need failed, without running it, and retries it once the need passes', async () => {
    const ran = path.join(tmp, 'dependent-ran');
    const flag = path.join(tmp, 'build-passes');
    const dir = project({ jobs: {
      build: { run: `test -e '${flag}'` },
      test: { run: `echo ran >> '${ran}'`, needs: ['build'] },
    } }, { 'a.txt': 'a\n' });
    await withJobs(dir, async (jobs) => {
      const { build, test } = await keysAt(jobs, dir);
      const s = await final(jobs, test);
      assert.deepEqual(s.result, { kind: 'failure', reason: 'skipped', message: 'Skipped: needs build (failed)' });
      assert.equal(fs.existsSync(ran), false);
      fs.writeFileSync(flag, '');
      assert.equal(await jobs.markForRebuild(build), 'marked');
      const again = await final(jobs, test);
      assert.equal(again.result.kind, 'success', 'the skip was not replayed');
      assert.equal(fs.readFileSync(ran, 'utf8'), 'ran\n');
    });
  });
});
