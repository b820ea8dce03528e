// The results repository's objects: read directly when loose, in place when packed (packReader.ts); written
// as loose objects that appear atomically (looseObjects.ts: through isomorphic-git's writeObject).
//
// Reading is ours, not isomorphic-git's readObject: that loads and checksums a whole pack to read one object
// from it, and loading isomorphic-git at all would cost every command that only reads (a status, a cached
// build) its bundle. A lookup from a fresh reader among 10,000 results took 0.68 ms here against 10.03 ms with
// resolveRef + readBlob, 1.54 ms against 107.59 ms once packed; loading dist/isomorphic-git.js costs a new
// process +54 ms (bench/store.bench.mjs part f; bench/README.md).
import { createHash } from 'node:crypto';
import fs = require('node:fs');
import { promises as fsp } from 'node:fs';
import path = require('node:path');
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../../shared/errors';
import { growingLru, inflateAsync, lazily, zlib } from '../../shared/lazy';
import { afterConcurrentGc, runningGcSince } from './gcGuard';
import { CHUNK, looseFile, writeLooseObject, type ObjectType } from './looseObjects';
import { MAX_CACHED_OBJECT, ObjectCache, readWithStamp, sha1, type FileStamp } from './objectCache';
import { PackReader, type RawObject } from './packReader';
import { withSignature } from './sshsig';
import { formatCommit, formatTree, parseCommit, parseTree, type CommitInfo, type Tree, type TreeEntry } from './objectFormat';

export { STREAM_THRESHOLD, sweepTemporaryObjects } from './looseObjects';

/**
 * How a loose object is inflated: one whose deflated bytes are fewer than SMALL_DEFLATED (a tree, a commit,
 * a key.json: most objects of a result) into a chunk under half of Buffer.poolSize, taken from Node's buffer
 * pool. With zlib's default (16 KB) every object read allocated an ArrayBuffer of its own, the largest
 * allocation of reading a result back (a cached build reads every object of every job's result); a larger
 * one (a log) keeps the default, which holds it in one pass.
 */
const SMALL_DEFLATED = 1024;
const SMALL_INFLATE = { chunkSize: (Buffer.poolSize >>> 1) - 1 };

/**
 * An object as read, with the bytes its id is the SHA-1 of (`<type> <size>\0<content>`) when they are at hand,
 * and `checked` when those bytes were just hashed to the id (the cache of objects read hashes what it serves;
 * a small loose object is hashed before it is cached): `verify` then does not hash them a second time.
 */
type ReadObject = RawObject & { readonly hashed?: Buffer; readonly checked?: true };


/** The objects a save wrote (or found and freshened), with their bytes, to write again if a prune takes them. */
export type Journal = Map<string, { readonly type: ObjectType; readonly content: Uint8Array }>;

/** Whether `e` says that an object cannot be read: missing (`ObjectMissing`) or damaged (`CorruptObject`). */
export function isUnreadableObject(e: unknown): boolean {
  return DataKitError.is(e, 'ObjectMissing') || DataKitError.is(e, 'CorruptObject');
}

export class ObjectStore {
  private readonly objectsDir: string;
  private readonly packs: PackReader;
  // lru-cache allocates every slot up front (measured: 1.1 ms for 10,000, 13 ms for 100,000), which each
  // store opened (each command run) pays: sizes for what one process touches, not for the whole repository.
  private readonly trees = lazily(() => growingLru<string, Tree>(1000));
  private readonly commits = lazily(() => growingLru<string, CommitInfo>(1000));
  /** Objects already checked against their ids: a memo, forgotten whole when it gets large. */
  private readonly verified = new Set<string>();
  /**
   * The small objects `verify` just read, for the read that follows it (a lookup checks an entry, then reads
   * its value): each is inflated once per process, not twice.
   */
  private justVerified: RecentObjects | undefined;

  /**
   * `patient`: a missing object is looked for again for a while (a concurrent `git gc` moves objects
   * between loose files and packs, and a save may be writing back what a prune took); without it, a
   * missing object is said to be missing at once (a repository whose gc we do not share, read to answer).
   */
  /** Signs each commit written: the armoured signature of the commit's bytes (see jobs/signing.ts). */
  signer: ((payload: Buffer) => Promise<string | undefined>) | undefined;
  /** Loose objects already read, kept in one file (see objectCache.ts); none: every object is read from its file. */
  cache: ObjectCache | undefined;

