// A command run again on a commit takes the commit's jobs and keys from what it sealed when it keyed them from
// the commit (keysSeal.ts), instead of parsing .datakit-ci.json and keying every job again; nothing else under
// .git is taken for them. Whether the commit's configuration was read is seen by a spy loaded into the command
// line, which records the source repository's object files it reads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';
import { KeysSeal } from '../../src/jobs/keys/keysSeal';

const tmp = tempRoot('sealed-keys');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A module that records, in the command line's process, which loose objects of the source repository it reads. */
function spy(file: string): string {
  const script = path.join(tmp, 'spy.cjs');
  fs.writeFileSync(script, `const fs = require('node:fs');
const read = new Set();
const source = /[\\\\/]\\.git[\\\\/]objects[\\\\/]([0-9a-f]{2})[\\\\/]([0-9a-f]{38})$/;
for (const name of ['readFileSync', 'openSync']) {
  const original = fs[name];
  fs[name] = function (p, ...rest) {
    const m = typeof p === 'string' ? source.exec(p) : null;
    if (m) { read.add(m[1] + m[2]); }
    return original.call(this, p, ...rest);
  };
}
process.on('exit', () => fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify({ read: [...read], zlib: process.moduleLoadList.includes('NativeModule zlib') })));
`);
  return script;
}

let runs = 0;
/** `datakit-ci build` in `dir` with the cache directory `cache`: its output, the source objects it read, whether it loaded zlib. */
function build(dir: string, cache: string, env: NodeJS.ProcessEnv = {}): { code: number; out: string; err: string; read: string[]; zlib: boolean } {
  const seen = path.join(tmp, `seen-${++runs}.json`);
  const r = runCli(dir, ['build'], { ...ENV, DATAKIT_CI_CACHE_DIR: cache, NODE_OPTIONS: `--require ${spy(seen)}`, ...env });
  return { ...r, ...JSON.parse(fs.readFileSync(seen, 'utf8')) as { read: string[]; zlib: boolean } };
}

function keysFile(dir: string): string {
  return path.join(dir, '.git', 'datakit-ci', 'keys', `${git(dir, 'rev-parse', 'HEAD')}.json`);
}

/** The build root of the repository `dir` under a cache directory (named after the repository's folder). */
function buildRootIn(cache: string, dir: string): string {
  const roots = fs.readdirSync(cache).filter((n) => n.startsWith(`${path.basename(dir)}-`));
  assert.equal(roots.length, 1, `one build root of ${dir} in ${cache}: ${fs.readdirSync(cache).join(', ')}`);
  return path.join(cache, roots[0]);
}

