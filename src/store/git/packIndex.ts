// A pack's `.idx` file, looked up in place: the fan-out table is kept (1 KB), and each lookup reads only the
// ids that share the wanted id's first byte and then the one offset it needs, so that the cost of a lookup
// does not grow with the size of the pack (isomorphic-git parses the whole index into hex strings first).
import fs = require('node:fs');
import { DataKitError } from '../../shared/errors';
import { isObjectId } from '../../shared/objectId';

const MAGIC = 0xff744f63; // "\377tOc", which no version 1 index can start with (it would be a fan-out count)
const FANOUT = 256 * 4;
const ID = 20;
/** Above this many bytes of candidate ids, bisect with one small read per step instead of reading them all. */
const RANGE_READ = 64 << 10;

export class PackIndex {
  private constructor(
    readonly file: string,
    readonly version: 1 | 2,
    readonly count: number,
    private readonly fanout: Uint32Array,
    /** The checksum of the pack this index describes, as its trailer records it. */
    readonly packChecksum: Buffer,
    private readonly largeOffsets: number,
  ) {}

  /** Reads the index's header and fan-out table; throws ENOENT as `fs` does if it is gone. */
  static open(file: string): PackIndex {
    return withFd(file, (fd) => {
      const size = fs.fstatSync(fd).size;
      const head = readExact(fd, 0, Math.min(size, 8 + FANOUT), file);
      const version = head.length >= 8 && head.readUInt32BE(0) === MAGIC ? head.readUInt32BE(4) : 1;
      if (version !== 1 && version !== 2) {
        throw corrupt(file, `version ${version} is not supported`);
      }
      const start = version === 2 ? 8 : 0;
      if (head.length < start + FANOUT) {
        throw corrupt(file, 'it is truncated');
      }
      const fanout = new Uint32Array(256);
      for (let i = 0; i < 256; i++) {
        fanout[i] = head.readUInt32BE(start + 4 * i);
        if (i > 0 && fanout[i] < fanout[i - 1]) {
          throw corrupt(file, 'its fan-out table is not sorted');
        }
      }
      const count = fanout[255];
      // v2: ids, CRCs, 4-byte offsets, then 8-byte offsets for objects past 2 GiB; v1: (offset, id) pairs.
      const fixed = version === 2 ? start + FANOUT + count * (ID + 8) : FANOUT + count * (4 + ID);
      const extra = size - fixed - 2 * ID;
      if (extra < 0 || (version === 1 && extra !== 0) || extra % 8 !== 0) {
        throw corrupt(file, `its size ${size} does not fit ${count} objects`);
      }
      const packChecksum = readExact(fd, size - 2 * ID, ID, file);
      return new PackIndex(file, version, count, fanout, packChecksum, extra / 8);
    });
  }

  /** The offset of `oid` in the pack, or undefined if the pack does not hold it. */
  find(oid: string): number | undefined {
    if (!isObjectId(oid, 'sha1')) { // 20-byte ids: the results repository's (SHA-1) layout
      return undefined;
    }
    const want = Buffer.from(oid, 'hex');
    let lo = want[0] === 0 ? 0 : this.fanout[want[0] - 1];
    let hi = this.fanout[want[0]];
    if (lo === hi) {
      return undefined;
    }
    return withFd(this.file, (fd) => {
      // Narrow with single-id reads only in a huge index (millions of objects); otherwise one read.
      while ((hi - lo) * this.stride > RANGE_READ) {
        const mid = (lo + hi) >>> 1;
        const c = Buffer.compare(readExact(fd, this.entryAt(mid) + this.idSkip, ID, this.file), want);
        if (c === 0) {
          return this.offsetAt(fd, mid);
        }
        [lo, hi] = c < 0 ? [mid + 1, hi] : [lo, mid];
      }
      const ids = readExact(fd, this.entryAt(lo), (hi - lo) * this.stride, this.file);
      const skip = this.idSkip;
      let a = 0;
      let b = hi - lo;
      while (a < b) {
        const mid = (a + b) >>> 1;
        const at = mid * this.stride + skip;
        const c = Buffer.compare(ids.subarray(at, at + ID), want);
        if (c === 0) {
          return this.version === 2 ? this.offsetAt(fd, lo + mid) : ids.readUInt32BE(mid * this.stride);
        }
        [a, b] = c < 0 ? [mid + 1, b] : [a, mid];
      }
      return undefined;
    });
  }

  private get stride(): number {
    return this.version === 2 ? ID : 4 + ID;
  }

  /** Where the `i`-th entry of the id table is: a v2 id, or a v1 (offset, id) pair. */
  private entryAt(i: number): number {
    return this.version === 2 ? 8 + FANOUT + i * ID : FANOUT + i * (4 + ID);
  }

  private get idSkip(): number {
    return this.version === 2 ? 0 : 4;
  }

  private offsetAt(fd: number, i: number): number {
    if (this.version === 1) {
      return readExact(fd, FANOUT + i * (4 + ID), 4, this.file).readUInt32BE(0);
    }
    const small = 8 + FANOUT + this.count * (ID + 4);
    const v = readExact(fd, small + 4 * i, 4, this.file).readUInt32BE(0);
    if (v < 0x80000000) {
      return v;
    }
    const k = v & 0x7fffffff;
    if (k >= this.largeOffsets) {
      throw corrupt(this.file, `large offset ${k} is past its table`);
    }
    const large = readExact(fd, small + 4 * this.count + 8 * k, 8, this.file);
    const offset = large.readUInt32BE(0) * 2 ** 32 + large.readUInt32BE(4);
    if (!Number.isSafeInteger(offset)) {
      throw corrupt(this.file, 'an offset is too large');
    }
    return offset;
  }
}

/** Reads exactly `length` bytes at `position`; a short read means the file is corrupt. */
export function readExact(fd: number, position: number, length: number, file: string): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      throw corrupt(file, `it ends before byte ${position + length}`);
    }
    done += n;
  }
  return buf;
}

function withFd<T>(file: string, use: (fd: number) => T): T {
  const fd = fs.openSync(file, 'r');
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function corrupt(file: string, why: string): DataKitError {
  return new DataKitError('CorruptObject', `The pack file ${file} is corrupt: ${why}.`);
}
