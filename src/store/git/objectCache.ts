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
// count as absent: said once (`onWarning`), and rewritten from what is read.
import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');

/** What a loose file looked like when its object was cached. */
export interface FileStamp { readonly ino: number; readonly size: number; readonly ctimeMs: number }

interface Cached { readonly raw: Buffer; readonly stamp: FileStamp }

const MAGIC = Buffer.from('DKCI-OBJECTS 1\n');
/** A record: the id (20 bytes), the stamp (inode, size, change time: 3 doubles), the length (u32), the bytes. */
const HEAD = 20 + 24 + 4;
/** Objects larger than this are not kept (a long log): reading them again costs little beside their size. */
export const MAX_CACHED_OBJECT = 64 << 10;
/** The file's bound: the objects used last are kept first. */
const MAX_BYTES = 4 << 20;

/** SHA-1 in hex of bytes already whole in memory: one call where Node has crypto.hash (20.12), no Hash object. */
export const sha1 = typeof crypto.hash === 'function'
  ? (data: Uint8Array): string => crypto.hash('sha1', data, 'hex')
  : (data: Uint8Array): string => crypto.createHash('sha1').update(data).digest('hex');

const sameStamp = (a: FileStamp, b: fs.Stats): boolean => a.ino === b.ino && a.size === b.size && a.ctimeMs === b.ctimeMs;

export class ObjectCache {
  readonly file: string;
  private items: Map<string, Cached> | undefined;
  /** The bytes of the objects in `items`: held in memory within the file's bound (the extension keeps a store open for hours). */
  private held = 0;
  /** Used or added in this process, in order: first in the file written next. */
  private readonly used = new Set<string>();
  private dirty = false;
  private flushing: NodeJS.Timeout | undefined;
  /** Counts for tests and benchmarks: objects served from the cache, and records found unusable. */
  readonly counts = { hits: 0, stale: 0 };

  /** How many bytes of objects this cache holds in memory (for tests and benchmarks). */
  get heldBytes(): number {
    return this.held;
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
    const c = this.load().get(oid);
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

  /** Keeps an object just read from its loose file and checked (the stamp taken when the file was opened). */
  add(oid: string, raw: Buffer, stamp: FileStamp): void {
    if (!this.writable || raw.length > MAX_CACHED_OBJECT) { return; }
    const items = this.load();
    this.held += raw.length - (items.get(oid)?.raw.length ?? 0);
    items.set(oid, { raw, stamp });
    this.touch(oid);
    this.trim(oid);
    this.schedule();
  }

  /** Drops the objects kept longest (those not used in this process first) until the rest fit the bound. */
  private trim(keep: string): void {
    const items = this.load();
    for (const spareUsed of [true, false]) {
      for (const [oid, c] of items) {
        if (this.held <= MAX_BYTES) { return; }
        if (oid === keep || (spareUsed && this.used.has(oid))) { continue; }
        items.delete(oid);
        this.used.delete(oid);
        this.held -= c.raw.length;
      }
    }
  }

  /** Drops an object whose file was found changed or damaged. */
  forget(oid: string): void {
    const items = this.load();
    const c = items.get(oid);
    if (!c) { return; }
    items.delete(oid);
    this.held -= c.raw.length;
    this.used.delete(oid);
    this.schedule();
  }

  /** Writes the file now (temporary file, then rename); what cannot be written is said and skipped. */
  flush(): void {
    if (this.flushing) { clearTimeout(this.flushing); this.flushing = undefined; }
    if (!this.dirty || !this.writable) { return; }
    this.dirty = false;
    const items = this.load();
    const order = [...this.used, ...[...items.keys()].filter((k) => !this.used.has(k))];
    const parts: Buffer[] = [MAGIC];
    let bytes = MAGIC.length;
    for (const oid of order) {
      const c = items.get(oid);
      if (!c) { continue; }
      if (bytes + HEAD + c.raw.length > MAX_BYTES) { break; }
      const head = Buffer.alloc(HEAD);
      head.write(oid, 0, 'hex');
      head.writeDoubleLE(c.stamp.ino, 20);
      head.writeDoubleLE(c.stamp.size, 28);
      head.writeDoubleLE(c.stamp.ctimeMs, 36);
      head.writeUInt32LE(c.raw.length, 44);
      parts.push(head, c.raw);
      bytes += HEAD + c.raw.length;
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') { this.cannotWrite(e); return; }
    }
    try {
      fs.writeFileSync(tmp, Buffer.concat(parts, bytes));
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
    const checked = new Map<string, Cached>();
    this.held = 0;
    for (const oid of this.used) {
      const c = this.items?.get(oid);
      if (c) { checked.set(oid, c); this.held += c.raw.length; }
    }
    this.items = checked;
    this.dirty = this.writable;
    this.schedule();
  }

  private load(): Map<string, Cached> {
    if (this.items) { return this.items; }
    this.items = new Map();
    let data: Buffer;
    try {
      data = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') { this.discard(`it cannot be read: ${(e as Error).message}`); }
      return this.items;
    }
    const parsed = parseCache(data);
    if (typeof parsed === 'string') {
      this.discard(parsed);
    } else {
      this.items = parsed;
      for (const c of parsed.values()) { this.held += c.raw.length; }
    }
    return this.items;
  }
}

/** The records of a cache file, or what is wrong with it. */
function parseCache(data: Buffer): Map<string, Cached> | string {
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) { return 'it does not start as this version writes it'; }
  const items = new Map<string, Cached>();
  let at = MAGIC.length;
  while (at < data.length) {
    if (at + HEAD > data.length) { return `it is cut short at byte ${at}`; }
    const oid = data.toString('hex', at, at + 20);
    const stamp = { ino: data.readDoubleLE(at + 20), size: data.readDoubleLE(at + 28), ctimeMs: data.readDoubleLE(at + 36) };
    const length = data.readUInt32LE(at + 44);
    if (length > MAX_CACHED_OBJECT || at + HEAD + length > data.length) { return `its record at byte ${at} runs past the end`; }
    items.set(oid, { raw: data.subarray(at + HEAD, at + HEAD + length), stamp });
    at += HEAD + length;
  }
  return items;
}