  constructor(readonly gitdir: string, private readonly patient = true) {
    this.objectsDir = path.join(gitdir, 'objects');
    this.packs = new PackReader(path.join(this.objectsDir, 'pack'), (oid) => this.readLoose(oid));
  }

  /**
   * An object's type and content; `ObjectMissing` if it is in neither the loose store nor a pack,
   * `CorruptObject` if it cannot be read back. Either error names the object and this repository.
   */
  async read(oid: string): Promise<ReadObject> {
    const known = this.justVerified?.get(oid);
    if (known) { return known; }
    const cached = this.cache?.get(oid, this.looseFile(oid));
    if (cached) { return splitObject(oid, cached, this.gitdir, true); }
    let waitedForGc = false;
    for (let attempt = 1; ; attempt++) {
      // Loose first, then packs, then loose again: a concurrent `git gc` moves objects from one to the
      // other (into a pack, or out of a deleted pack when it loosens unreachable objects); it may run again
      // meanwhile, hence a few tries.
      let found: ReadObject | undefined;
      try {
        found = (await this.readLoose(oid)) ?? (await this.packs.read(oid)) ?? (await this.readLoose(oid));
      } catch (e) {
        if (DataKitError.is(e, 'CorruptObject') && e.message.includes(oid)) { throw e; }
        throw new DataKitError('CorruptObject', `The object ${oid} in ${this.gitdir} cannot be read: ${(e as Error).message}`);
      }
      if (found) {
        return found;
      }
      if (!this.patient && attempt >= 2) {
        throw new DataKitError('ObjectMissing', `The object ${oid} is missing from ${this.gitdir}.`);
      }
      if (attempt >= 5) {
        // A gc may have pruned an object whose save is about to write it again (see gcGuard.ts): once the
        // gc has finished, look a little longer before calling it missing.
        if (!waitedForGc && runningGcSince(this.gitdir) !== undefined) {
          waitedForGc = true;
          await afterConcurrentGc(this.gitdir, Date.now(), () => 0);
          attempt = -5;
          continue;
        }
        throw new DataKitError('ObjectMissing', `The object ${oid} is missing from ${this.gitdir}.`);
      }
      await new Promise((r) => setTimeout(r, Math.max(1, attempt) * 10));
    }
  }

  /**
   * Reads the object back and checks that it hashes to its id: a truncated, zeroed or altered object (loose
   * or packed) is `CorruptObject`, a missing one `ObjectMissing`. Objects never change, so one that passed
   * is not read again by this store.
   */
  async verify(oid: string): Promise<void> {
    if (this.verified.has(oid)) { return; }
    try {
      const o = await this.read(oid);
      // A loose object's inflated bytes are what its id hashes; a packed one's header is made up.
      const actual = o.checked ? oid : o.hashed ? sha1(o.hashed) : createHash('sha1').update(`${o.type} ${o.content.length}\0`).update(o.content).digest('hex');
      if (actual !== oid) {
        throw new DataKitError('CorruptObject', `The object ${oid} in ${this.gitdir} is corrupt: its content hashes to ${actual}.`);
      }
      this.passed(oid, o);
    } catch (e) {
      // A damaged loose file is of no use to anyone (git cannot read it either) and would keep failing
      // `git fsck`: it goes, and the same content written again later is whole.
      this.cache?.forget(oid);
      if (DataKitError.is(e, 'CorruptObject') && await this.removeLooseIfDamaged(oid)) {
        throw new DataKitError('CorruptObject', `${e.message} The damaged loose object was removed.`);
      }
      throw e;
    }
  }

  /**
   * `verify` decided at once, where nothing needs waiting for: true when the object passed before, or when
   * the cache of objects read serves it (its `get` hashes the bytes to the id and finds the loose file
   * unchanged: all that `verify` checks of such an object); false when `verify` must read it (not cached,
   * packed, changed or damaged since). A cached build checks every object of every result: most are cached.
   */
  verifiedNow(oid: string): boolean {
    if (this.verified.has(oid)) { return true; }
    const raw = this.cache?.get(oid, this.looseFile(oid));
    if (!raw) { return false; }
    let o: ReadObject;
    try {
      o = splitObject(oid, raw, this.gitdir, true);
    } catch {
      return false; // `verify` reads it again, and says what is wrong with it
    }
    this.passed(oid, o);
    return true;
  }