describe('sealed keys', () => {
  it('a second build of a commit reads its jobs from what the first sealed, and HEAD from files: none of the commit\'s objects, and a third inflates nothing', () => {
    const dir = repo(path.join(tmp, 'again'), { jobs: { build: { run: 'echo built', inputs: ['src'] }, test: { run: 'echo tested', needs: ['build'] } }, files: { 'src/a.txt': 'a\n' } });
    const cache = path.join(tmp, 'cache-again');
    const config = git(dir, 'rev-parse', 'HEAD:.datakit-ci.json');
    const first = build(dir, cache);
    assert.equal(first.code, 0, first.err);
    assert.ok(first.read.includes(config), 'the first build reads the configuration');
    const second = build(dir, cache);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /jobs: 0 built, 2 cached$/m);
    assert.deepEqual(second.read, [], 'no object of the commit is read');
    // The second read the results' objects from their files (and kept them in the cache of objects read).
    const third = build(dir, cache);
    assert.match(third.out, /jobs: 0 built, 2 cached$/m);
    assert.deepEqual(third.read, []);
    assert.equal(third.zlib, false, 'zlib is not even loaded');
    // The same keys as the first build's: the results it found are the ones it saved.
    assert.deepEqual(JSON.parse(runCli(dir, ['build', '--json'], { ...ENV, DATAKIT_CI_CACHE_DIR: cache }).out).jobs.map((j: { key: string }) => j.key),
      JSON.parse(runCli(dir, ['build', '--json'], { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache-again-unsealed') }).out).jobs.map((j: { key: string }) => j.key));
  });

  it('a keys file that this machine did not seal is not taken, whatever it says: a forged one that gives a failing job a passing job\'s key changes nothing', () => {
    const dir = repo(path.join(tmp, 'forged'), { jobs: { good: { run: 'echo good' }, bad: { run: 'echo bad; exit 1' } } });
    const cache = path.join(tmp, 'cache-forged');
    const config = git(dir, 'rev-parse', 'HEAD:.datakit-ci.json');
    assert.equal(build(dir, cache).code, 1);
    const file = keysFile(dir);
    const sealed = fs.readFileSync(file, 'utf8');
    const keys = JSON.parse(sealed) as { keys: { job: { name: string; run: string }; digest: string }[]; seal: string };
    const good = keys.keys.find((k) => k.job.name === 'good')!;
    const bad = keys.keys.find((k) => k.job.name === 'bad')!;
    // The forger keeps the seal it found (it cannot make one) and moves the failing job onto the passing one's result.
    const forged = sealed.replace(bad.digest, good.digest).replace(JSON.stringify(bad.job.run), JSON.stringify(good.job.run));
    assert.notEqual(forged, sealed);
    fs.writeFileSync(file, forged);
    const after = build(dir, cache);
    assert.equal(after.code, 1, 'the failing job still fails');
    assert.match(after.out, /^bad\s+failure\s+cached/m);
    assert.ok(after.read.includes(config), 'the jobs are read from the commit\'s configuration');
    assert.equal(fs.readFileSync(file, 'utf8'), sealed, 'and sealed again as they were');
    // A file sealed under another machine's (another cache directory's) secret is not taken either.
    const elsewhere = build(dir, path.join(tmp, 'cache-forged-elsewhere'));
    assert.ok(elsewhere.read.includes(config), 'keyed from the commit under another secret');
    assert.notEqual(fs.readFileSync(file, 'utf8'), sealed, 'and sealed under that secret');
    assert.match(elsewhere.out, /^bad\s+failure\s+cached/m);
  });

  it('keys sealed with a tool\'s output are keyed again from the commit when that output changes, and the job builds again', () => {
    const bin = path.join(tmp, 'bin');
    const tool = path.join(bin, 'cc-fake');
    write(bin, { 'cc-fake': '#!/bin/sh\necho "cc-fake 1.0"\n' });
    fs.chmodSync(tool, 0o755);
    const dir = repo(path.join(tmp, 'tool'), { jobs: { compile: { run: 'echo compiled', toolInputs: ['cc-fake --version'] } } });
    const cache = path.join(tmp, 'cache-tool');
    const config = git(dir, 'rev-parse', 'HEAD:.datakit-ci.json');
    const env = { PATH: `${bin}${path.delimiter}${process.env.PATH}` };
    assert.equal(build(dir, cache, env).code, 0);
    const same = build(dir, cache, env);
    assert.match(same.out, /job: 0 built, 1 cached$/m);
    assert.ok(!same.read.includes(config), 'the same output: the sealed keys are taken');
    write(bin, { 'cc-fake': '#!/bin/sh\necho "cc-fake 2.0"\n' });
    const upgraded = build(dir, cache, env);
    assert.equal(upgraded.code, 0, upgraded.err);
    assert.match(upgraded.out, /job: 1 built, 0 cached$/m);
    assert.ok(upgraded.read.includes(config), 'another output: keyed from the commit again');
    const next = build(dir, cache, env);
    assert.match(next.out, /job: 0 built, 1 cached$/m);
    assert.ok(!next.read.includes(config), 'and sealed again with the new output');
  });

  it('the secret is made once in the repository\'s build root, 32 bytes readable by its user only; a read-only command makes none', () => {
    const dir = repo(path.join(tmp, 'secret'), { jobs: { a: { run: 'echo a' } } });
    const cache = path.join(tmp, 'cache-secret');
    assert.equal(runCli(dir, ['status'], { ...ENV, DATAKIT_CI_CACHE_DIR: cache }).code, 0);
    assert.ok(!fs.existsSync(cache) || !fs.readdirSync(cache).some((n) => fs.existsSync(path.join(cache, n, 'keys-seal.key'))), 'status makes no secret');
    assert.equal(build(dir, cache).code, 0);
    const secret = path.join(buildRootIn(cache, dir), 'keys-seal.key');
    const made = fs.readFileSync(secret);
    assert.equal(made.length, 32);
    if (process.platform !== 'win32') { assert.equal(fs.statSync(secret).mode & 0o777, 0o600); }
    assert.equal(build(dir, cache).code, 0);
    assert.deepEqual(fs.readFileSync(secret), made, 'made once');
    assert.deepEqual(fs.readdirSync(path.dirname(secret)).filter((n) => n.includes('keys-seal')), ['keys-seal.key'], 'no temporary file is left');
    assert.equal(git(dir, 'status', '--porcelain'), '', 'nothing in the working tree');
  });
});

describe('KeysSeal', () => {
  it('seals with the secret of its file: another secret, or an altered text, does not hold', () => {
    const warnings: string[] = [];
    const one = new KeysSeal(path.join(tmp, 'seal-one', 'k'), true, (m) => warnings.push(m));
    const two = new KeysSeal(path.join(tmp, 'seal-two', 'k'), true, (m) => warnings.push(m));
    const seal = one.seal('{"a":1}')!;
    assert.match(seal, /^[0-9a-f]{64}$/);
    assert.equal(one.holds('{"a":1}', seal), true);
    assert.equal(one.holds('{"a":2}', seal), false);
    assert.equal(two.holds('{"a":1}', seal), false);
    assert.equal(one.holds('{"a":1}', seal.slice(0, 10)), false, 'a seal cut short');
    assert.equal(new KeysSeal(path.join(tmp, 'seal-one', 'k'), false, (m) => warnings.push(m)).holds('{"a":1}', seal), true, 'read back by another process');
    assert.deepEqual(warnings, []);
  });

  it('a secret file that is not 32 bytes is said and not used, nor replaced; one that cannot be made is said, and nothing is sealed', () => {
    const warnings: string[] = [];
    const short = path.join(tmp, 'seal-short');
    write(short, { k: 'not a secret' });
    const seal = new KeysSeal(path.join(short, 'k'), true, (m) => warnings.push(m));
    assert.equal(seal.seal('x'), undefined);
    assert.equal(fs.readFileSync(path.join(short, 'k'), 'utf8'), 'not a secret');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /holds 12 bytes, not 32.*computes them from the commit again/);
    // Its folder is a link to nothing: the secret is missing (ENOENT), and its folder cannot be made.
    const blocked = path.join(tmp, 'seal-blocked');
    fs.mkdirSync(blocked);
    fs.symlinkSync(path.join(blocked, 'nowhere'), path.join(blocked, 'root'));
    const cannot = new KeysSeal(path.join(blocked, 'root', 'k'), true, (m) => warnings.push(m));
    assert.equal(cannot.seal('x'), undefined);
    assert.equal(warnings.length, 2);
    assert.match(warnings[1], /^Could not make it: ENOENT/);
    assert.equal(new KeysSeal(path.join(tmp, 'seal-none', 'k'), false, (m) => warnings.push(m)).seal('x'), undefined, 'not made where it may not be');
    assert.ok(!fs.existsSync(path.join(tmp, 'seal-none')));
    assert.equal(warnings.length, 2, 'a missing secret that may not be made is nothing to say');
  });
});
