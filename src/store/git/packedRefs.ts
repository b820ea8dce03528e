// git's `packed-refs` file: parsed whole (to list refs), or searched in place when git marked it sorted, so
// that finding one ref among 10,000 reads a few 4 KB blocks instead of parsing 640 KB.
import { DataKitError } from '../../shared/errors';
import { isObjectId } from '../../shared/objectId';
import fs = require('node:fs');

const BLOCK = 4096;
const NL = 0x0a;
const PEELED = 0x5e; // `^`: the line gives the commit an annotated tag (the line above) points to

export interface PackedRef {
  readonly name: string;
  readonly oid: string;
}

/** Every ref of a packed-refs file's text (of a SHA-1 or a SHA-256 repository), by name. */
export function parsePackedRefs(text: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    // `#` starts the header, `^` a peeled tag's target.
    const sp = line.indexOf(' ');
    if (line[0] !== '#' && line[0] !== '^' && sp > 0 && sp + 1 < line.length && isObjectId(line.slice(0, sp))) {
      refs.set(line.slice(sp + 1).trimEnd(), line.slice(0, sp));
    }
  }
  return refs;
}

/** A sorted packed-refs file, read through `fd` (which the caller owns) a block at a time as a search needs. */
export class SortedPackedRefs {
  private readonly blocks = new Map<number, Buffer>();
  private start = 0;

  private constructor(private readonly fd: number, private readonly size: number) {}

  /** Undefined unless the header says `sorted` (git has written it since 2.14; without it order is not promised). */
  static open(fd: number, size: number): SortedPackedRefs | undefined {
    const file = new SortedPackedRefs(fd, size);
    if (size === 0) {
      return file;
    }
    if (file.byte(0) !== 0x23) {
      return undefined;
    }
    const end = file.lineEnd(0);
    const header = file.slice(0, end).toString('latin1');
    const traits = header.startsWith('# pack-refs with:') ? header.slice(17).trim().split(/\s+/) : [];
    if (!traits.includes('sorted')) {
      return undefined;
    }
    file.start = file.skipPeeled(end + 1);
    return file;
  }

  /** The id `ref` points to, or undefined if it is not packed. */
  get(ref: string): string | undefined {
    const r = this.seek(ref);
    return r?.name === ref ? r.oid : undefined;
  }

  /** The first ref at or after `key` in git's order (bytes), or undefined if none is. */
  seek(key: string): PackedRef | undefined {
    const want = Buffer.from(key, 'utf8');
    // Records before `lo` sort before `want`; none starts in [hi, where `best` starts).
    let lo = this.start;
    let hi = this.size;
    let best: PackedRef | undefined;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const p = mid === lo ? lo : this.skipPeeled(this.lineEnd(mid - 1) + 1);
      if (p >= hi) {
        hi = mid;
        continue;
      }
      const end = this.lineEnd(p);
      const line = this.slice(p, end);
      const sp = line.indexOf(0x20);
      if (sp < 0 || sp + 1 >= line.length || !isObjectId(line.toString('latin1', 0, sp))) {
        // A line that is not `<id> <ref>` in a file that claims git wrote it sorted: the caller parses it whole.
        throw new DataKitError('PackedRefsUnusable', 'packed-refs is not sorted as git writes it');
      }
      let nameEnd = line.length;
      while (nameEnd > sp + 1 && line[nameEnd - 1] <= 0x20) {
        nameEnd--;
      }
      const name = line.subarray(sp + 1, nameEnd);
      if (Buffer.compare(name, want) >= 0) {
        best = { name: name.toString('utf8'), oid: line.toString('latin1', 0, sp) };
        hi = p;
      } else {
        lo = this.skipPeeled(end + 1);
      }
    }
    return best;
  }

  /** `pos` if a record starts there, else the start of the first line after it that is not a peeled id. */
  private skipPeeled(pos: number): number {
    while (pos < this.size && this.byte(pos) === PEELED) {
      pos = this.lineEnd(pos) + 1;
    }
    return Math.min(pos, this.size);
  }

  /** Where the newline that ends the line holding `pos` is (the file's size if the last line has none). */
  private lineEnd(pos: number): number {
    for (let b = Math.floor(pos / BLOCK); b * BLOCK < this.size; b++) {
      const block = this.block(b);
      const i = block.indexOf(NL, Math.max(0, pos - b * BLOCK));
      if (i >= 0) {
        return b * BLOCK + i;
      }
    }
    return this.size;
  }

  private byte(pos: number): number {
    return this.block(Math.floor(pos / BLOCK))[pos % BLOCK];
  }

  private slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    for (let b = Math.floor(from / BLOCK); b * BLOCK < to; b++) {
      parts.push(this.block(b).subarray(Math.max(0, from - b * BLOCK), to - b * BLOCK));
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  private block(b: number): Buffer {
    let block = this.blocks.get(b);
    if (!block) {
      const length = Math.max(0, Math.min(BLOCK, this.size - b * BLOCK));
      block = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(this.fd, block, done, length - done, b * BLOCK + done);
        if (n === 0) {
          // Cannot happen to a file replaced by rename (git's way); a file truncated in place is not git's.
          throw new DataKitError('PackedRefsUnusable', 'packed-refs changed while it was read');
        }
        done += n;
      }
      this.blocks.set(b, block);
    }
    return block;
  }
}
