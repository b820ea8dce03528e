// Packed objects read in place (pack index lookups, entries, ofs- and ref-deltas), checked byte for byte
// against `git cat-file` after real `git gc` / `git repack` runs; and packed refs found by binary search.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { applyDelta } from '../../src/store/git/packFormat';
import { PackIndex } from '../../src/store/git/packIndex';
import { PackReader } from '../../src/store/git/packReader';
import { SortedPackedRefs } from '../../src/store/git/packedRefs';
import { Refs } from '../../src/store/git/refLock';
import { ENV, gitIn, gitWith, tempRoot } from '../fixtures';

const COMMITS = 200;
const LINES = 2000;
const TAGS = 20;

/** A fast-import stream: COMMITS commits each changing one line of a 2,000-line file, a binary file changed
 * every fifth commit, and annotated tags (whose packed refs carry `^` peeled lines). */
function history(): Buffer {
  const parts: Buffer[] = [];
  const put = (s: string) => parts.push(Buffer.from(s, 'utf8'));
  const data = (b: Buffer) => {
    put(`data ${b.length}\n`);
    parts.push(b, Buffer.from('\n'));
  };
  const lines = Array.from({ length: LINES }, (_, j) => `line ${j}: the quick brown fox jumps over the lazy dog`);
  let seed = 7;
  const bin = Buffer.alloc(60_000);
  for (let i = 0; i < bin.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    bin[i] = seed >> 16;
  }
  for (let c = 1; c <= COMMITS; c++) {
    lines[(c * 37) % LINES] = `line ${(c * 37) % LINES} changed by commit ${c}`;
    put(`commit refs/heads/main\nmark :${c}\ncommitter T <t@example.invalid> ${1_700_000_000 + c} +0000\n`);
    data(Buffer.from(`commit ${c}\n`));
    if (c > 1) {
      put(`from :${c - 1}\n`);
    }
    put('M 100644 inline big.txt\n');
    data(Buffer.from(`${lines.join('\n')}\n`));
    if (c % 5 === 1) {
      bin.writeUInt32BE(c * 2654435761 % 2 ** 32, (c * 997) % (bin.length - 4));
      put('M 100644 inline bin.dat\n');
      data(Buffer.from(bin));
    }
  }
  for (let t = 0; t < TAGS; t++) {
    put(`tag v${t}\nfrom :${t * 10 + 1}\ntagger T <t@example.invalid> 1700000000 +0000\n`);
    data(Buffer.from(`release ${t}\n`));
  }
  return Buffer.concat(parts);
}

function makeHistoryRepo(dir: string): void {
  gitIn(dir, 'init', '-q', '--bare');
  gitWith({ input: history() }, `--git-dir=${dir}`, 'fast-import', '--quiet');
}

/** Every object git lists, with its type and content, from one `git cat-file --batch-all-objects --batch`. */
function allObjects(dir: string): Map<string, { type: string; content: Buffer }> {
  const out = execFileSync('git', [`--git-dir=${dir}`, 'cat-file', '--batch-all-objects', '--batch'], { env: ENV, maxBuffer: 256 << 20 });
  const objects = new Map<string, { type: string; content: Buffer }>();
  for (let i = 0; i < out.length;) {
    const nl = out.indexOf(0x0a, i);
    const [oid, type, size] = out.toString('latin1', i, nl).split(' ');
    const content = out.subarray(nl + 1, nl + 1 + Number(size));
    objects.set(oid, { type, content });
    i = nl + 1 + Number(size) + 1;
  }
  return objects;
}

function packFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'objects/pack')).filter((n) => n.endsWith('.pack')).map((n) => path.join(dir, 'objects/pack', n));
}

/** For the repository's one pack: how many entries are ofs-deltas and ref-deltas, and its longest delta chain. */
function packShape(dir: string): { ofs: number; ref: number; maxChain: number } {
  const [pack] = packFiles(dir);
  const bytes = fs.readFileSync(pack);
  const verify = gitIn(dir, 'verify-pack', '-v', pack.replace(/\.pack$/, '.idx'));
  let ofs = 0;
  let ref = 0;
  let maxChain = 0;
  for (const line of verify.split('\n')) {
    const f = line.split(/\s+/);
    if (/^[0-9a-f]{40}$/.test(f[0]) && f.length >= 7) {
      const type = (bytes[Number(f[4])] >> 4) & 7;
      ofs += type === 6 ? 1 : 0;
      ref += type === 7 ? 1 : 0;
    }
    const m = /^chain length = (\d+):/.exec(line);
    if (m) {
      maxChain = Math.max(maxChain, Number(m[1]));
    }
  }
  return { ofs, ref, maxChain };
}

