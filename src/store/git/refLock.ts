// The results repository's refs: read as git stores them (a loose file, else packed-refs) and moved only
// by a compare-and-swap under git's own lockfile protocol, so that git, other windows and the CLI can
// share the repository.
//
// Not isomorphic-git's writeRef: it has no compare-and-swap and neither takes nor respects git's `.lock`
// files. Two processes saving 150 results each on one entry lost 234 of 300 updates with it, none with this
// (bench/store.bench.mjs part g). Nor its resolveRef / listRefs, which parse the whole packed-refs on every
// call (notes in bench/README.md; part f).
import fs = require('node:fs');
import { promises as fsp } from 'node:fs';
import path = require('node:path');
import { DataKitError, unlessMissing } from '../../shared/errors';
import { isObjectId } from '../../shared/objectId';
import { parsePackedRefs, SortedPackedRefs } from './packedRefs';

export { parsePackedRefs } from './packedRefs';

export interface RefsOptions {
  /** How long to wait for a `<ref>.lock` that someone else holds before failing with `RefLocked`. */
  lockTimeoutMs?: number;
  /** A `<ref>.lock` older than this was left by a writer that crashed: it is removed (default 30 s). */
  staleLockMs?: number;
  /** Told each time a stale lock is removed. */
  onWarning?: (message: string) => void;
}

const DEFAULT_STALE_LOCK_MS = 30_000;

