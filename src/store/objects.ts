// The results repository's objects: read directly when loose, in place when packed (packReader.ts); written
// as loose objects that appear atomically (temporary file, then rename).
//
// Small objects are written through isomorphic-git with an `fs` that makes each appear atomically; blobs
// over 1 MiB are hashed and deflated in chunks here (isomorphic-git's writeBlob takes the whole buffer and
// grew peak memory by 4-6x the blob).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as git from 'isomorphic-git';
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../shared/errors';
import { PackReader } from './packReader';
import { formatCommit, formatTree, parseCommit, parseTree, type CommitInfo, type Tree, type TreeEntry } from './objectFormat';

/** Blobs above this size are hashed and deflated in chunks, never whole in memory. */
export const STREAM_THRESHOLD = 1 << 20;
const CHUNK = 256 << 10;
const inflateAsync = promisify(zlib.inflate);

export class ObjectStore {
  private readonly objectsDir: string;
  private readonly packs: PackReader;
  private readonly trees = new LRUCache<string, Tree>({ max: 10_000 });
  private readonly commits = new LRUCache<string, CommitInfo>({ max: 10_000 });

  constructor(readonly gitdir: string) {
    this.objectsDir = path.join(gitdir, 'objects');
    this.packs = new PackReader(path.join(this.objectsDir, 'pack'), (oid) => this.readLoose(oid));
  }

  /** An object's type and content; `ObjectMissing` if it is in neither the loose store nor a pack. */
  async read(oid: string): Promise<{ type: string; content: Buffer }> {
    for (let attempt = 1; ; attempt++) {
      // Loose first, then packs, then loose again: a concurrent `git gc` moves objects from one to the
      // other (into a pack, or out of a deleted pack when it loosens unreachable objects); it may run again
      // meanwhile, hence a few tries.
      const found = (await this.readLoose(oid)) ?? (await this.packs.read(oid)) ?? (await this.readLoose(oid));
      if (found) {
        return found;
      }
      if (attempt >= 5) {
        throw new DataKitError('ObjectMissing', `The object ${oid} is missing from ${this.gitdir}.`);
      }
      await new Promise((r) => setTimeout(r, attempt * 5));
    }
  }

  readTree(oid: string): Promise<Tree> {
    return this.readParsed(this.trees, oid, 'tree', parseTree);
  }

  readCommit(oid: string): Promise<CommitInfo> {
    return this.readParsed(this.commits, oid, 'commit', parseCommit);
  }

  /** Objects never change, so a parsed tree or commit is kept by id. */
  private async readParsed<T extends object>(cache: LRUCache<string, T>, oid: string, type: string, parse: (content: Buffer) => T): Promise<T> {
    let value = cache.get(oid);
    if (value === undefined) {
      value = parse(await this.readTyped(oid, type));
      cache.set(oid, value);
    }
    return value;
  }

  async writeBlob(data: Uint8Array): Promise<string> {
    if (data.length > STREAM_THRESHOLD) {
      return writeBlobStreamed(this.objectsDir, data);
    }
    return this.writeSmall('blob', data);
  }

  /**
   * Small objects are written by isomorphic-git's object database, through an `fs` that makes each appear
   * atomically. Node's native zlib and SHA-1 prepare them: isomorphic-git's own (web streams and
   * crypto.subtle, a thread-pool hop each) took ~1.8 ms an object here against ~0.4 ms.
   */
  private async writeSmall(type: 'blob' | 'tree' | 'commit', content: Uint8Array): Promise<string> {
    const header = Buffer.from(`${type} ${content.length}\0`);
    const oid = createHash('sha1').update(header).update(content).digest('hex');
    if (freshen(this.objectsDir, oid)) { return oid; }
    const deflated = zlib.deflateSync(Buffer.concat([header, content]));
    await git.writeObject({ fs: ATOMIC_FS, gitdir: this.gitdir, type, object: deflated, format: 'deflated', oid });
    return oid;
  }

  // What is written is remembered as read: the next commit on the entry starts from it.
  async writeTree(entries: ReadonlyMap<string, TreeEntry>): Promise<string> {
    const oid = await this.writeSmall('tree', formatTree(entries));
    this.trees.set(oid, new Map(entries));
    return oid;
  }

  /** `started` becomes the author time, `finished` the committer time. */
  async writeCommit(tree: string, parents: readonly string[], message: string, started: Date, finished: Date): Promise<string> {
    const oid = await this.writeSmall('commit', formatCommit(tree, parents, message, started, finished));
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
}

/**
 * An object that exists already is freshened as git does, so that a concurrent `git gc` does not prune it
 * as old garbage just as a new commit starts to use it; false if it is absent.
 */
function freshen(objectsDir: string, oid: string): boolean {
  try {
    const now = new Date();
    fs.utimesSync(path.join(objectsDir, oid.slice(0, 2), oid.slice(2)), now, now);
    return true;
  } catch {
    return false; // absent (or read-only: then writing fails and says why)
  }
}

/**
 * isomorphic-git writes objects in place; through this `fs` each loose object is written to a temporary
 * file and renamed into place, so a crash never leaves a truncated object.
 */
const ATOMIC_FS = {
  promises: {
    ...fsp,
    async writeFile(file: string, data: Uint8Array): Promise<void> {
      const dir = path.dirname(file);
      const tmp = path.join(dir, `tmp_obj_${process.pid}_${randomBytes(6).toString('hex')}`);
      retryingMissingDir(dir, () => fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o444 }));
      renameObject(tmp, file);
    },
  },
};

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
