// The `.pack` files that one read of a packed object has open, and their entries read and inflated: the
// header at the entry's offset, then as much of the zlib stream as its announced size can take.
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { inflateAsync, zlib } from '../../shared/lazy';
import { parseEntryHeader, type EntryHeader } from './packFormat';
import { readExact, type PackIndex } from './packIndex';

/** Read ahead at an entry's offset: its header and, for most entries, all of its data. */
const HEAD_WINDOW = 4096;
/** Inflated off the event loop above this many compressed bytes, as loose objects are (objects.ts). */
const ASYNC_INFLATE = 256 << 10;

export interface Pack {
  /** `pack-<checksum>`: the `.idx` and `.pack` without extension. */
  readonly name: string;
  index?: PackIndex;
  /** The `.pack` file's size, known once it was checked against the index. */
  size?: number;
}


/** The pack files one read has open, closed when it ends. */
export class OpenFiles {
  private readonly fds = new Map<string, { fd: number; size: number }>();

  constructor(private readonly packDir: string) {}

  /** The entry at `offset` of `pack`: its header and its inflated data. */
  async entry(pack: Pack, offset: number): Promise<{ header: EntryHeader; data: Buffer }> {
    const { fd, size } = this.open(pack);
    const file = `${pack.name}.pack`;
    const end = size - 20; // the trailer
    if (offset < 12 || offset >= end) {
      throw new DataKitError('CorruptObject', `An offset ${offset} is outside the pack file ${file}.`);
    }
    const head = readExact(fd, offset, Math.min(HEAD_WINDOW, end - offset), file);
    const header = parseEntryHeader(head, offset);
    if (!header) {
      throw new DataKitError('CorruptObject', `The entry at ${offset} of the pack file ${file} is truncated.`);
    }
    const start = offset + header.length;
    // zlib's own bound on a deflated size, with room to spare: the window then holds the whole stream.
    let window = Math.min(end - start, header.size + (header.size >> 3) + 64);
    for (;;) {
      const compressed = header.length + window <= head.length ? head.subarray(header.length, header.length + window) : readExact(fd, start, window, file);
      try {
        return { header, data: await inflate(compressed, header.size) };
      } catch (e) {
        // Another deflater may have written a longer stream than zlib's bound: read more.
        if ((e as { code?: string }).code !== 'Z_BUF_ERROR' || window >= end - start) {
          throw new DataKitError('CorruptObject', `The entry at ${offset} of the pack file ${file} does not inflate: ${(e as Error).message}`);
        }
        window = Math.min(end - start, window * 2);
      }
    }
  }

  close(): void {
    for (const { fd } of this.fds.values()) {
      fs.closeSync(fd);
    }
    this.fds.clear();
  }

  private open(pack: Pack): { fd: number; size: number } {
    let f = this.fds.get(pack.name);
    if (!f) {
      try {
        const fd = fs.openSync(path.join(this.packDir, `${pack.name}.pack`), 'r');
        f = { fd, size: pack.size ?? fs.fstatSync(fd).size };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new DataKitError('PackVanished', `The pack ${pack.name} was removed while it was read (git gc replaced it)`, { pack: pack.name });
        }
        throw e;
      }
      this.fds.set(pack.name, f);
    }
    return f;
  }
}

/** Inflates `compressed` (which may go on past the zlib stream) into exactly `size` bytes. */
async function inflate(compressed: Buffer, size: number): Promise<Buffer> {
  const options = { maxOutputLength: Math.max(size, 1) };
  const out = compressed.length > ASYNC_INFLATE ? await inflateAsync(compressed, options) : zlib().inflateSync(compressed, options);
  if (out.length !== size) {
    throw new DataKitError('CorruptObject', `${out.length} bytes instead of ${size}`);
  }
  return out;
}