export class Refs {
  private packedCache: { stamp: string; refs: ReadonlyMap<string, string> } | undefined;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  constructor(readonly gitdir: string, private readonly options: RefsOptions = {}) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5000;
    this.staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  }

  /**
   * Removes `<ref>.lock` if a writer that crashed left it (older than the stale age: git and this store hold
   * a ref's lock for milliseconds). Returns what was done, naming the file, or undefined if there was none.
   */
  removeStaleLock(ref: string): string | undefined {
    const lock = path.join(this.gitdir, `${ref}.lock`);
    let st: fs.Stats;
    try {
      st = fs.statSync(lock);
    } catch {
      return undefined;
    }
    const age = Date.now() - st.mtimeMs;
    if (age < this.staleLockMs) { return undefined; }
    try {
      fs.rmSync(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') { return undefined; }
      throw e;
    }
    const message = `Removed ${lock}: a lock left ${Math.round(age / 1000)} s ago by a writer that did not finish`;
    this.options.onWarning?.(message);
    return message;
  }

  /** The commit a ref points to, or undefined if there is no such ref. */
  async resolve(ref: string): Promise<string | undefined> {
    for (let depth = 0; depth < 5; depth++) {
      const text = readIfFile(path.join(this.gitdir, ref));
      if (text === undefined) {
        // Read after the loose file is found missing: `git pack-refs` writes packed-refs before it
        // deletes a loose ref, so a ref being packed is always in one or the other.
        return this.queryPacked((sorted) => sorted.get(ref), (refs) => refs.get(ref));
      }
      const value = text.trim();
      if (isObjectId(value, 'sha1')) { // the results repository's objects are SHA-1's (objects.ts)
        return value;
      }
      if (!value.startsWith('ref: ')) {
        throw new DataKitError('CorruptRef', `The ref ${ref} in ${this.gitdir} holds ${JSON.stringify(value)}, not a commit id.`);
      }
      ref = value.slice(5);
    }
    throw new DataKitError('CorruptRef', `The symbolic ref ${ref} in ${this.gitdir} is nested too deeply.`);
  }

  /**
   * What `packed()` would compare to know whether packed-refs changed, read synchronously (one stat): its
   * (mtime, size, inode), or undefined when there is none.
   */
  packedStamp(): string | undefined {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(path.join(this.gitdir, 'packed-refs'), { throwIfNoEntry: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') { throw e; }
    }
    return st && stampOf(st);
  }

  /** packed-refs, parsed again only when its (mtime, size, inode) changes: a rewrite is a rename. */
  async packed(): Promise<ReadonlyMap<string, string>> {
    const file = path.join(this.gitdir, 'packed-refs');
    const st = await unlessMissing(fsp.stat(file));
    if (!st) {
      this.packedCache = undefined;
      return new Map();
    }
    if (this.packedCache?.stamp === stampOf(st)) {
      return this.packedCache.refs;
    }
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw e;
      }
      // Deleted since the stat (every ref unpacked again): look once more.
      return this.packed();
    }
    try {
      // The stamp of the very file read, so that the cache never pairs a stamp with other content.
      const stamp = stampOf(await fh.stat());
      const refs = parsePackedRefs(await fh.readFile('utf8'));
      this.packedCache = { stamp, refs };
      return refs;
    } finally {
      await fh.close();
    }
  }

  /**
   * Asks packed-refs one question, in the file as it is now: by binary search when git marked it sorted,
   * else in the whole file parsed, which `packed()` keeps while the file's (mtime, size, inode) stays the
   * same. Synchronous reads of a few 4 KB blocks: cheaper than a round trip through libuv's thread pool.
   */
  private queryPacked<T>(sorted: (file: SortedPackedRefs) => T, whole: (refs: ReadonlyMap<string, string>) => T): T {
    const file = path.join(this.gitdir, 'packed-refs');
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw e;
      }
      this.packedCache = undefined;
      return whole(new Map());
    }
    try {
      // One descriptor for the stamp and the content: git replaces packed-refs by rename, so what this
      // descriptor reads is one version of the file whatever happens to the name meanwhile.
      const st = fs.fstatSync(fd);
      const stamp = stampOf(st);
      if (this.packedCache?.stamp === stamp) {
        return whole(this.packedCache.refs);
      }
      const search = SortedPackedRefs.open(fd, st.size);
      if (search) {
        try {
          return sorted(search);
        } catch (e) {
          if (!DataKitError.is(e, 'PackedRefsUnusable')) {
            throw e;
          }
        }
      }
      const refs = parsePackedRefs(fs.readFileSync(fd, 'utf8'));
      this.packedCache = { stamp, refs };
      return whole(refs);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Every ref under `prefix` (e.g. `refs/heads/b/`) with its commit, loose refs over packed ones. */
  async list(prefix: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const walk = async (rel: string): Promise<void> => {
      const names = await unlessMissing(fsp.readdir(path.join(this.gitdir, rel), { withFileTypes: true })) ?? [];
      for (const d of names) {
        const ref = `${rel}/${d.name}`;
        if (d.isDirectory()) {
          await walk(ref);
        } else if (!d.name.endsWith('.lock')) {
          const value = readIfFile(path.join(this.gitdir, ref))?.trim();
          if (value !== undefined && isObjectId(value, 'sha1')) {
            found.set(ref, value);
          }
        }
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    // After the loose walk, for the same reason as in `resolve`.
    for (const [ref, oid] of await this.packed()) {
      if (ref.startsWith(prefix) && !found.has(ref)) {
        found.set(ref, oid);
      }
    }
    return found;
  }

  /**
   * Moves `ref` from `expected` (undefined: the ref must not exist) to `next`, as git does: create
   * `<ref>.lock` exclusively, compare the current value, write the lock, rename it over the ref.
   * If the ref had moved, asks `onMoved` for a value to put on top of the current one, still holding the
   * lock so that the second try cannot lose again; without `onMoved`, returns undefined. `beforeRename` runs
   * (and is awaited) last, under the lock. Returns the value written. Throws `RefLocked` if someone else kept the lock too long.
   */
  async compareAndSwap(ref: string, expected: string | undefined, next: string, onMoved?: (current: string | undefined) => Promise<string>,
    beforeRename?: () => void | Promise<void>): Promise<string | undefined> {
    const file = path.join(this.gitdir, ref);
    const lock = `${file}.lock`;
    const fd = await this.acquire(ref, lock);
    let closed = false;
    let renamed = false;
    try {
      for (let current = await this.resolve(ref); current !== expected; current = await this.resolve(ref)) {
        if (!onMoved) {
          return undefined;
        }
        next = await onMoved(current);
        expected = current;
      }
      if (expected === undefined) {
        await this.checkNoPackedConflict(ref);
      }
      await beforeRename?.();
      fs.writeSync(fd, `${next}\n`);
      fs.closeSync(fd);
      closed = true;
      renameOverRef(lock, file, ref);
      renamed = true;
      return next;
    } finally {
      if (!closed) {
        fs.closeSync(fd);
      }
      if (!renamed) {
        fs.rmSync(lock, { force: true });
      }
    }
  }

  /** Creates the lock file; synchronous calls, as for objects (see objects.ts), but waits asynchronously. */
  private async acquire(ref: string, lock: string): Promise<number> {
    const deadline = Date.now() + this.lockTimeoutMs;
    let delay = 1;
    for (;;) {
      let code: string | undefined;
      try {
        return fs.openSync(lock, 'wx');
      } catch (e) {
        code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'EISDIR') {
          throw conflict(ref);
        }
        if (code !== 'ENOENT' && code !== 'EEXIST') {
          throw e;
        }
      }
      if (code === 'EEXIST' && this.removeStaleLock(ref) !== undefined) {
        continue;
      }
      if (Date.now() >= deadline && code === 'ENOENT') {
        throw new DataKitError('RefLocked', `Could not create ${lock}: its directory keeps disappearing.`);
      }
      if (Date.now() >= deadline) {
        // git never takes over a lock, however old: its holder may still be at work.
        throw new DataKitError('RefLocked', `The ref ${ref} stayed locked for ${this.lockTimeoutMs} ms: ${lock} exists. If no git process is running, remove that file.`);
      }
      if (code === 'ENOENT') {
        // The ref's directory is missing (or `git pack-refs` just pruned it as empty).
        try {
          fs.mkdirSync(path.dirname(lock), { recursive: true });
        } catch (e) {
          const c = (e as NodeJS.ErrnoException).code;
          throw c === 'ENOTDIR' || c === 'EEXIST' ? conflict(ref) : e;
        }
      } else {
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 16);
      }
    }
  }

  /** git refuses `a/b` next to `a/b/c`; loose files catch that by themselves, packed refs do not. */
  private async checkNoPackedConflict(ref: string): Promise<void> {
    const prefixes: string[] = [];
    for (let i = ref.indexOf('/'); i > 0; i = ref.indexOf('/', i + 1)) {
      prefixes.push(ref.slice(0, i));
    }
    const clash = this.queryPacked(
      // Refs under `ref/`, if any, sort first at `ref/`.
      (sorted) => prefixes.some((p) => sorted.get(p) !== undefined) || (sorted.seek(`${ref}/`)?.name.startsWith(`${ref}/`) ?? false),
      (packed) => prefixes.some((p) => packed.has(p)) || [...packed.keys()].some((other) => other.startsWith(`${ref}/`)),
    );
    if (clash) {
      throw conflict(ref);
    }
  }
}

/** A ref file's text: synchronous, as it is 41 bytes and an asynchronous read is four thread-pool round trips. */
function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a ref (`a` when reading `a/b`); EISDIR: the ref is a directory of refs.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      return undefined;
    }
    throw e;
  }
}

/** Renames the lock over the ref; an empty directory in the way (left by a ref `<ref>/x` that was deleted or
 * packed) is removed first, as git does. */
function renameOverRef(lock: string, file: string, ref: string): void {
  try {
    fs.renameSync(lock, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EISDIR') {
      throw e;
    }
    if (!removeEmptyDirs(file)) {
      throw conflict(ref);
    }
    fs.renameSync(lock, file);
  }
}

function removeEmptyDirs(dir: string): boolean {
  try {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!d.isDirectory() || !removeEmptyDirs(path.join(dir, d.name))) {
        return false;
      }
    }
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function stampOf(st: { mtimeMs: number; size: number; ino: number }): string {
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}

function conflict(ref: string): DataKitError {
  return new DataKitError('RefNameConflict', `The ref ${ref} cannot exist beside another ref that is a prefix of it or has it as a prefix.`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
