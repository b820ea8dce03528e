// A cached build keeps the objects it read, inflated, in one file of the results repository
// (`info/object-cache`): the next cached build reads that file instead of each job's loose objects. Nothing
// in it is trusted: a result whose loose file was damaged after it was cached is found damaged and built
// again, and a cache whose bytes were altered is said to be damaged and not used.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot } from '../fixtures';
import { ObjectCache, sha1 } from '../../src/store/git/objectCache';
import { CacheFile, cacheFileBytes, FIRST_BYTES, recordBytes } from '../../src/store/git/objectCacheFile';

const tmp = tempRoot('object-cache');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A module that counts, in the command line's process, the loose object files it opens; saved in `file` at exit. */
function spy(file: string): string {
  const script = path.join(tmp, 'spy.cjs');
  fs.writeFileSync(script, `const fs = require('node:fs');
const opened = [];
const isObject = (p) => typeof p === 'string' && /[\\\\/]datakit-ci[\\\\/]objects[\\\\/][0-9a-f]{2}[\\\\/][0-9a-f]{38}$/.test(p);
let inRead = false;
for (const name of ['readFileSync', 'openSync']) {
  const original = fs[name];
  fs[name] = function (p, ...rest) {
    if (isObject(p) && !inRead) { opened.push(p); }
    const outer = !inRead;
    inRead = true;
    try { return original.call(this, p, ...rest); } finally { if (outer) { inRead = false; } }
  };
}
process.on('exit', () => fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(opened)));
`);
  return script;
}

const JOBS = 6;