async function assertAllReadBack(dir: string, reader = new PackReader(path.join(dir, 'objects/pack'), async () => undefined)): Promise<number> {
  const objects = allObjects(dir);
  for (const [oid, want] of objects) {
    const got = await reader.read(oid);
    assert.ok(got, `${oid} is found`);
    assert.equal(got.type, want.type, `${oid}'s type`);
    assert.ok(got.content.equals(want.content), `${oid} (${want.type}, ${want.content.length} bytes) reads back byte for byte`);
  }
  return objects.size;
}

function looseCount(dir: string): number {
  return Number(/^count: (\d+)$/m.exec(gitIn(dir, 'count-objects', '-v'))![1]);
}

describe('pack reader', () => {
  let root: string;
  let repo: string;
  let total: number;
  before(() => {
    root = tempRoot('packreader');
    repo = path.join(root, 'history.git');
    makeHistoryRepo(repo);
    total = allObjects(repo).size;
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads every object back after git gc --aggressive (deep ofs-delta chains)', async () => {
    gitIn(repo, 'gc', '--aggressive', '--quiet');
    assert.equal(looseCount(repo), 0);
    assert.equal(packFiles(repo).length, 1);
    const shape = packShape(repo);
    assert.ok(shape.ofs > 200 && shape.ref === 0 && shape.maxChain >= 40, JSON.stringify(shape));
    assert.equal(await assertAllReadBack(repo), total);
    assert.equal(total, COMMITS * 3 + COMMITS / 5 + TAGS);
  });

  it('reads every object back after git repack -adf --depth=50 --window=250', async () => {
    gitIn(repo, 'repack', '-adf', '--depth=50', '--window=250', '-q');
    const shape = packShape(repo);
    assert.ok(shape.ofs > 200 && shape.maxChain >= 40, JSON.stringify(shape));
    assert.equal(await assertAllReadBack(repo), total);
  });

  it('reads ref-deltas (repack.useDeltaBaseOffset=false)', async () => {
    gitIn(repo, '-c', 'repack.useDeltaBaseOffset=false', '-c', 'pack.useDeltaBaseOffset=false', 'repack', '-adf', '-q');
    const shape = packShape(repo);
    assert.ok(shape.ref > 200 && shape.ofs === 0, JSON.stringify(shape));
    assert.equal(await assertAllReadBack(repo), total);
  });

  it('reads a version 1 pack index', async () => {
    gitIn(repo, 'repack', '-adf', '-q');
    const [pack] = packFiles(repo);
    const idx = pack.replace(/\.pack$/, '.idx');
    fs.rmSync(idx);
    gitIn(repo, 'index-pack', '--index-version=1', '-o', idx, pack);
    assert.equal(PackIndex.open(idx).version, 1);
    assert.equal(await assertAllReadBack(repo), total);
  });

  it('follows packs that appear and disappear under one reader, and misses what no pack holds', async () => {
    const packDir = path.join(repo, 'objects/pack');
    const reader = new PackReader(packDir, async () => undefined);
    const head = gitIn(repo, 'rev-parse', 'main');
    assert.equal((await reader.read(head))!.type, 'commit');
    // A new commit in a second pack: found by listing the directory again.
    const tree = gitIn(repo, 'rev-parse', 'main^{tree}');
    const added = gitIn(repo, 'commit-tree', tree, '-p', head, '-m', 'added');
    gitIn(repo, 'update-ref', 'refs/heads/main', added);
    gitIn(repo, 'repack', '-d', '-q');
    assert.equal(packFiles(repo).length, 2);
    assert.equal((await reader.read(added))!.content.toString('utf8').split('\n').at(-2), 'added');
    // All packs replaced, and the directory's time put back as it was: the reader finds its listing stale
    // only when the packs it knows are gone.
    fs.utimesSync(packDir, 1e9, 1e9);
    assert.equal((await reader.read(head))!.type, 'commit');
    const ino = fs.statSync(packDir).ino;
    gitIn(repo, 'repack', '-adf', '--depth=3', '-q');
    fs.utimesSync(packDir, 1e9, 1e9);
    assert.equal(fs.statSync(packDir).ino, ino);
    assert.equal(await assertAllReadBack(repo, reader), total + 1);
    // A second pack of the same objects, then the first one's `.pack` deleted (git deletes it before
    // its `.idx`): the reader, whose listing still says the first, finds the second.
    const [first] = packFiles(repo);
    gitIn(repo, 'repack', '-af', '--depth=5', '-q');
    assert.equal(packFiles(repo).length, 2);
    fs.rmSync(first);
    fs.utimesSync(packDir, 1e9, 1e9);
    assert.equal(await assertAllReadBack(repo, reader), total + 1);
    assert.equal(await reader.read('0123456789abcdef0123456789abcdef01234567'), undefined);
    assert.equal(await reader.read('not an id'), undefined);
  });
});

