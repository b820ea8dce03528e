// Objects read from `objects/pack` in place: the id is looked up in each `.idx` (see packIndex.ts), the
// entry is read at its offset in the `.pack` and inflated, and deltas are applied to their bases. A lookup
// reads a few KB whatever the size of the pack; isomorphic-git reads and checksums the whole pack first (a
// fresh lookup among 10,000 packed results: 1.54 ms here, 107.59 ms with isomorphic-git; bench/store.bench.mjs part f).
//
// No file stays open between reads: a `git gc` may delete any pack at any time (git removes the `.pack`
// before its `.idx`), and a kept descriptor would pin a deleted pack on disk (and on Windows its name).
// What is kept is immutable: a pack's name is its checksum, so its index's fan-out table stays valid.
import fs = require('node:fs');
import path = require('node:path');
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../../shared/errors';
import { lazily } from '../../shared/lazy';
import { OpenFiles, type Pack } from './packFile';
import { OBJ_OFS_DELTA, TYPE_NAMES, applyDelta } from './packFormat';
import { PackIndex, readExact } from './packIndex';

export interface RawObject {
  readonly type: string;
  readonly content: Buffer;
}

/** git allows delta chains of at most 4095; more means a cycle of ref-deltas in a corrupt pack. */
const MAX_DEPTH = 5000;
/** Resolved delta bases kept, in bytes (git keeps 96 MiB); a base above a quarter of it is not kept. */
const BASE_CACHE_BYTES = 32 << 20;

interface Location {
  readonly pack: Pack;
  readonly offset: number;
}

export class PackReader {
  private packs: Pack[] = [];
  private known = new Map<string, Pack>();
  private dirStamp: string | undefined;
  // A base above a quarter of the budget is not kept: it would push out everything else.
  private readonly bases = lazily(() => new LRUCache<string, RawObject>({ maxSize: BASE_CACHE_BYTES, maxEntrySize: BASE_CACHE_BYTES / 4, sizeCalculation: (o) => Math.max(1, o.content.length) }));

  /** `readLoose` finds a ref-delta's base when no pack holds it. */
  constructor(readonly packDir: string, private readonly readLoose: (oid: string) => Promise<RawObject | undefined>) {}

  /**
   * `oid` from whichever pack holds it; undefined if none does (after listing the directory again), or if
   * its pack was deleted under us twice: a `git gc` may also have left it loose, which the caller checks.
   */
  async read(oid: string): Promise<RawObject | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const at = this.locate(oid, attempt > 0);
      if (!at) {
        return undefined;
      }
      const files = new OpenFiles(this.packDir);
      try {
        return await this.resolve(at, files);
      } catch (e) {
        if (!DataKitError.is(e, 'PackVanished')) {
          throw e;
        }
      } finally {
        files.close();
      }
    }
    return undefined;
  }

  /** Whether a pack holds `oid` (the directory listed again if it is not found). */
  has(oid: string): boolean {
    return this.locate(oid, false) !== undefined;
  }

  /** The pack and offset of `oid`; the directory is listed again when it changed or when `oid` is not found. */
  private locate(oid: string, rescan: boolean): Location | undefined {
    this.scan(rescan);
    const at = this.find(oid);
    if (at || rescan) {
      return at;
    }
    this.scan(true);
    return this.find(oid);
  }

  private find(oid: string, first?: Pack): Location | undefined {
    for (const pack of first ? [first, ...this.packs] : this.packs) {
      let offset: number | undefined;
      try {
        offset = this.indexOf(pack)?.find(oid);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw e;
        }
        // Deleted since it was listed: passed over, and the next miss lists the directory again.
      }
      if (offset !== undefined) {
        return { pack, offset };
      }
    }
    return undefined;
  }

  private indexOf(pack: Pack): PackIndex | undefined {
    if (!pack.index) {
      try {
        pack.index = PackIndex.open(path.join(this.packDir, `${pack.name}.idx`));
        pack.size = this.checkPair(pack.name, pack.index);
      } catch (e) {
        pack.index = undefined;
        throw e;
      }
    }
    return pack.index;
  }

  /** The pack's size, once its trailer is seen to match the index: never pair an index with another pack. */
  private checkPair(name: string, index: PackIndex): number {
    const file = path.join(this.packDir, `${name}.pack`);
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 32 || !readExact(fd, size - 20, 20, file).equals(index.packChecksum)) {
        throw new DataKitError('CorruptObject', `The pack file ${file} does not match its index.`);
      }
      return size;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Lists the packs when forced or when the directory changed; newest first, as git looks them up. */
  private scan(force: boolean): void {
    let stamp = '';
    try {
      const st = fs.statSync(this.packDir);
      stamp = `${st.mtimeMs}:${st.ino}`;
    } catch {
      // no pack directory: no packs
    }
    if (!force && stamp === this.dirStamp) {
      return;
    }
    this.dirStamp = stamp;
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.packDir);
    } catch {
      // as above
    }
    const present = new Set(names);
    const listed: { pack: Pack; mtime: number }[] = [];
    for (const n of names) {
      const name = n.slice(0, -4);
      if (n.startsWith('pack-') && n.endsWith('.idx') && present.has(`${name}.pack`)) {
        const mtime = fs.statSync(path.join(this.packDir, n), { throwIfNoEntry: false })?.mtimeMs;
        if (mtime !== undefined) {
          listed.push({ pack: this.known.get(name) ?? { name }, mtime });
        }
      }
    }
    this.packs = listed.sort((a, b) => b.mtime - a.mtime).map((p) => p.pack);
    this.known = new Map(this.packs.map((p) => [p.name, p]));
  }

  /** Follows the delta chain down from `top` to a whole object, then applies the deltas back up. */
  private async resolve(top: Location, files: OpenFiles): Promise<RawObject> {
    const deltas: { key: string; data: Buffer }[] = [];
    let at = top;
    let base: RawObject | undefined;
    for (let depth = 0; !base; depth++) {
      if (depth > MAX_DEPTH) {
        throw new DataKitError('CorruptObject', `A delta chain in ${this.packDir} is deeper than ${MAX_DEPTH}.`);
      }
      const key = `${at.pack.name}:${at.offset}`;
      const cached = this.bases().get(key);
      if (cached) {
        // The caller may keep (or change) what it gets: never hand out the cached buffer itself.
        base = depth === 0 ? { type: cached.type, content: Buffer.from(cached.content) } : cached;
        break;
      }
      const { header, data } = await files.entry(at.pack, at.offset);
      if (TYPE_NAMES[header.type]) {
        base = { type: TYPE_NAMES[header.type], content: data };
        if (depth > 0) {
          this.bases().set(key, base);
        }
        break;
      }
      deltas.push({ key, data });
      if (header.type === OBJ_OFS_DELTA) {
        at = { pack: at.pack, offset: header.baseOffset! };
        continue;
      }
      // A ref-delta's base is usually in the same pack; else in another pack, or loose.
      const oid = header.baseOid!;
      const next = this.find(oid, at.pack) ?? this.locate(oid, true);
      if (next) {
        at = next;
        continue;
      }
      base = await this.readLoose(oid);
      if (!base) {
        throw new DataKitError('ObjectMissing', `The base ${oid} of a delta in ${at.pack.name} is missing from ${this.packDir}.`);
      }
    }
    for (let i = deltas.length - 1; i >= 0; i--) {
      base = { type: base.type, content: applyDelta(base.content, deltas[i].data) };
      if (i > 0) {
        this.bases().set(deltas[i].key, base);
      }
    }
    return base;
  }
}
