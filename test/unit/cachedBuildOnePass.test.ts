// A fully cached `build` does each job's part of the work once, in one pass: every object of the results
// repository is read from its file once (a result's key.json is not found and read again to say where the
// result came from, which it did once the objects kept in memory overflowed), whether results were fetched is
// not asked through the thread pool once per job, the jobs' lines go out in one write, not one per job, and stdin
// (which a build never reads) is not opened.
// What the command line does is seen by a spy loaded into it, which counts without timing anything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('cached-one-pass');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Seen {
  /** Reads (or opens) of each loose object file of the results repository, by path. */
  objectReads: Record<string, number>;
  /** fs.promises.stat calls, by the path's last two components. */
  asyncStats: Record<string, number>;
  /** fs.statSync calls, by the path's last two components. */
  syncStats: Record<string, number>;
  /** Writes to stdout. */
  writes: number;
  /** Whether process.stdin was opened (a stream made for it). */
  stdin: number;
  /** SHA-1s taken of whole buffers (crypto.hash), by the digest: an object's check hashes it to its id. */
  sha1s: Record<string, number>;
  /** Node's own modules loaded by the end. */
  builtins: string[];
}

/** A module that counts, in the command line's process, what a build reads and writes; saved as JSON in `file` at exit. */
function spy(file: string): string {
  const script = path.join(tmp, 'spy.cjs');
  fs.writeFileSync(script, `const fs = require('node:fs');
const seen = { objectReads: {}, asyncStats: {}, syncStats: {}, writes: 0, stdin: 0, sha1s: {} };
const statSync = fs.statSync;
fs.statSync = function (p, ...rest) {
  const k = String(p).split(/[\\\\/]/).slice(-2).join('/');
  seen.syncStats[k] = (seen.syncStats[k] || 0) + 1;
  return statSync.call(this, p, ...rest);
};
const crypto = require('node:crypto');
const hash = crypto.hash;
crypto.hash = function (algorithm, data, ...rest) {
  const out = hash.call(this, algorithm, data, ...rest);
  if (String(algorithm).toLowerCase() === 'sha1') { const k = hash.call(this, 'sha1', data, 'hex'); seen.sha1s[k] = (seen.sha1s[k] || 0) + 1; }
  return out;
};
const stdin = Object.getOwnPropertyDescriptor(process, 'stdin');
Object.defineProperty(process, 'stdin', { configurable: true, enumerable: stdin.enumerable, get() { seen.stdin++; return stdin.get.call(this); } });
const isObject = (p) => typeof p === 'string' && /[\\\\/]datakit-ci[\\\\/]objects[\\\\/][0-9a-f]{2}[\\\\/][0-9a-f]{38}$/.test(p);
// An object file is read whole (readFileSync) or through a descriptor (openSync, to keep its stat): each counts.
let inRead = false;
for (const name of ['readFileSync', 'openSync']) {
  const original = fs[name];
  fs[name] = function (p, ...rest) {
    if (isObject(p) && !inRead) { seen.objectReads[p] = (seen.objectReads[p] || 0) + 1; }
    const outer = !inRead;
    inRead = true; // readFileSync may open through fs.openSync: one read
    try { return original.call(this, p, ...rest); } finally { if (outer) { inRead = false; } }
  };
}
const stat = fs.promises.stat;
fs.promises.stat = function (p, ...rest) {
  const k = String(p).split(/[\\\\/]/).slice(-2).join('/');
  seen.asyncStats[k] = (seen.asyncStats[k] || 0) + 1;
  return stat.call(this, p, ...rest);
};
const write = process.stdout.write;
process.stdout.write = function (...args) { seen.writes++; return write.apply(this, args); };
process.on('exit', () => {
  seen.builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(seen));
});
`);
  return script;
}