  private passed(oid: string, o: ReadObject): void {
    (this.justVerified ??= new RecentObjects(1 << 20, 64 << 10)).add(oid, o);
    if (this.verified.size >= 20_000) { this.verified.clear(); }
    this.verified.add(oid);
  }

  /** Removes the loose file of `oid` if it is there and is itself what cannot be read; whether it did. */
  private async removeLooseIfDamaged(oid: string): Promise<boolean> {
    const file = looseFile(this.objectsDir, oid);
    try {
      const raw = zlib().inflateSync(await fsp.readFile(file));
      if (sha1(raw) === oid) { return false; }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') { return false; }
    }
    try {
      await fsp.unlink(file);
      return true;
    } catch {
      return false;
    }
  }

  readTree(oid: string): Promise<Tree> {
    return this.readParsed(this.trees(), oid, 'tree', parseTree);
  }

  readCommit(oid: string): Promise<CommitInfo> {
    return this.readParsed(this.commits(), oid, 'commit', parseCommit);
  }

  /** The parsed tree without waiting, when it was parsed before or its object just verified; else undefined. */
  treeNow(oid: string): Tree | undefined {
    return this.parsedNow(this.trees(), oid, 'tree', parseTree);
  }

  /** The parsed commit without waiting (as treeNow). */
  commitNow(oid: string): CommitInfo | undefined {
    return this.parsedNow(this.commits(), oid, 'commit', parseCommit);
  }

  /** What readParsed gives, when it is at hand; undefined (readParsed then reads it, or says what is wrong) otherwise. */
  private parsedNow<T extends object>(cache: LRUCache<string, T>, oid: string, type: string, parse: (content: Buffer) => T): T | undefined {
    const value = cache.get(oid);
    if (value !== undefined) { return value; }
    const o = this.justVerified?.get(oid);
    if (o === undefined || o.type !== type) { return undefined; }
    const parsed = parse(o.content);
    cache.set(oid, parsed);
    return parsed;
  }

  /** Objects never change, so a parsed tree or commit is kept by id. */
  private async readParsed<T extends object>(cache: LRUCache<string, T>, oid: string, type: string, parse: (content: Buffer) => T): Promise<T> {
    let value = cache.get(oid);
    if (value === undefined) {
      value = parse(await this.readTyped(oid, type));
      cache.set(oid, value);
    }
    return value;
  }

  async writeBlob(data: Uint8Array, journal?: Journal): Promise<string> {
    const oid = await writeLooseObject(this.gitdir, 'blob', data);
    journal?.set(oid, { type: 'blob', content: data });
    return oid;
  }

  /** Whether the object is here, loose or packed (nothing is read but a directory entry and pack indexes). */
  has(oid: string): boolean {
    return fs.existsSync(looseFile(this.objectsDir, oid)) || this.packs.has(oid);
  }

  /**
   * Writes again, loose, every object of the journal that is no longer here (a `git prune` that walked the
   * refs before our ref moved deletes what was not yet reachable). Returns how many were written.
   */
  async restore(journal: Journal): Promise<number> {
    let restored = 0;
    for (const [oid, { type, content }] of journal) {
      if (this.has(oid)) { continue; }
      await writeLooseObject(this.gitdir, type, content);
      restored++;
    }
    return restored;
  }

  // What is written is remembered as read: the next commit on the entry starts from it.
  async writeTree(entries: ReadonlyMap<string, TreeEntry>, journal?: Journal): Promise<string> {
    const content = formatTree(entries);
    const oid = await writeLooseObject(this.gitdir, 'tree', content);
    this.trees().set(oid, new Map(entries));
    journal?.set(oid, { type: 'tree', content });
    return oid;
  }

