// The results repository's objects: read directly when loose, through isomorphic-git when packed; written
// as loose objects that appear atomically (temporary file, then rename).
//
// Writing does not go through isomorphic-git: measured here, its write path took 0.8–3.5 ms per object
// (in Node 20 it deflates through web CompressionStream streams and hashes through crypto.subtle, each a
// thread-pool hop, and it writes objects in place), so a 10 KB result took 7–13 ms, no faster than git
// plumbing; zlib + crypto with one small synchronous write and a rename take ~0.2 ms per object.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as git from 'isomorphic-git';
import type { PromiseFsClient } from 'isomorphic-git';
import { DataKitError } from '../engine/errors';
import { Lru } from './lru';
import { formatCommit, formatTree, parseCommit, parseTree, type CommitInfo, type Tree, type TreeEntry } from './objectFormat';

/** Blobs above this size are hashed and deflated in chunks, never whole in memory. */
export const STREAM_THRESHOLD = 1 << 20;
const CHUNK = 256 << 10;
const inflateAsync = promisify(zlib.inflate);

export class ObjectStore {
  private readonly objectsDir: string;
  // One isomorphic-git cache for the store's life, so that a pack is loaded once; replaced when the pack
  // directory changes, so that packs deleted by `git gc` do not stay in memory.
  private cache: object = {};
  private packDirStamp = '';
  private readonly trees = new Lru<string, Tree>(10_000);
  private readonly commits = new Lru<string, CommitInfo>(10_000);
  private readonly readerFs: PromiseFsClient = makeReaderFs();

  constructor(readonly gitdir: string) {
    this.objectsDir = path.join(gitdir, 'objects');
  }

  /** An object's type and content; `ObjectMissing` if it is in neither the loose store nor a pack. */
  async read(oid: string): Promise<{ type: string; content: Buffer }> {
    const loose = await this.readLoose(oid);
    if (loose) {
      return loose;
    }
    for (let attempt = 1; ; attempt++) {
      await this.checkPackDir();
      try {
        const r = await git.readObject({ fs: this.readerFs, gitdir: this.gitdir, oid, cache: this.cache, format: 'content' });
        return { type: r.type, content: Buffer.from(r.object as Uint8Array) };
      } catch (e) {
        // A concurrent `git gc` may have deleted the pack we listed (git deletes a pack before its index):
        // look again with a fresh cache, a few times, since gc may run again meanwhile.
        if (attempt >= 5) {
          if ((e as { code?: string }).code === 'NotFoundError') {
            throw new DataKitError('ObjectMissing', `The object ${oid} is missing from ${this.gitdir}.`);
          }
          throw e;
        }
        this.cache = {};
        const again = await this.readLoose(oid);
        if (again) {
          return again;
        }
        await new Promise((r) => setTimeout(r, attempt * 5));
      }
    }
  }

  async readTree(oid: string): Promise<Tree> {
    let tree = this.trees.get(oid);
    if (!tree) {
      tree = parseTree(await this.readTyped(oid, 'tree'));
      this.trees.set(oid, tree);
    }
    return tree;
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    let commit = this.commits.get(oid);
    if (!commit) {
      commit = parseCommit(await this.readTyped(oid, 'commit'));
      this.commits.set(oid, commit);
    }
    return commit;
  }

  async writeBlob(data: Uint8Array): Promise<string> {
    if (data.length > STREAM_THRESHOLD) {
      return writeBlobStreamed(this.objectsDir, data);
    }
    return writeLoose(this.objectsDir, 'blob', data);
  }

  // What is written is remembered as read: the next commit on the entry starts from it.
  async writeTree(entries: ReadonlyMap<string, TreeEntry>): Promise<string> {
    const oid = writeLoose(this.objectsDir, 'tree', formatTree(entries));
    this.trees.set(oid, new Map(entries));
    return oid;
  }

  /** `started` becomes the author time, `finished` the committer time. */
  async writeCommit(tree: string, parents: readonly string[], message: string, started: Date, finished: Date): Promise<string> {
    const oid = writeLoose(this.objectsDir, 'commit', formatCommit(tree, parents, message, started, finished));
    const full = message.endsWith('\n') ? message : `${message}\n`;
    const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
    this.commits.set(oid, { tree, parents: [...parents], message: full, authorTime: seconds(started), time: seconds(finished) });
    return oid;
  }

  private async readTyped(oid: string, type: string): Promise<Buffer> {
    const o = await this.read(oid);
    if (o.type !== type) {
      throw new DataKitError('CorruptObject', `The object ${oid} is a ${o.type}, not a ${type}.`);
    }
    return o.content;
  }