function jobsRepo(name: string): { dir: string; env: NodeJS.ProcessEnv; results: string } {
  const jobs: Record<string, { run: string; outputs?: string[] }> = {};
  for (let i = 0; i < JOBS; i++) { jobs[`j${i}`] = { run: `mkdir -p out${i} && echo made ${i} > out${i}/f.txt`, outputs: [`out${i}/`] }; }
  const dir = repo(path.join(tmp, name), { jobs, files: { '.gitignore': 'out*\n' } });
  return { dir, env: { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${name}`) }, results: path.join(dir, '.git', 'datakit-ci') };
}

function build(dir: string, env: NodeJS.ProcessEnv, spyFile?: string): { code: number; out: string; err: string; opened: string[] } {
  const r = runCli(dir, ['build'], spyFile ? { ...env, NODE_OPTIONS: `--require ${spy(spyFile)}` } : env);
  const opened = spyFile ? JSON.parse(fs.readFileSync(spyFile, 'utf8')) as string[] : [];
  return { ...r, opened };
}

/** The loose file of the object `rev` names in the results repository. */
function looseFile(results: string, rev: string): string {
  const oid = git(results, `--git-dir=${results}`, 'rev-parse', rev);
  return path.join(results, 'objects', oid.slice(0, 2), oid.slice(2));
}

function entryRef(results: string, job: string): string {
  return git(results, `--git-dir=${results}`, 'for-each-ref', '--format=%(refname)', `refs/heads/shell/${job}/`);
}

describe('the cache of objects read', () => {
  it('serves a cached build every object of every result from one file: no loose object file is opened', () => {
    const { dir, env } = jobsRepo('hits');
    assert.equal(build(dir, env).code, 0);
    const filling = build(dir, env, path.join(tmp, 'filling.json'));
    assert.match(filling.out, new RegExp(`jobs: 0 built, ${JOBS} cached$`, 'm'));
    assert.ok(filling.opened.length >= JOBS * 4, `the first cached build reads the results' objects (${filling.opened.length})`);
    const cached = build(dir, env, path.join(tmp, 'cached.json'));
    assert.equal(cached.code, 0, cached.err);
    assert.match(cached.out, new RegExp(`jobs: 0 built, ${JOBS} cached$`, 'm'));
    assert.deepEqual(cached.opened, [], 'no loose object file is opened');
    assert.equal(cached.err, '', 'nothing to say');
  });

  for (const how of ['truncated', 'zeroed', 'deleted'] as const) {
    it(`builds again a result whose log was ${how} after it was cached, naming the object`, () => {
      const { dir, env, results } = jobsRepo(`damaged-${how}`);
      build(dir, env);
      build(dir, env); // fills the cache
      const file = looseFile(results, `${entryRef(results, 'j2')}:log`);
      const bytes = fs.readFileSync(file);
      fs.chmodSync(file, 0o644);
      if (how === 'truncated') { fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2))); }
      if (how === 'zeroed') { fs.writeFileSync(file, Buffer.alloc(bytes.length)); }
      if (how === 'deleted') { fs.unlinkSync(file); }
      const r = build(dir, env);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`jobs: 1 built, ${JOBS - 1} cached$`, 'm'));
      assert.match(r.out, /^j2 +success +built now/m);
      const oid = path.basename(path.dirname(file)) + path.basename(file);
      assert.match(r.err, new RegExp(`cannot be used, so it will be built again: .*${oid}`));
    });
  }

  it('says a cache whose bytes were altered is damaged, does not use it, and writes it again', () => {
    const { dir, env, results } = jobsRepo('altered');
    build(dir, env);
    build(dir, env);
    const cacheFile = path.join(results, 'info', 'object-cache');
    const data = fs.readFileSync(cacheFile);
    // Inside the bytes of a log kept in the cache: its text, altered in place (same length, same stamp).
    const at = data.indexOf('made 3');
    assert.ok(at > 0, 'the log of j3 is in the cache');
    data.write('MADE 3', at, 'latin1');
    fs.writeFileSync(cacheFile, data);
    const r = build(dir, env, path.join(tmp, 'altered.json'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`jobs: 0 built, ${JOBS} cached$`, 'm'), 'the results themselves are whole');
    assert.match(r.err, new RegExp(`The cache of objects read ${cacheFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(its copy of the object [0-9a-f]{40} does not hash to its id\\)`));
    assert.ok(r.opened.length > 0, 'the objects were read from their files');
    const next = build(dir, env, path.join(tmp, 'after.json'));
    assert.equal(next.err, '', 'written again whole: nothing to say');
    assert.deepEqual(next.opened, []);
  });

  it('says a cache cut short is damaged and reads the objects from their files', () => {
    const { dir, env, results } = jobsRepo('cut');
    build(dir, env);
    build(dir, env);
    const cacheFile = path.join(results, 'info', 'object-cache');
    fs.truncateSync(cacheFile, fs.statSync(cacheFile).size - 3);
    const r = build(dir, env);
    assert.match(r.out, new RegExp(`jobs: 0 built, ${JOBS} cached$`, 'm'));
    assert.match(r.err, /is damaged \(it is cut short at byte \d+ of \d+\): it is not used/);
  });

  it('holds at most 4 MiB of objects in memory and in its file, however many a long-lived store reads', () => {
    const gitdir = path.join(tmp, 'bound');
    fs.mkdirSync(gitdir);
    const cache = new ObjectCache(gitdir, true);
    const object = 60 << 10;
    for (let i = 0; i < 200; i++) {
      const raw = Buffer.alloc(object, i % 256);
      cache.add(i.toString(16).padStart(40, '0'), raw, { ino: i, size: raw.length, ctimeMs: 1 });
    }
    assert.ok(cache.heldBytes <= 4 << 20, `held ${cache.heldBytes} bytes after reading 200 × 60 KiB`);
    assert.ok(cache.heldBytes > 3 << 20, 'the last objects read are kept');
    cache.flush();
    assert.ok(fs.statSync(cache.file).size <= 4 << 20);
  });
});

/** An object's inflated bytes (`blob <n>\0<text>`) and its id. */
function blob(text: string): { oid: string; raw: Buffer } {
  const raw = Buffer.concat([Buffer.from(`blob ${Buffer.byteLength(text)}\0`), Buffer.from(text)]);
  return { oid: sha1(raw), raw };
}