  /**
   * `started` becomes the author time, `finished` the committer time. Signed (a `gpgsig` header, as `git commit
   * -S` writes it) when a signer is set: see `signer`.
   */
  async writeCommit(tree: string, parents: readonly string[], message: string, started: Date, finished: Date, journal?: Journal): Promise<string> {
    const payload = formatCommit(tree, parents, message, started, finished);
    const signature = this.signer ? await this.signer(payload) : undefined;
    const content = signature === undefined ? payload : withSignature(payload, signature);
    const oid = await writeLooseObject(this.gitdir, 'commit', content);
    journal?.set(oid, { type: 'commit', content });
    const full = message.endsWith('\n') ? message : `${message}\n`;
    const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
    this.commits().set(oid, { tree, parents: [...parents], message: full, authorTime: seconds(started), time: seconds(finished) });
    return oid;
  }

  private async readTyped(oid: string, type: string): Promise<Buffer> {
    const o = await this.read(oid);
    if (o.type !== type) {
      throw new DataKitError('CorruptObject', `The object ${oid} is a ${o.type}, not a ${type}.`);
    }
    return o.content;
  }

  /**
   * looseFile's name, joined as text: `objectsDir` is path.join's (normalised, no trailing separator), so
   * path.join would only normalise the whole name again, for every object a cached build checks.
   */
  private looseFile(oid: string): string {
    return `${this.objectsDir}${path.sep}${oid.slice(0, 2)}${path.sep}${oid.slice(2)}`;
  }

  private async readLoose(oid: string): Promise<ReadObject | undefined> {
    const file = this.looseFile(oid);
    let deflated: Buffer;
    let stamp: FileStamp | undefined;
    try {
      // Synchronous: a loose object is a few KB (a streamed log a few MB at most), and each await of an
      // asynchronous read is four round trips through libuv's thread pool (open, fstat, read, close).
      if (this.cache) { [deflated, stamp] = readWithStamp(file); } else { deflated = fs.readFileSync(file); }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        return undefined;
      }
      throw e;
    }
    let raw: Buffer;
    try {
      raw = deflated.length > CHUNK ? await inflateAsync(deflated) : zlib().inflateSync(deflated, deflated.length < SMALL_DEFLATED ? SMALL_INFLATE : undefined);
    } catch (e) {
      throw new DataKitError('CorruptObject', `The loose object ${oid} in ${this.gitdir} is corrupt: ${(e as Error).message}.`);
    }
    const o = splitObject(oid, raw, this.gitdir);
    // Kept only once its bytes hash to its id: the cache never holds what a read would refuse.
    if (stamp && raw.length <= MAX_CACHED_OBJECT && sha1(raw) === oid) {
      this.cache!.add(oid, raw, stamp);
      return { ...o, checked: true };
    }
    return o;
  }
}

/**
 * A loose object's inflated bytes (`<type> <size>\0<content>`) as type and content; `CorruptObject` if they do
 * not parse. `checked`: the bytes were just hashed to `oid` (see ReadObject).
 */
function splitObject(oid: string, raw: Buffer, gitdir: string, checked?: true): ReadObject {
  const nul = raw.indexOf(0);
  const [type, size] = raw.toString('latin1', 0, nul).split(' ');
  const content = raw.subarray(nul + 1);
  if (nul < 0 || Number(size) !== content.length) {
    throw new DataKitError('CorruptObject', `The loose object ${oid} in ${gitdir} is corrupt.`);
  }
  return checked ? { type, content, hashed: raw, checked } : { type, content, hashed: raw };
}

/**
 * The objects read last, up to a total size, the oldest dropped first: what is read again soon after being
 * checked. A Map in insertion order; an LRU cache's bookkeeping cost more than the rest of adding an object
 * that is read once more at most.
 */
class RecentObjects {
  private readonly items = new Map<string, ReadObject>();
  private bytes = 0;

  constructor(private readonly maxBytes: number, private readonly maxEntryBytes: number) {}

  get(oid: string): ReadObject | undefined {
    return this.items.get(oid);
  }

  add(oid: string, o: ReadObject): void {
    const size = Math.max(1, o.content.length);
    if (size > this.maxEntryBytes || this.items.has(oid)) { return; }
    this.items.set(oid, o);
    this.bytes += size;
    // Looked through only when over the bound: an iterator made on every add was garbage of every object read.
    if (this.bytes <= this.maxBytes) { return; }
    for (const [old, kept] of this.items) {
      if (this.bytes <= this.maxBytes) { break; }
      this.items.delete(old);
      this.bytes -= Math.max(1, kept.content.length);
    }
  }
}
