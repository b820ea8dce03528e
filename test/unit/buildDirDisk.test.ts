// The disk that build directories take stays bounded: one directory per job, whatever the number of commits
// built, and `gc` and `clean` free what is no longer current and say how much.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { jobDirName } from '../../src/jobs/run/checkout';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('build-dir-disk');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A repository with a setup that makes a node_modules of 40 files and three jobs, two of which need the first. */
function project(): { dir: string; env: NodeJS.ProcessEnv; root: () => string } {
  const dir = repo(path.join(tmp, `r${n}`), {
    config: {
      setup: { run: 'mkdir -p node_modules/dep && for i in $(seq 1 40); do echo "module $i" > node_modules/dep/f$i.js; done', inputs: ['package.json'] },
      jobs: {
        build: { run: 'mkdir -p dist && cat src/*.txt > dist/all.txt', inputs: ['src/**'], outputs: ['dist/**'] },
        test: { run: 'test -s dist/all.txt && ls node_modules/dep > /dev/null', inputs: ['src/**'], needs: ['build'] },
        lint: { run: 'cat src/*.txt > /dev/null', inputs: ['src/**'], needs: ['build'] },
      },
    },
    files: { 'package.json': '{}\n', 'src/a.txt': 'a\n' },
  });
  const cache = path.join(tmp, `cache${n++}`);
  const root = (): string => {
    const ids = fs.readdirSync(cache).filter((f) => fs.statSync(path.join(cache, f)).isDirectory() && fs.existsSync(path.join(cache, f, 'work')));
    assert.equal(ids.length, 1, `one build root in ${cache}: ${ids.join(', ')}`);
    return path.join(cache, ids[0]!);
  };
  return { dir, env: { ...ENV, DATAKIT_CI_CACHE_DIR: cache }, root };
}

/** Five more commits, each changing a source every job reads. */
function fiveCommits(dir: string): void {
  for (let i = 1; i <= 5; i++) {
    write(dir, { [`src/f${i}.txt`]: `${i}\n`, 'src/a.txt': `a${i}\n` });
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', `change ${i}`);
  }
}

/** The files and folders under `dir` (each inode once, as the disk holds them) and their allocated bytes. */
function disk(dir: string): { inodes: number; bytes: number } {
  const seen = new Set<string>();
  let bytes = 0;
  const walk = (p: string): void => {
    const st = fs.lstatSync(p, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      bytes += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) { for (const e of fs.readdirSync(p)) { walk(path.join(p, e)); } }
  };
  walk(dir);
  return { inodes: seen.size, bytes };
}

/** A spare directory as a build that died in one (or an earlier version) left it: a copy of the job's. */
function leaveSpare(root: string, job: string): string {
  const spare = `${jobDirName(job)}.2`;
  fs.cpSync(path.join(root, 'work', jobDirName(job)), path.join(root, 'work', spare), { recursive: true, verbatimSymlinks: true });
  return spare;
}