describe('the file of the cache of objects read', () => {
  it('finds each of 10,000 records by its id, says an absent one is absent, and gives the records back in the order written', () => {
    const objects = Array.from({ length: 10_000 }, (_, i) => ({ ...blob(`object ${i}\n`), stamp: { ino: i + 1, size: 30 + i, ctimeMs: 1.5 * i } }));
    const file = CacheFile.parse(cacheFileBytes(objects.map((o) => recordBytes(o))));
    assert.ok(file instanceof CacheFile, String(file));
    for (const o of [objects[0], objects[4321], objects[9999]]) {
      const r = file.find(o.oid);
      assert.ok(r !== undefined && typeof r !== 'string', `${o.oid} is found`);
      assert.deepEqual([r.raw, r.stamp], [o.raw, o.stamp]);
    }
    assert.equal(file.find(blob('not written').oid), undefined);
    const back = [...file.records()];
    assert.equal(back.length, objects.length);
    assert.deepEqual(back.slice(0, 3).map((r) => typeof r === 'string' ? r : sha1(r.raw)), objects.slice(0, 3).map((o) => o.oid));
    // A record copied as the file holds it into another file is the same record there.
    const copied = CacheFile.parse(cacheFileBytes(back.slice(0, 2).map((r) => (file).bytesOf(r as Exclude<typeof r, string>))));
    assert.ok(copied instanceof CacheFile);
    assert.deepEqual((copied.find(objects[1].oid) as { raw: Buffer }).raw, objects[1].raw);
  });

  it('reads only the record asked for: one damaged elsewhere does not stop it, and is said when the file is next written', () => {
    const gitdir = path.join(tmp, 'lazy');
    fs.mkdirSync(path.join(gitdir, 'info'), { recursive: true });
    const [a, b] = [blob('a\n'), blob('b\n')];
    const stamp = { ino: 1, size: 1, ctimeMs: 1 };
    const bytes = cacheFileBytes([recordBytes({ ...a, stamp }), recordBytes({ ...b, stamp })]);
    // b's record (the last) says it is longer than the file: only reading it finds that.
    bytes.writeUInt32LE(60_000, bytes.length - b.raw.length - 4);
    const file = CacheFile.parse(bytes);
    assert.ok(file instanceof CacheFile);
    assert.equal(typeof file.find(a.oid), 'object');
    assert.match(String(file.find(b.oid)), /its record at byte \d+ runs past the end/);
    fs.writeFileSync(path.join(gitdir, 'info', 'object-cache'), bytes);
    const warnings: string[] = [];
    const cache = new ObjectCache(gitdir, true, (m) => warnings.push(m));
    const loose = path.join(gitdir, 'loose-a');
    fs.writeFileSync(loose, 'x');
    assert.equal(cache.get(a.oid, loose), undefined, 'a stamp that is not the file\'s: not served');
    cache.add(a.oid, a.raw, { ino: fs.statSync(loose).ino, size: 1, ctimeMs: fs.statSync(loose).ctimeMs });
    cache.flush();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /is damaged \(its record at byte \d+ runs past the end\): what it held past there is not kept/);
    const written = CacheFile.parse(fs.readFileSync(cache.file));
    assert.ok(written instanceof CacheFile);
    assert.deepEqual([...written.records()].map((r) => typeof r === 'string' ? r : sha1(r.raw)), [a.oid]);
  });

  it('reads a full file\'s first MiB only until a record past it is asked for; past the start of a file replaced meanwhile, nothing is served or said', () => {
    const gitdir = path.join(tmp, 'start');
    fs.mkdirSync(path.join(gitdir, 'info'), { recursive: true });
    const [first, last] = [blob('used last, written first\n'), blob('used long ago, written last\n')];
    const stampOf = (name: string): { ino: number; size: number; ctimeMs: number } => {
      const file = path.join(gitdir, name);
      fs.writeFileSync(file, name);
      const st = fs.statSync(file);
      return { ino: st.ino, size: st.size, ctimeMs: st.ctimeMs };
    };
    const filler = Array.from({ length: 6000 }, (_, i) => recordBytes({ oid: crypto.randomBytes(20).toString('hex'), stamp: { ino: i, size: 1, ctimeMs: 1 }, raw: crypto.randomBytes(600) }));
    const bytes = cacheFileBytes([recordBytes({ ...first, stamp: stampOf('loose-first') }), ...filler, recordBytes({ ...last, stamp: stampOf('loose-last') })]);
    assert.ok(bytes.length > 3 * FIRST_BYTES, `a file of ${bytes.length} bytes`);
    fs.writeFileSync(path.join(gitdir, 'info', 'object-cache'), bytes);
    const warnings: string[] = [];
    const cache = new ObjectCache(gitdir, false, (m) => warnings.push(m));
    assert.deepEqual(cache.get(first.oid, path.join(gitdir, 'loose-first')), first.raw);
    assert.equal(cache.heldBytes, FIRST_BYTES, 'the record near the start is served from the first MiB read');
    // An object not cached whose probe starts at the last record's slot (another id, the same slot): passed by
    // the slot's own bytes, without reading that record past the start.
    const slots = bytes.readUInt32LE('DKCI-OBJECTS 3\n'.length + 8);
    const absent = `${((parseInt(last.oid.slice(0, 8), 16) + slots) >>> 0).toString(16).padStart(8, '0')}${last.oid.slice(8)}`;
    assert.equal(cache.get(absent, path.join(gitdir, 'loose-first')), undefined);
    assert.equal(cache.heldBytes, FIRST_BYTES, 'an id not cached reads nothing past the start');
    assert.deepEqual(cache.get(last.oid, path.join(gitdir, 'loose-last')), last.raw);
    assert.equal(cache.heldBytes, bytes.length, 'the record past it, once the rest is read');
    // Another process writes the file anew between the two reads: its records are not mixed with the first's.
    const again = new ObjectCache(gitdir, false, (m) => warnings.push(m));
    assert.deepEqual(again.get(first.oid, path.join(gitdir, 'loose-first')), first.raw);
    const replaced = Buffer.from(bytes);
    fs.writeFileSync(`${again.file}.new`, replaced);
    fs.renameSync(`${again.file}.new`, again.file);
    assert.equal(again.get(last.oid, path.join(gitdir, 'loose-last')), undefined, 'read from its loose file instead');
    assert.equal(again.heldBytes, FIRST_BYTES);
    assert.deepEqual(warnings, []);
  });

  it('refuses a file whose table points outside its records, or that is cut short, saying why; an earlier version\'s file is replaced without a word', () => {
    const one = blob('one\n');
    const bytes = cacheFileBytes([recordBytes({ ...one, stamp: { ino: 1, size: 1, ctimeMs: 1 } })]);
    assert.match(String(CacheFile.parse(bytes.subarray(0, bytes.length - 1))), /^it is cut short at byte \d+ of \d+$/);
    const pointing = Buffer.from(bytes);
    const slot = parseInt(one.oid.slice(0, 8), 16) & 1; // two slots for one record
    pointing.writeUInt32LE(8, 'DKCI-OBJECTS 3\n'.length + 12 + slot * 8);
    const file = CacheFile.parse(pointing);
    assert.ok(file instanceof CacheFile);
    assert.match(String(file.find(one.oid)), /its table points past its records/);
    assert.equal(CacheFile.parse(Buffer.from('DKCI-OBJECTS 1\nwhatever')), null);
    assert.match(String(CacheFile.parse(Buffer.from('something else'))), /does not start as this version writes it/);
    const { dir, env, results } = jobsRepo('earlier');
    build(dir, env);
    const cacheFile = path.join(results, 'info', 'object-cache');
    fs.writeFileSync(cacheFile, 'DKCI-OBJECTS 1\n');
    const r = build(dir, env);
    assert.equal(r.err, '', 'nothing to say of an earlier version\'s file');
    assert.ok(CacheFile.parse(fs.readFileSync(cacheFile)) instanceof CacheFile, 'replaced by this version\'s');
  });
});