/** A version 2 index of `ids` (sorted) whose 4-byte offset table holds `small` as is, then the 8-byte `large`. */
function craftIdx(ids: Buffer[], small: number[], large: number[]): Buffer {
  const fanout = Buffer.alloc(1024);
  for (let b = 0; b < 256; b++) {
    fanout.writeUInt32BE(ids.filter((id) => id[0] <= b).length, 4 * b);
  }
  const offsets = Buffer.alloc(4 * small.length);
  small.forEach((v, i) => offsets.writeUInt32BE(v, 4 * i));
  const big = Buffer.alloc(8 * large.length);
  large.forEach((v, i) => big.writeBigUInt64BE(BigInt(v), 8 * i));
  return Buffer.concat([Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]), fanout, ...ids, Buffer.alloc(4 * ids.length), offsets, big, Buffer.alloc(20, 0x11), Buffer.alloc(20)]);
}

describe('pack index', () => {
  let root: string;
  before(() => {
    root = tempRoot('packindex');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads 8-byte offsets of objects past 2 GiB', () => {
    const ids = ['01', '7f', '80', 'ab', 'ff'].map((b) => Buffer.from(b.repeat(20), 'hex'));
    const file = path.join(root, 'large.idx');
    fs.writeFileSync(file, craftIdx(ids, [12, 0x7fffffff, 0x80000000, 0x80000001, 0x80000002], [2 ** 31, 2 ** 32 + 5, 3 * 2 ** 40 + 7]));
    const index = PackIndex.open(file);
    assert.equal(index.count, 5);
    assert.deepEqual(ids.map((id) => index.find(id.toString('hex'))), [12, 0x7fffffff, 2 ** 31, 2 ** 32 + 5, 3 * 2 ** 40 + 7]);
    assert.equal(index.find('ab'.repeat(19) + 'ac'), undefined);
    assert.equal(index.find('00'.repeat(20)), undefined);
    assert.deepEqual(index.packChecksum, Buffer.alloc(20, 0x11));
    fs.writeFileSync(file, craftIdx(ids, [12, 0x7fffffff, 0x80000000, 0x80000001, 0x80000003], [2 ** 31, 2 ** 32 + 5, 3 * 2 ** 40 + 7]));
    assert.throws(() => PackIndex.open(file).find('ff'.repeat(20)), { code: 'CorruptObject' });
  });

  it('bisects a fan-out bucket too big to read at once', () => {
    const ids = Array.from({ length: 5000 }, () => Buffer.concat([Buffer.from([0xab]), randomBytes(19)])).sort(Buffer.compare);
    const file = path.join(root, 'bucket.idx');
    fs.writeFileSync(file, craftIdx(ids, ids.map((_, i) => 12 + i * 10), []));
    const index = PackIndex.open(file);
    ids.forEach((id, i) => assert.equal(index.find(id.toString('hex')), 12 + i * 10));
    for (let i = 0; i < 200; i++) {
      const id = Buffer.concat([Buffer.from([0xab]), randomBytes(19)]);
      if (!ids.some((x) => x.equals(id))) {
        assert.equal(index.find(id.toString('hex')), undefined);
      }
    }
  });

  it('refuses an index whose size does not fit its objects, and a corrupt delta', () => {
    const file = path.join(root, 'short.idx');
    fs.writeFileSync(file, craftIdx([Buffer.alloc(20, 1)], [12], []).subarray(0, 1090));
    assert.throws(() => PackIndex.open(file), { code: 'CorruptObject' });
    assert.deepEqual(applyDelta(Buffer.from('abcdef'), Buffer.from([6, 5, 0x91, 1, 3, 2, 0x78, 0x79])), Buffer.from('bcdxy'));
    assert.throws(() => applyDelta(Buffer.from('abc'), Buffer.from([3, 2, 0])), { code: 'CorruptObject' });
    assert.throws(() => applyDelta(Buffer.from('abc'), Buffer.from([3, 2, 0x91, 2, 2])), { code: 'CorruptObject' });
  });
});