describe('build directories on disk', () => {
  it('a --range of 5 commits leaves one build directory per job, not one per commit', () => {
    const { dir, env, root } = project();
    fiveCommits(dir);
    const built = runCli(dir, ['build', '--range', 'HEAD~5..HEAD', '--yes'], env);
    assert.equal(built.code, 0, built.out + built.err);
    assert.match(built.out, /5 commits: 5 passed, 0 failed/);
    const work = fs.readdirSync(path.join(root(), 'work')).sort();
    assert.equal(work.length, 3, `one directory per job, not ${work.join(', ')}`);
  });

  it('clean removes spare directories, setups no longer current and the links to them in jobs\' directories, and says what it freed', () => {
    const { dir, env, root } = project();
    fiveCommits(dir);
    assert.equal(runCli(dir, ['build', '--range', 'HEAD~5..HEAD', '--yes'], env).code, 0);
    const spare = leaveSpare(root(), 'test');
    const oldSetup = fs.readdirSync(path.join(root(), 'deps')).filter((d) => !d.endsWith('.lock'));
    assert.equal(oldSetup.length, 1);
    // The setup's input changes; only `build` is built with the new products: test and lint still link the old.
    write(dir, { 'package.json': '{"version": 2}\n' });
    git(dir, 'commit', '-qam', 'new dependencies');
    assert.equal(runCli(dir, ['build', 'build'], env).code, 0);
    const before = disk(root());

    const dry = runCli(dir, ['clean', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /^Would remove 4 folders from .*, which would free [\d.]+ MiB \(\d+ files and folders\):\n/);
    assert.deepEqual(disk(root()), before, 'a dry run removes nothing');

    const r = runCli(dir, ['clean'], env);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const m = /^Removed 4 folders from .*, freeing ([\d.]+) MiB \((\d+) files and folders\):$/.exec(lines[0]!);
    assert.ok(m, r.out);
    // node_modules/dep, a package folder, is one link in each checkout, through one to the setup's node_modules.
    assert.deepEqual(lines.slice(1).filter(Boolean).map((l) => l.trim()).sort(), [
      `deps/${oldSetup[0]}`,
      `work/${jobDirName('lint')} (2 links to the products of an old setup)`,
      `work/${jobDirName('test')} (2 links to the products of an old setup)`,
      `work/${spare}`,
    ].sort());
    const after = disk(root());
    assert.equal(before.inodes - after.inodes, Number(m[2]), 'the count said is what the disk lost');
    assert.ok(Math.abs((before.bytes - after.bytes) / 1024 / 1024 - Number(m[1])) <= 0.05, `the bytes said are what the disk lost: ${before.bytes - after.bytes}`);
    assert.deepEqual(fs.readdirSync(path.join(root(), 'work')).sort(), ['build', 'test', 'lint'].map(jobDirName).sort());
    assert.equal(fs.existsSync(path.join(root(), 'work', jobDirName('lint'), 'node_modules')), false, 'the old products and their folders are gone from lint\'s directory');
    assert.match(runCli(dir, ['clean'], env).out, /^Nothing to remove in /);
    // The jobs build again as before, with the current products.
    const again = runCli(dir, ['build'], env);
    assert.equal(again.code, 0, again.out + again.err);
  });

  it('a record of linked products that names a path outside its checkout (a job can write there) makes clean stop with a clear error, removing nothing it lists', () => {
    const { dir, env, root } = project();
    assert.equal(runCli(dir, ['build'], env).code, 0);
    const victim = path.join(tmp, `victim${n}.txt`);
    fs.writeFileSync(victim, 'keep me\n');
    const checkout = path.join(root(), 'work', jobDirName('test'));
    const record = path.join(checkout, '.git', 'datakit-ci-setup');
    const [key, ...files] = fs.readFileSync(record, 'utf8').split('\n');
    fs.writeFileSync(record, [key, ...files.filter(Boolean), path.relative(checkout, victim), ''].join('\n'));
    // The setup's input changes: test's links are to products no longer current, which clean takes out.
    write(dir, { 'package.json': '{"version": 2}\n' });
    git(dir, 'commit', '-qam', 'new dependencies');
    const r = runCli(dir, ['clean'], env);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.err, /datakit-ci-setup names a path outside its checkout \("(\.\.\/)+victim\d+\.txt"\): nothing it lists is removed/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me\n');
    assert.equal(fs.readdirSync(path.join(checkout, 'node_modules', 'dep')).length, 40, 'the links it lists are all still there');
  });

  it('gc removes what clean does and says what it freed', () => {
    const { dir, env, root } = project();
    fiveCommits(dir);
    assert.equal(runCli(dir, ['build', '--range', 'HEAD~5..HEAD', '--yes'], env).code, 0);
    const spare = leaveSpare(root(), 'lint');
    const r = runCli(dir, ['gc'], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`\nbuild directories: removed 1 folder, freeing [\\d.]+ MiB \\(\\d+ files and folders\\)\n  work/${spare.replace('.', '\\.')}\n$`));
    assert.equal(fs.readdirSync(path.join(root(), 'work')).length, 3);
    assert.match(runCli(dir, ['gc'], env).out, /\nbuild directories: nothing to remove\n$/);
  });

  it('an installed package\'s folder is one symbolic link in each checkout, not a tree of folders each; one that depends on a workspace package is linked file by file and finds the job\'s own', () => {
    const { dir, env, root } = workspaceProject();
    const r = runCli(dir, ['build'], env);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /3 built/);
    for (const job of ['a', 'b', 'c']) {
      const modules = path.join(root(), 'work', jobDirName(job), 'node_modules');
      for (const shared of ['dep', '@s/scoped']) {
        assert.ok(fs.lstatSync(path.join(modules, shared)).isSymbolicLink(), `${job}: ${shared} is a link`);
        // Short enough for the link to be kept in its inode (ext4: under 60 bytes), taking no block of its own.
        const target = fs.readlinkSync(path.join(modules, shared));
        assert.ok(target.length < 60, target);
        // A tool that walks the checkout following links (remark on `.`) reads the files under node_modules.
        assert.ok(path.resolve(path.dirname(path.join(modules, shared)), target).startsWith(modules + path.sep), target);
      }
      for (const own of ['plugin', 'wrapper', '.bin']) { assert.ok(fs.lstatSync(path.join(modules, own)).isDirectory(), `${job}: ${own} is a folder of its own`); }
      assert.equal(fs.readlinkSync(path.join(modules, 'app')), '../packages/app', 'the workspace link as the setup made it');
    }
    // dep's innermost folder exists once on disk: in the setup's products (before, once more in each checkout).
    const deepest = (d: string): number => fs.readdirSync(d, { withFileTypes: true }).reduce((k, e) => k + (e.isDirectory() ? (e.name === 'deepest' ? 1 : 0) + deepest(path.join(d, e.name)) : 0), 0);
    assert.equal(deepest(root()), 1);
  });

  it('a job that adds a file to a shared package folder: the next job gets the products made again, with a warning naming that job', () => {
    const { dir, env } = workspaceProject({ careless: { run: 'touch node_modules/dep/added.txt' } });
    const bad = runCli(dir, ['build', 'careless'], env);
    assert.equal(bad.code, 0, bad.err);
    assert.match(bad.err, /warning: Job careless changed 1 file of the setup's products in place \(node_modules\/dep\/\): the setup runs again before the next job uses them\n/);
    const next = runCli(dir, ['build', 'a'], env);
    assert.equal(next.code, 0, next.out + next.err);
    assert.match(next.err, /warning: The products of setup [0-9a-f]{12} were changed in place by job careless \(at [0-9a-f]{7}\) \(node_modules\/dep\/\): running the setup again\n/);
  });

  it('a package folder that holds a tracked file in the checkout is linked file by file, the tracked file kept, and the log says so', () => {
    const { dir, env, root } = workspaceProject({}, { 'node_modules/dep/vendored.txt': 'ours\n' });
    const r = runCli(dir, ['build', 'a'], env);
    assert.equal(r.code, 0, r.out + r.err);
    const dep = path.join(root(), 'work', jobDirName('a'), 'node_modules', 'dep');
    assert.ok(fs.lstatSync(dep).isDirectory());
    assert.equal(fs.readFileSync(path.join(dep, 'vendored.txt'), 'utf8'), 'ours\n');
    assert.ok(fs.existsSync(path.join(dep, 'lib', 'a', 'b', 'deepest', 'index.js')));
    assert.match(runCli(dir, ['log', 'a'], env).out, /Linked file by file, not as one link to the setup's folder, since the checkout holds other files there: node_modules\/dep\n/);
  });
});

/**
 * An npm-workspaces-like repository: a setup that installs packages (one nested in folders, one scoped, a
 * link to the workspace package `app`, `plugin` that needs `app`, `wrapper` that needs `plugin`), and jobs
 * that load them through `wrapper` and check that `app` is the one of their own checkout.
 */
function workspaceProject(more: Record<string, object> = {}, files: Record<string, string> = {}): ReturnType<typeof project> {
  const install = [
    "const fs = require('fs');",
    "const put = (f, text) => { fs.mkdirSync(require('path').dirname(f), { recursive: true }); fs.writeFileSync(f, text); };",
    "put('node_modules/dep/package.json', '{\"name\": \"dep\"}');",
    "put('node_modules/dep/lib/a/b/deepest/index.js', 'module.exports = 1;');",
    "put('node_modules/@s/scoped/package.json', '{\"name\": \"@s/scoped\", \"dependencies\": {\"dep\": \"1\"}}');",
    "put('node_modules/@s/scoped/index.js', 'module.exports = require(\"dep/lib/a/b/deepest\");');",
    "put('node_modules/plugin/package.json', '{\"name\": \"plugin\", \"peerDependencies\": {\"app\": \"*\"}}');",
    "put('node_modules/plugin/index.js', 'module.exports = require(\"app\");');",
    "put('node_modules/wrapper/package.json', '{\"name\": \"wrapper\", \"dependencies\": {\"plugin\": \"1\"}}');",
    "put('node_modules/wrapper/index.js', 'module.exports = require(\"plugin\");');",
    "fs.symlinkSync('../packages/app', 'node_modules/app');",
    "fs.mkdirSync('node_modules/.bin');",
    "fs.symlinkSync('../dep/lib/a/b/deepest/index.js', 'node_modules/.bin/dep');",
  ].join('\n');
  const check = [
    "const path = require('path');",
    "const app = require('wrapper');",
    "if (app !== path.resolve('packages/app')) { console.error('app found at ' + app); process.exit(1); }",
    "if (require('@s/scoped') !== 1) { process.exit(2); }",
  ].join('\n');
  const job = { run: 'node check.js', inputs: ['check.js', 'packages/**'] };
  const dir = repo(path.join(tmp, `r${n}`), {
    config: { setup: { run: 'node install.js', inputs: ['install.js'] }, jobs: { a: job, b: job, c: job, ...more } },
    files: { 'install.js': install, 'check.js': check, 'packages/app/index.js': 'module.exports = __dirname;\n', 'packages/app/package.json': '{"name": "app"}\n', ...files },
  });
  const cache = path.join(tmp, `cache${n++}`);
  const root = (): string => {
    const ids = fs.readdirSync(cache).filter((f) => fs.existsSync(path.join(cache, f, 'work')));
    assert.equal(ids.length, 1);
    return path.join(cache, ids[0]!);
  };
  return { dir, env: { ...ENV, DATAKIT_CI_CACHE_DIR: cache }, root };
}