/** `jobs` jobs, each printing about 60 KB: their logs together overflow the objects a store keeps in memory. */
function manyJobs(dir: string, jobs: number): string {
  const config: Record<string, { run: string }> = {};
  for (let i = 0; i < jobs; i++) {
    config[`j${i}`] = { run: `node -e "process.stdout.write(require('crypto').randomBytes(30000).toString('hex'))"` };
  }
  return repo(dir, { jobs: config });
}

function cachedBuild(dir: string, name: string, before = 1): Seen {
  const seenFile = path.join(tmp, `${name}.json`);
  const env = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${name}`) };
  for (let i = 0; i < before; i++) {
    const first = runCli(dir, ['build'], env);
    assert.equal(first.code, 0, first.err);
  }
  const cached = runCli(dir, ['build'], { ...env, NODE_OPTIONS: `--require ${spy(seenFile)}` });
  assert.equal(cached.code, 0, cached.err);
  assert.match(cached.out, /jobs: 0 built, \d+ cached$/m);
  return JSON.parse(fs.readFileSync(seenFile, 'utf8')) as Seen;
}

describe('a fully cached build of many jobs', () => {
  it('reads each object of the results repository once, asks the thread pool nothing per job, writes its job lines at once, leaves stdin unopened and loads no perf_hooks', () => {
    const jobs = 24;
    const seen = cachedBuild(manyJobs(path.join(tmp, 'many'), jobs), 'many');
    const objects = Object.values(seen.objectReads);
    // Each result: a commit, its tree, key.json, the log (and an empty value tree shared by all); what the build
    // that saved them read back is in the cache of objects read (objectCache.test.ts), the rest from its file.
    assert.ok(objects.length >= jobs, `every result's objects are read (${objects.length} files)`);
    const twice = Object.entries(seen.objectReads).filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no object file is read twice');
    for (const k of ['refs/fetched', 'datakit-ci/packed-refs']) {
      assert.ok((seen.asyncStats[k] ?? 0) <= 1, `${k} is not stat-ed through the thread pool for each job (${seen.asyncStats[k]} times)`);
      // Whether results were fetched: one look for the jobs the report asks about at once, not two stats a job.
      assert.ok((seen.syncStats[k] ?? 0) <= 4, `${k} is not stat-ed for each job (${seen.syncStats[k]} times for ${jobs} jobs)`);
    }
    // The jobs' lines, then the table, the summary and the rest: a few writes, whatever the number of jobs.
    assert.ok(seen.writes <= 4, `the report takes a few writes, not one per job (${seen.writes} for ${jobs} jobs)`);
    assert.equal(seen.stdin, 0, 'stdin, which a build never reads, is not opened');
    // lru-cache's clock (`performance`) is asked for on its first use, by a cache with a ttl: none here.
    assert.ok(!seen.builtins.includes('perf_hooks'), 'perf_hooks is not loaded');
    const config = Object.entries(seen.asyncStats).filter(([k]) => k.endsWith('/.datakit-ci.json'));
    assert.deepEqual(config, [], 'the working copy\'s .datakit-ci.json (compared with the committed one) is read without the thread pool');
  });

  it('hashes each object it checks once: one served by the cache of objects read, or read from its file and cached, is not hashed again to verify it', () => {
    const config: Record<string, { run: string; needs?: string[] }> = {};
    for (let i = 0; i < 6; i++) { config[`j${i}`] = { run: `echo job ${i}`, ...(i > 0 ? { needs: [`j${i - 1}`] } : {}) }; }
    const dir = repo(path.join(tmp, 'hashed'), { jobs: config });
    for (const [name, before] of [['hashed-second', 1], ['hashed-third', 2]] as const) {
      const seen = cachedBuild(dir, name, before);
      // Each result's commit, tree and key.json at least (the log, the value's tree).
      assert.ok(Object.keys(seen.sha1s).length >= 6 * 3, `${name}: the results' objects are checked (${Object.keys(seen.sha1s).length} hashed)`);
      const again = Object.entries(seen.sha1s).filter(([, n]) => n > 1);
      assert.deepEqual(again, [], `${name}: no object is hashed twice`);
    }
  });
});
