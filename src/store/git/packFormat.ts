// git's pack formats: the header of an entry in a `.pack` file, and the delta instructions that rebuild an
// object from its base.
import { DataKitError } from '../../shared/errors';

export const OBJ_OFS_DELTA = 6;
export const OBJ_REF_DELTA = 7;
/** Pack type numbers of whole objects. */
export const TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };

export interface EntryHeader {
  readonly type: number;
  /** The inflated size: of the object, or of the delta for a delta entry. */
  readonly size: number;
  /** How many bytes of header precede the zlib data. */
  readonly length: number;
  /** OBJ_OFS_DELTA: where the base entry starts in the same pack. */
  readonly baseOffset?: number;
  /** OBJ_REF_DELTA: the base's id. */
  readonly baseOid?: string;
}

/** Parses the header of the entry at pack offset `offset`, whose first bytes are `buf`; undefined if `buf` is too short. */
export function parseEntryHeader(buf: Buffer, offset: number): EntryHeader | undefined {
  let i = 0;
  let c = buf[i++];
  if (c === undefined) {
    return undefined;
  }
  const type = (c >> 4) & 7;
  let size = c & 15;
  for (let shift = 16; c & 0x80; shift *= 128) {
    c = buf[i++];
    if (c === undefined) {
      return undefined;
    }
    size += (c & 0x7f) * shift;
  }
  if (!Number.isSafeInteger(size)) {
    throw corrupt(`the entry at ${offset} claims a size too large`);
  }
  if (type === OBJ_OFS_DELTA) {
    // Big-endian groups of 7 bits, each continuation adding one so that no two encodings are equal.
    c = buf[i++];
    if (c === undefined) {
      return undefined;
    }
    let back = c & 0x7f;
    while (c & 0x80) {
      c = buf[i++];
      if (c === undefined) {
        return undefined;
      }
      back = (back + 1) * 128 + (c & 0x7f);
    }
    if (back <= 0 || back > offset) {
      throw corrupt(`the delta at ${offset} has its base at ${offset - back}`);
    }
    return { type, size, length: i, baseOffset: offset - back };
  }
  if (type === OBJ_REF_DELTA) {
    if (buf.length < i + 20) {
      return undefined;
    }
    return { type, size, length: i + 20, baseOid: buf.toString('hex', i, i + 20) };
  }
  if (!TYPE_NAMES[type]) {
    throw corrupt(`the entry at ${offset} has type ${type}`);
  }
  return { type, size, length: i };
}

/** The object that `delta` (git's format: base size, result size, then copy and insert instructions) makes of `base`. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      const c = delta[i++];
      if (c === undefined) {
        throw corrupt('a delta is truncated');
      }
      v += (c & 0x7f) * shift;
      if (!(c & 0x80)) {
        return v;
      }
    }
  };
  const baseSize = varint();
  if (baseSize !== base.length) {
    throw corrupt(`a delta expects a base of ${baseSize} bytes, not ${base.length}`);
  }
  const out = Buffer.allocUnsafe(varint());
  let o = 0;
  while (i < delta.length) {
    const op = delta[i++];
    if (op & 0x80) {
      // Copy from the base: which offset and size bytes follow is said by the op's low 7 bits.
      let from = 0;
      let size = 0;
      for (let b = 0; b < 4; b++) {
        if (op & (1 << b)) {
          from += delta[i++] * 2 ** (8 * b);
        }
      }
      for (let b = 0; b < 3; b++) {
        if (op & (0x10 << b)) {
          size += delta[i++] * 2 ** (8 * b);
        }
      }
      size ||= 0x10000;
      if (i > delta.length || from + size > base.length || o + size > out.length) {
        throw corrupt('a delta copies from outside its base or past its result');
      }
      base.copy(out, o, from, from + size);
      o += size;
    } else if (op !== 0) {
      if (i + op > delta.length || o + op > out.length) {
        throw corrupt('a delta inserts past its end or past its result');
      }
      delta.copy(out, o, i, i + op);
      i += op;
      o += op;
    } else {
      throw corrupt('a delta holds the reserved instruction 0');
    }
  }
  if (o !== out.length) {
    throw corrupt(`a delta makes ${o} bytes, not the ${out.length} it announces`);
  }
  return out;
}

function corrupt(why: string): DataKitError {
  return new DataKitError('CorruptObject', `A pack is corrupt: ${why}.`);
}
