// Loose objects already read, kept inflated in one file of the results repository (`info/object-cache`), so
// that a cached build reads one file instead of opening and inflating every object of every job's result
// (about 6.5 a job, each a file's open, read and close and a new zlib stream).
//
// Nothing in this file is trusted. An object is served from it only when
// * its bytes still hash to its id (the SHA-1 is computed on every use, as a read of the loose file is
//   checked): a damaged or forged cache cannot change what a result says, it can only fail the check;
// * its loose file is still there and unchanged since it was read (device inode, size and change time, as
//   git's index trusts a file's stat): a loose object truncated, zeroed, rewritten or deleted after it was
//   cached is read from its file again, and found damaged there as before.
// A cache whose records do not parse, or one record that does not hash to its id, makes the whole file
// count as absent: said once (`onWarning`), and rewritten from what is read. The file's format, read by id
// without parsing every record, is objectCacheFile.ts's.
import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');
import { CacheFile, cacheFileBytes, FIRST_BYTES, MAX_CACHED_OBJECT, readWithStamp, recordBytes, type FileStamp } from './objectCacheFile';

export { MAX_CACHED_OBJECT, readWithStamp, type FileStamp } from './objectCacheFile';

/** An object held: its bytes and stamp, and whether they are a view of the file read (not counted again in memory). */
interface Cached { readonly raw: Buffer; readonly stamp: FileStamp; readonly inFile?: true }

/** The file's bound, and that of the objects held in memory beside the file read: the objects used last are kept first. */
const MAX_BYTES = 4 << 20;

/** SHA-1 in hex of bytes already whole in memory: one call where Node has crypto.hash (20.12), no Hash object. */
export const sha1 = typeof crypto.hash === 'function'
  ? (data: Uint8Array): string => crypto.hash('sha1', data, 'hex')
  : (data: Uint8Array): string => crypto.createHash('sha1').update(data).digest('hex');

/** Whether a file is as it was (a stat, or a stamp taken from one: inode, size, change time). */
const sameStamp = (a: FileStamp, b: FileStamp): boolean => a.ino === b.ino && a.size === b.size && a.ctimeMs === b.ctimeMs;

export class ObjectCache {
  readonly file: string;
  /** The file as read (undefined: not yet; null: none, or not used). */
  private read: CacheFile | null | undefined;
  /** The objects this process used, added, or took from the file. */
  private readonly items = new Map<string, Cached>();
  /** The offsets of the file's records taken into `items` or forgotten: not written again from the file. */
  private readonly taken = new Set<number>();
  /** The bytes of the objects in `items` not in the file read: held in memory within the bound (the extension keeps a store open for hours). */
  private held = 0;
  /** Used or added in this process, in order: first in the file written next. */
  private readonly used = new Set<string>();
  private dirty = false;
  private flushing: NodeJS.Timeout | undefined;
  /** Counts for tests and benchmarks: objects served from the cache, and records found unusable. */
  readonly counts = { hits: 0, stale: 0 };

  /** How many bytes of objects this cache holds in memory: its own, and what was read of the file (at most 4 MiB each). */
  get heldBytes(): number {
    return this.held + (this.read ? this.read.bytes : 0);
  }

  /** `writable`: false for a store opened to read only (the file is read, never written). */
  constructor(gitdir: string, private readonly writable: boolean, private readonly onWarning?: (message: string) => void) {
    this.file = path.join(gitdir, 'info', 'object-cache');
  }

  /**
   * The inflated object (`<type> <size>\0<content>`) of `oid` whose loose file is `looseFile`; undefined
   * when not cached, or when the file changed since (then forgotten, and read as usual by the caller).
   */
  get(oid: string, looseFile: string): Buffer | undefined {
    const c = this.items.get(oid) ?? this.fromFile(oid);
    if (!c) { return undefined; }
    const st = fs.statSync(looseFile, { throwIfNoEntry: false });
    if (!st || !sameStamp(c.stamp, st)) {
      this.forget(oid);
      this.counts.stale++;
      return undefined;
    }
    if (sha1(c.raw) !== oid) {
      this.discard(`its copy of the object ${oid} does not hash to its id`);
      return undefined;
    }
    this.counts.hits++;
    this.touch(oid);
    return c.raw;
  }

  /** The object's record in the file read, taken into `items`; undefined when it has none (or is found damaged: said). */
  private fromFile(oid: string): Cached | undefined {
    const file = this.load();
    const r = file?.find(oid);
    if (typeof r === 'string') { this.discard(r); return undefined; }
    if (r === undefined || this.taken.has(r.offset)) { return undefined; }
    const c: Cached = { raw: r.raw, stamp: r.stamp, inFile: true };
    this.taken.add(r.offset);
    this.items.set(oid, c);
    return c;
  }