describe('packed refs', () => {
  let root: string;
  let repo: string;
  let expected: Map<string, string>;
  before(() => {
    root = tempRoot('packedrefs');
    repo = path.join(root, 'refs.git');
    makeHistoryRepo(repo);
    const commits = gitIn(repo, 'rev-list', 'main').split('\n');
    // Names that sort around each other by `-` < `.` < `/` and by non-ASCII bytes.
    const names = Array.from({ length: 10_000 - TAGS - 1 }, (_, i) => {
      const kind = i % 5;
      return kind === 0 ? `refs/heads/b${i % 7}/e${i}` : kind === 1 ? `refs/heads/b${i % 7}-x/e${i}` : kind === 2 ? `refs/heads/b${i % 7}.y${i}` : kind === 3 ? `refs/heads/é${i % 3}/ü${i}` : `refs/remotes/o/${i}`;
    });
    // Given to git unsorted, in a packed-refs file without traits (10,000 loose files take seconds to
    // write here); `git pack-refs` then rewrites it as git writes it, with the loose refs and tags.
    const lines = names.map((n, i) => `${commits[i % commits.length]} ${n}\n`).reverse();
    fs.writeFileSync(path.join(repo, 'packed-refs'), lines.join(''));
    gitIn(repo, 'pack-refs', '--all');
    expected = new Map(gitIn(repo, 'for-each-ref', '--format=%(objectname) %(refname)').split('\n').map((l) => [l.slice(41), l.slice(0, 40)]));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds every ref of a 10,000-ref sorted packed-refs, and misses the others', async () => {
    const text = fs.readFileSync(path.join(repo, 'packed-refs'), 'utf8');
    assert.match(text, /^# pack-refs with: .*\bsorted\b/);
    assert.equal((text.match(/^\^/gm) ?? []).length, TAGS);
    assert.equal(expected.size, 10_000);
    assert.deepEqual(fs.readdirSync(path.join(repo, 'refs/heads')), []);
    const refs = new Refs(repo);
    for (const [ref, oid] of expected) {
      assert.equal(await refs.resolve(ref), oid, ref);
    }
    const missing = ['refs', 'refs/heads/', 'refs/heads/b0', 'refs/heads/b0/e', 'refs/heads/b0/e0/x', 'refs/heads/a', 'refs/zzz', 'refs/tags/v', 'refs/tags/v99', 'refs/heads/é', '~']
      .concat([...expected.keys()].flatMap((r) => [`${r}.missing`, `${r}0/x`, r.slice(0, -1)]))
      .filter((r) => !expected.has(r));
    const fd = fs.openSync(path.join(repo, 'packed-refs'), 'r');
    try {
      const file = SortedPackedRefs.open(fd, fs.fstatSync(fd).size)!;
      for (const ref of missing) {
        assert.equal(file.get(ref), undefined, ref);
      }
    } finally {
      fs.closeSync(fd);
    }
    for (const ref of missing.filter((_, i) => i % 10 === 0)) {
      assert.equal(await refs.resolve(ref), undefined, ref);
    }
  });

  it('seeks the first ref at or after a key, in git order', () => {
    const sorted = [...expected.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const fd = fs.openSync(path.join(repo, 'packed-refs'), 'r');
    try {
      const file = SortedPackedRefs.open(fd, fs.fstatSync(fd).size)!;
      assert.deepEqual(file.seek(''), { name: sorted[0], oid: expected.get(sorted[0]) });
      assert.equal(file.seek('\u{ffff}'), undefined);
      assert.equal(file.seek('refs/heads/b3/')?.name, sorted.find((r) => r > 'refs/heads/b3/'));
      assert.equal(file.seek('refs/heads/b3-')?.name, sorted.find((r) => r.startsWith('refs/heads/b3-x/')));
      assert.equal(file.seek('refs/heads/é1')?.name.startsWith('refs/heads/é1/ü'), true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('refuses a new ref beside a packed ref that is its prefix or under it', async () => {
    const refs = new Refs(repo);
    const [someRef] = [...expected.keys()].filter((r) => r.startsWith('refs/heads/b1/'));
    const oid = expected.get(someRef)!;
    await assert.rejects(refs.compareAndSwap(`${someRef}/x`, undefined, oid), { code: 'RefNameConflict' });
    await assert.rejects(refs.compareAndSwap('refs/heads/b1', undefined, oid), { code: 'RefNameConflict' });
    assert.equal(await refs.compareAndSwap('refs/heads/b1/new', undefined, oid), oid);
    assert.equal(gitIn(repo, 'rev-parse', 'refs/heads/b1/new'), oid);
  });

  it('parses the whole file when git did not mark it sorted, or when a line is not as git writes it', async () => {
    const file = path.join(repo, 'packed-refs');
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('^'));
    const sample = lines.filter((_, i) => i % 97 === 0);
    for (const header of ['# pack-refs with: peeled \n', '']) {
      fs.writeFileSync(file, header + [...sample].reverse().join('\n') + '\n');
      const refs = new Refs(repo);
      for (const line of sample) {
        assert.equal(await refs.resolve(line.slice(41)), line.slice(0, 40));
      }
      const fd = fs.openSync(file, 'r');
      try {
        assert.equal(SortedPackedRefs.open(fd, fs.fstatSync(fd).size), undefined);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.writeFileSync(file, '# pack-refs with: peeled fully-peeled sorted \n' + sample.join('\nnot a ref line\n') + '\n');
    const refs = new Refs(repo);
    for (const line of sample) {
      assert.equal(await refs.resolve(line.slice(41)), line.slice(0, 40));
    }
    assert.equal(await refs.resolve('refs/heads/b1/nope'), undefined);
  });
});
