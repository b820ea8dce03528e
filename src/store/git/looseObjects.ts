// The results repository's loose objects as files: each written whole to a temporary file and renamed into
// place (a crash never leaves a truncated object), an existing one freshened as git does, and temporary
// files that interrupted writes left swept away.
//
// Every loose object but a big blob is written by isomorphic-git's `writeObject`, through an `fs` whose
// writeFile is that temporary file and rename. What it is handed is already wrapped, hashed (Node's SHA-1)
// and deflated (Node's zlib), and trees and commits are formatted by objectFormat.ts: isomorphic-git's own
// writeBlob, writeTree and writeCommit do the same with web streams and crypto.subtle, and took 1.66x,
// 1.81x and 1.67x as long an object, a whole save 4.30 ms against 2.67 ms (1.61x; bench/store.bench.mjs
// part e, side by side, same ids; bench/README.md). A blob over STREAM_THRESHOLD is hashed and deflated
// chunk by chunk here: writeBlob takes the whole buffer, and grew peak memory by 4.00x a 16 MiB blob
// against 0.11x (part b).
import { createHash, randomBytes } from 'node:crypto';
import fs = require('node:fs');
import { promises as fsp } from 'node:fs';
import path = require('node:path');
import { isMissing, unlessMissing } from '../../shared/errors';
import { streams, zlib } from '../../shared/lazy';
import { isomorphicGit } from './isomorphicGit';
import { noteWriter } from './tempWriters';

/** Blobs above this size are hashed and deflated in chunks, never whole in memory. */
export const STREAM_THRESHOLD = 1 << 20;
/** The size of a chunk of a streamed blob; a loose object bigger than this is inflated off the main thread. */
export const CHUNK = 256 << 10;

export type ObjectType = 'blob' | 'tree' | 'commit';

/** The path of a loose object. */
export function looseFile(objectsDir: string, oid: string): string {
  return path.join(objectsDir, oid.slice(0, 2), oid.slice(2));
}

/**
 * Writes an object of `type` with `content` as a loose object of the repository `gitdir` (an object already
 * there is freshened instead), and returns its id.
 */
export async function writeLooseObject(gitdir: string, type: ObjectType, content: Uint8Array): Promise<string> {
  const objectsDir = path.join(gitdir, 'objects');
  if (type === 'blob' && content.length > STREAM_THRESHOLD) {
    return writeBlobStreamed(objectsDir, content);
  }
  const header = Buffer.from(`${type} ${content.length}\0`);
  const oid = createHash('sha1').update(header).update(content).digest('hex');
  if (freshen(objectsDir, oid)) { return oid; }
  const deflated = zlib().deflateSync(Buffer.concat([header, content]));
  await isomorphicGit().writeObject({ fs: atomicFs(), gitdir, type, object: deflated, format: 'deflated', oid });
  return oid;
}

/**
 * An object that exists already is freshened as git does, so that a `git gc` with a prune expiry does not
 * prune it as old garbage just as a new commit starts to use it; false if it is absent.
 */
function freshen(objectsDir: string, oid: string): boolean {
  try {
    const now = new Date();
    fs.utimesSync(looseFile(objectsDir, oid), now, now);
    return true;
  } catch {
    return false; // absent (or read-only: then writing fails and says why)
  }
}

/**
 * isomorphic-git writes objects in place; through this `fs` each loose object is written to a temporary
 * file and renamed into place, so a crash never leaves a truncated object.
 */
export type AtomicFs = { promises: Omit<typeof fsp, 'writeFile'> & { writeFile(file: string, data: Uint8Array): Promise<void> } };
let atomicFsMemo: AtomicFs | undefined;
export function atomicFs(): AtomicFs {
  return (atomicFsMemo ??= { promises: {
    ...fsp,
    async writeFile(file: string, data: Uint8Array): Promise<void> {
      const dir = path.dirname(file);
      noteWriter(path.dirname(dir));
      const tmp = path.join(dir, `tmp_obj_${process.pid}_${randomBytes(6).toString('hex')}`);
      retryingMissingDir(dir, () => fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o444 }));
      renameObject(tmp, file);
    },
  } });
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

/** Hashes and deflates a big blob chunk by chunk into a temporary file, then renames it into place. */
export async function writeBlobStreamed(objectsDir: string, data: Uint8Array): Promise<string> {
  const hash = createHash('sha1');
  noteWriter(objectsDir);
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
    await streams().pipeline(streams().Readable.from(chunks(), { objectMode: false }), zlib().createDeflate(), fs.createWriteStream(tmp, { flags: 'wx', mode: 0o444 }));
  } catch (e) {
    // The write's own error is the one to tell; a temporary file that cannot go either is swept later.
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  const oid = hash.digest('hex');
  renameObject(tmp, looseFile(objectsDir, oid));
  return oid;
}

const TMP_PREFIX = 'tmp_obj_';
/** Ours: `tmp_obj_<pid>_<12 hex digits>`, the pid of the writer. */
const OWN_TMP = /^tmp_obj_(\d+)_[0-9a-f]{12}$/;
/** One of ours whose writer is not running any more, or that is older than this, is removed. */
const TMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/**
 * git's own (`tmp_obj_XXXXXX`, left by a git killed while it unpacked a fetch), which name no writer, are
 * removed once older than this: git writes one in milliseconds, so a live git's is never that old.
 */
const GIT_TMP_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Removes the temporary object files that an interrupted write left: ours (`tmp_obj_<pid>_<random>`) of a
 * process that no longer runs or a day old, git's an hour old. Returns how many were removed.
 */
export async function sweepTemporaryObjects(objectsDir: string): Promise<number> {
  let removed = 0;
  const sweepDir = async (dir: string): Promise<void> => {
    const names = await unlessMissing(fsp.readdir(dir)) ?? [];
    for (const name of names) {
      if (!name.startsWith(TMP_PREFIX)) { continue; }
      const file = path.join(dir, name);
      const own = OWN_TMP.exec(name);
      const st = await unlessMissing(fsp.stat(file));
      if (!st) { continue; }
      const pid = own ? Number(own[1]) : 0;
      const writerGone = pid > 0 && pid !== process.pid && !pidExists(pid);
      if (writerGone || Date.now() - st.mtimeMs > (own ? TMP_MAX_AGE_MS : GIT_TMP_MAX_AGE_MS)) {
        try {
          await fsp.unlink(file);
          removed++;
        } catch (e) {
          if (!isMissing(e)) { throw e; } // another sweep took it first
        }
      }
    }
  };
  await sweepDir(objectsDir);
  const subdirs = (await unlessMissing(fsp.readdir(objectsDir)) ?? []).filter((d) => /^[0-9a-f]{2}$/.test(d));
  for (const d of subdirs) { await sweepDir(path.join(objectsDir, d)); }
  return removed;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