  /** Keeps an object just read from its loose file and checked (the stamp taken when the file was opened). */
  add(oid: string, raw: Buffer, stamp: FileStamp): void {
    if (!this.writable || raw.length > MAX_CACHED_OBJECT) { return; }
    this.forget(oid);
    this.items.set(oid, { raw, stamp });
    this.held += raw.length;
    this.touch(oid);
    this.trim(oid);
    this.schedule();
  }

  /** Drops the objects of its own kept longest (those not used in this process first) until the rest fit the bound. */
  private trim(keep: string): void {
    for (const spareUsed of [true, false]) {
      for (const [oid, c] of this.items) {
        if (this.held <= MAX_BYTES) { return; }
        if (c.inFile || oid === keep || (spareUsed && this.used.has(oid))) { continue; }
        this.items.delete(oid);
        this.used.delete(oid);
        this.held -= c.raw.length;
      }
    }
  }

  /** Drops an object whose file was found changed or damaged. */
  forget(oid: string): void {
    const c = this.items.get(oid) ?? this.fromFile(oid);
    if (!c) { return; }
    this.items.delete(oid);
    if (!c.inFile) { this.held -= c.raw.length; }
    this.used.delete(oid);
    this.schedule();
  }

  /** Writes the file now (temporary file, then rename); what cannot be written is said and skipped. */
  flush(): void {
    if (this.flushing) { clearTimeout(this.flushing); this.flushing = undefined; }
    if (!this.dirty || !this.writable) { return; }
    this.dirty = false;
    const records: Buffer[] = [];
    let bytes = 0;
    const put = (record: Buffer): boolean => {
      if (bytes + record.length > MAX_BYTES) { return false; }
      records.push(record);
      bytes += record.length;
      return true;
    };
    const mine = [...this.used, ...[...this.items.keys()].filter((k) => !this.used.has(k))];
    let room = mine.every((oid) => put(recordBytes({ oid, ...this.items.get(oid)! })));
    // Then what the file read held and this process did not touch, in its order, unread.
    for (const r of this.load()?.records() ?? []) {
      if (typeof r === 'string') {
        this.onWarning?.(`The cache of objects read ${this.file} is damaged (${r}): what it held past there is not kept.`);
        break;
      }
      if (!room) { break; }
      if (!this.taken.has(r.offset)) { room = put(this.read!.bytesOf(r)); }
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') { this.cannotWrite(e); return; }
    }
    try {
      fs.writeFileSync(tmp, cacheFileBytes(records));
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      this.cannotWrite(e);
    }
  }

  private cannotWrite(e: unknown): void {
    this.onWarning?.(`Could not write the cache of objects read ${this.file}: ${(e as Error).message}; the next build reads the objects again.`);
  }

  /** Used in this process: kept first when the file is next written (a hit alone writes nothing). */
  private touch(oid: string): void {
    this.used.add(oid);
  }

  /** Written once the current work yields (not per object): a build's lookups write the file once or twice. */
  private schedule(): void {
    this.dirty ||= this.writable;
    if (!this.dirty || this.flushing) { return; }
    this.flushing = setTimeout(() => { this.flushing = undefined; this.flush(); }, 20);
  }

  private discard(why: string): void {
    this.onWarning?.(`The cache of objects read ${this.file} is damaged (${why}): it is not used, and is written again from the objects themselves.`);
    // Only what this process checked stays: each object it served hashed to its id, each it added was read.
    this.read = null;
    for (const [oid, c] of [...this.items]) {
      if (!this.used.has(oid)) { this.items.delete(oid); if (!c.inFile) { this.held -= c.raw.length; } }
    }
    this.dirty = this.writable;
    this.schedule();
  }

  /** The file, read once; null when there is none or it cannot be used (said, unless it is an earlier version's: replaced). */
  private load(): CacheFile | null {
    if (this.read !== undefined) { return this.read; }
    this.read = null;
    let data: Buffer;
    let stamp: FileStamp;
    try {
      [data, stamp] = readWithStamp(this.file, FIRST_BYTES);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { this.discard(`it cannot be read: ${(e as Error).message}`); }
      return null;
    }
    const parsed = CacheFile.parse(data, stamp.size, () => this.readRest(stamp));
    if (typeof parsed === 'string') {
      this.discard(parsed);
    } else if (parsed === null) {
      this.dirty = this.writable;
    } else {
      this.read = parsed;
    }
    return this.read;
  }

  /**
   * The whole file, when a record past its start is asked for: undefined when it was replaced since its start
   * was read (another process wrote it anew: what it holds now is read at the next start) or cannot be read.
   */
  private readRest(first: FileStamp): Buffer | undefined {
    try {
      const [data, stamp] = readWithStamp(this.file);
      return sameStamp(stamp, first) ? data : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { this.onWarning?.(`The cache of objects read ${this.file} could not be read past its start: ${(e as Error).message}; the objects are read from their files.`); }
      return undefined;
    }
  }
}
