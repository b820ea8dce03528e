// The file of the cache of objects read (`info/object-cache`, see objectCache.ts): written here, read here.
//
// It holds up to 4 MiB of objects, those a build used last first. A cached build asks it for a few hundred
// of them, so it is read by id, not record by record: a table of record offsets, open addressing on the first
// four bytes of the id (a SHA-1's bytes are uniform), finds one record with a probe or two. Each slot also holds
// those four bytes, so a probe passes another id's slot without reading its record (which may lie past the
// start read: see below); version 2 had offsets only, and an object not cached (a log over 64 KiB) read the
// whole file when its probe met a record written long ago. Parsing every
// record into a map, as the first version of the file did, cost a cached build time in proportion to the
// history kept (a 1.9 MiB file, 3,500 records: +6 ms on a 50-job build).
//
//   "DKCI-OBJECTS 3\n"  count u32  length u32  slots u32   the header (the length is the file's own)
//   slots × (u32, u32)                                     each a record's offset (0 for none) and its id's first four bytes
//   records: id (20 bytes), inode, size, change time (3 × f64), length u32, the bytes
//
// Nothing read from it is trusted beyond bounds: a record is used only if it is where the table says, names
// the id asked for and lies within the file; its bytes are then hashed to that id by the cache.
//
// Only its start is read at first (FIRST_BYTES: the header, the table and the records used last, which are
// written first); the rest is read when a record past it is asked for. A full file is 4 MiB, and a cached
// build whose objects are all near its start paid ~3 ms to read the whole of it.

import fs = require('node:fs');

/** What a loose file looked like when its object was cached. */
export interface FileStamp { readonly ino: number; readonly size: number; readonly ctimeMs: number }

const MAGIC = Buffer.from('DKCI-OBJECTS 3\n');
/** What every version of the file starts with: an earlier version's file is replaced without a word. */
const ANY_VERSION = Buffer.from('DKCI-OBJECTS ');
const HEADER = MAGIC.length + 12;
/** A slot of the table: a record's offset (little-endian), its id's first four bytes (as the id reads). */
const SLOT = 8;
/** A record's head: the id, the stamp (inode, size, change time), the length of its bytes. */
const RECORD_HEAD = 20 + 24 + 4;
/** Objects larger than this are not kept (a long log): reading them again costs little beside their size. */
export const MAX_CACHED_OBJECT = 64 << 10;
/** How much of the file is read at first: a cached build of 200 jobs uses ~400 KiB of records (about 1,300). */
export const FIRST_BYTES = 1 << 20;

/** A record read back: its bytes (a view of the file's) and its stamp. */
export interface FileRecord { readonly offset: number; readonly raw: Buffer; readonly stamp: FileStamp }

/** A record to write: the id in hex, the stamp, the bytes. */
export interface NewRecord { readonly oid: string; readonly stamp: FileStamp; readonly raw: Buffer }

export class CacheFile {
  private constructor(private data: Buffer, private readonly length: number, private readonly slots: number, private readonly recordsAt: number,
    private rest: (() => Buffer | undefined) | undefined) {}

  /**
   * The file's table, or what is wrong with it; null for an earlier version's file (to be replaced). `data` is
   * the file, or its first bytes of `size` in all; `rest` then reads the whole file when a record past them is
   * asked for (undefined when it can no longer be read as it was: replaced since, its records are not found).
   */
  static parse(data: Buffer, size = data.length, rest?: () => Buffer | undefined): CacheFile | string | null {
    if (!data.subarray(0, MAGIC.length).equals(MAGIC)) {
      return data.subarray(0, ANY_VERSION.length).equals(ANY_VERSION) ? null : 'it does not start as this version writes it';
    }
    if (size < HEADER) { return `it is cut short at byte ${size} of its header`; }
    const count = data.readUInt32LE(MAGIC.length);
    const length = data.readUInt32LE(MAGIC.length + 4);
    const slots = data.readUInt32LE(MAGIC.length + 8);
    if (length !== size) { return `it is cut short at byte ${size} of ${length}`; }
    if (slots === 0 || (slots & (slots - 1)) !== 0 || slots < count || HEADER + slots * SLOT > length) { return `its table of ${slots} slots for ${count} records does not fit`; }
    return new CacheFile(data, length, slots, HEADER + slots * SLOT, data.length < length ? rest : undefined);
  }

  /** The bytes of the file held in memory (its start, or all of it). */
  get bytes(): number {
    return this.data.length;
  }

  /** Whether the file's bytes up to `end` are at hand: the rest is read (once) when they lie past its start. */
  private has(end: number): boolean {
    if (end <= this.data.length) { return true; }
    const whole = this.rest?.();
    this.rest = undefined;
    if (whole?.length === this.length) { this.data = whole; }
    return end <= this.data.length;
  }

