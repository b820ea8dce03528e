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
    assert.deepEqual(lines.slice(1).filter(Boolean).map((l) => l.trim()).sort(), [
      `deps/${oldSetup[0]}`,
      `work/${jobDirName('lint')} (40 links to the products of an old setup)`,
      `work/${jobDirName('test')} (40 links to the products of an old setup)`,
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
});