  private async readLoose(oid: string): Promise<{ type: string; content: Buffer } | undefined> {
    let deflated: Buffer;
    try {
      deflated = await fsp.readFile(path.join(this.objectsDir, oid.slice(0, 2), oid.slice(2)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        return undefined;
      }
      throw e;
    }
    const raw = deflated.length > CHUNK ? await inflateAsync(deflated) : zlib.inflateSync(deflated);
    const nul = raw.indexOf(0);
    const [type, size] = raw.toString('latin1', 0, nul).split(' ');
    const content = raw.subarray(nul + 1);
    if (nul < 0 || Number(size) !== content.length) {
      throw new DataKitError('CorruptObject', `The loose object ${oid} in ${this.gitdir} is corrupt.`);
    }
    return { type, content };
  }

  private async checkPackDir(): Promise<void> {
    const st = await fsp.stat(path.join(this.objectsDir, 'pack')).catch(() => undefined);
    const stamp = st ? `${st.mtimeMs}:${st.ino}` : '';
    if (stamp !== this.packDirStamp) {
      this.packDirStamp = stamp;
      this.cache = {};
    }
  }
}

/**
 * Writes a loose object unless it exists, in which case it is freshened as git does, so that a concurrent
 * `git gc` does not prune it as old garbage just as a new commit starts to use it. Synchronous: a few
 * small-file syscalls of tens of microseconds, less than one round trip through libuv's thread pool.
 */
function writeLoose(objectsDir: string, type: string, content: Uint8Array): string {
  const header = Buffer.from(`${type} ${content.length}\0`);
  const oid = createHash('sha1').update(header).update(content).digest('hex');
  const dir = path.join(objectsDir, oid.slice(0, 2));
  const file = path.join(dir, oid.slice(2));
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
    return oid;
  } catch {
    // absent (or read-only: then writing fails below and says why)
  }
  const deflated = zlib.deflateSync(Buffer.concat([header, content]));
  const tmp = path.join(dir, `tmp_obj_${process.pid}_${randomBytes(6).toString('hex')}`);
  retryingMissingDir(dir, () => fs.writeFileSync(tmp, deflated, { flag: 'wx', mode: 0o444 }));
  renameObject(tmp, file);
  return oid;
}

/** Runs `op`, creating `dir` when it is missing: `git prune-packed` removes emptied object directories. */
function retryingMissingDir(dir: string, op: () => void): void {
  for (let attempt = 1; ; attempt++) {
    try {
      op();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) {
        throw e;
      }
      fs.mkdirSync(dir, { recursive: true });
    }
  }
}

function renameObject(tmp: string, target: string): void {
  try {
    retryingMissingDir(path.dirname(target), () => fs.renameSync(tmp, target));
  } catch (e) {
    // Some platforms refuse to replace a file; the same object already being there is success.
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
    if (!fs.existsSync(target)) {
      throw e;
    }
  }
}

/** Node's fs, except that a pack index whose pack is already gone (a `git gc` in progress) is not listed. */
function makeReaderFs(): PromiseFsClient {
  return {
    promises: {
      ...fsp,
      async readdir(p: string) {
        const names = await fsp.readdir(p);
        if (path.basename(p) !== 'pack') {
          return names;
        }
        const present = new Set(names);
        return names.filter((n) => !n.endsWith('.idx') || present.has(`${n.slice(0, -4)}.pack`));
      },
    },
  };
}

/** Hashes and deflates a big blob chunk by chunk into a temporary file, then renames it into place. */
async function writeBlobStreamed(objectsDir: string, data: Uint8Array): Promise<string> {
  const hash = createHash('sha1');
  const tmp = path.join(objectsDir, `tmp_obj_${process.pid}_${randomBytes(6).toString('hex')}`);
  function* chunks(): Generator<Buffer> {
    const header = Buffer.from(`blob ${data.length}\0`);
    hash.update(header);
    yield header;
    for (let i = 0; i < data.length; i += CHUNK) {
      const c = Buffer.from(data.buffer, data.byteOffset + i, Math.min(CHUNK, data.length - i));
      hash.update(c);
      yield c;
    }
  }
  try {
    await pipeline(Readable.from(chunks(), { objectMode: false }), zlib.createDeflate(), fs.createWriteStream(tmp, { flags: 'wx', mode: 0o444 }));
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  const oid = hash.digest('hex');
  renameObject(tmp, path.join(objectsDir, oid.slice(0, 2), oid.slice(2)));
  return oid;
}