  /** The record of `oid` (40 hex digits), undefined when the file has none, or what is wrong with it. */
  find(oid: string): FileRecord | undefined | string {
    const mask = this.slots - 1;
    const start = parseInt(oid.slice(0, 8), 16);
    for (let slot = start & mask, probes = 0; probes < this.slots; slot = (slot + 1) & mask, probes++) {
      if (!this.has(HEADER + slot * SLOT + SLOT)) { return undefined; }
      const offset = this.data.readUInt32LE(HEADER + slot * SLOT);
      if (offset === 0) { return undefined; }
      if (this.data.readUInt32BE(HEADER + slot * SLOT + 4) !== start) { continue; }
      if (offset < this.recordsAt || offset + RECORD_HEAD > this.length) { return `its table points past its records (slot ${slot})`; }
      if (!this.has(offset + RECORD_HEAD)) { return undefined; }
      if (this.data.toString('hex', offset, offset + 20) === oid) { return this.record(offset); }
    }
    return undefined;
  }

  /** Every record, in the order written (the most recently used first); those that can be read still, once the file was replaced. */
  *records(): Generator<FileRecord | string> {
    for (let offset = this.recordsAt; offset < this.length;) {
      if (!this.has(offset + RECORD_HEAD)) { return; }
      const r = this.record(offset);
      if (r === undefined) { return; }
      yield r;
      if (typeof r === 'string') { return; }
      offset += RECORD_HEAD + r.raw.length;
    }
  }

  /** A record of this file as it holds it (copied into the next file as it is). */
  bytesOf(r: FileRecord): Buffer {
    return this.data.subarray(r.offset, r.offset + RECORD_HEAD + r.raw.length);
  }

  /** The record at `offset`, whose head is at hand; undefined when its bytes cannot be read any more. */
  private record(offset: number): FileRecord | string | undefined {
    if (offset + RECORD_HEAD > this.length) { return `its record at byte ${offset} runs past the end`; }
    const length = this.data.readUInt32LE(offset + 44);
    if (length > MAX_CACHED_OBJECT || offset + RECORD_HEAD + length > this.length) { return `its record at byte ${offset} runs past the end`; }
    if (!this.has(offset + RECORD_HEAD + length)) { return undefined; }
    return {
      offset,
      raw: this.data.subarray(offset + RECORD_HEAD, offset + RECORD_HEAD + length),
      stamp: { ino: this.data.readDoubleLE(offset + 20), size: this.data.readDoubleLE(offset + 28), ctimeMs: this.data.readDoubleLE(offset + 36) },
    };
  }
}

/**
 * A file's first `max` bytes (all of it by default) and what its stat said when it was opened (what readFileSync
 * does, keeping the stat): its size is the whole file's.
 */
export function readWithStamp(file: string, max = Infinity): [Buffer, FileStamp] {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const want = Math.min(st.size, max);
    const data = Buffer.allocUnsafe(want);
    let n = 0;
    while (n < want) {
      const got = fs.readSync(fd, data, n, want - n, n);
      if (got === 0) { break; }
      n += got;
    }
    return [n === want ? data : data.subarray(0, n), { ino: st.ino, size: st.size, ctimeMs: st.ctimeMs }];
  } finally {
    fs.closeSync(fd);
  }
}

/** A record's bytes as the file holds them. */
export function recordBytes(r: NewRecord): Buffer {
  const head = Buffer.alloc(RECORD_HEAD);
  head.write(r.oid, 0, 'hex');
  head.writeDoubleLE(r.stamp.ino, 20);
  head.writeDoubleLE(r.stamp.size, 28);
  head.writeDoubleLE(r.stamp.ctimeMs, 36);
  head.writeUInt32LE(r.raw.length, 44);
  return Buffer.concat([head, r.raw]);
}

/** The file holding `records` (each as `recordBytes` made it, or as a file held it), in this order. */
export function cacheFileBytes(records: readonly Buffer[]): Buffer {
  let slots = 1;
  while (slots < records.length * 2) { slots *= 2; }
  const recordsAt = HEADER + slots * SLOT;
  const length = recordsAt + records.reduce((n, r) => n + r.length, 0);
  const head = Buffer.alloc(recordsAt);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(records.length, MAGIC.length);
  head.writeUInt32LE(length, MAGIC.length + 4);
  head.writeUInt32LE(slots, MAGIC.length + 8);
  const mask = slots - 1;
  let offset = recordsAt;
  for (const r of records) {
    let slot = r.readUInt32BE(0) & mask;
    while (head.readUInt32LE(HEADER + slot * SLOT) !== 0) { slot = (slot + 1) & mask; }
    head.writeUInt32LE(offset, HEADER + slot * SLOT);
    head.writeUInt32BE(r.readUInt32BE(0), HEADER + slot * SLOT + 4);
    offset += r.length;
  }
  return Buffer.concat([head, ...records], length);
}
