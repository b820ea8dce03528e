// Finding paths of a commit: in this process through the commit's trees when the repository's objects can
// be read here as git reads them, else with one batch of queries to a running `git cat-file`; what a path
// of a commit is never changes, so it is kept by commit id.
import fs = require('node:fs');
import path = require('node:path');
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../../shared/errors';
import { growingLru, lazily } from '../../shared/lazy';
import { isObjectId } from '../../shared/objectId';
import type { CatFile, CatReply } from './catFile';
import { isObjectHeader } from './catFile';
import { findTreeEntry, parseTree, type TreeEntry } from '../git/objectFormat';
import { isUnreadableObject, ObjectStore } from '../git/objects';
import type { TreeFile, TreeListing } from './sourceTypes';

/** What a path is in a commit (null: absent). */
export type Found = { oid: string; type: string } | null;

/**
 * The repository's objects read in this process, when nothing makes that differ from git: no alternates,
 * grafts or replace refs (git would substitute objects), no extensions (another hash, a partial clone whose
 * missing objects git fetches). Otherwise undefined, and every read goes through `git cat-file`.
 */
export function localObjects(commonDir: string): ObjectStore | undefined {
  return plainObjects(commonDir) ? new ObjectStore(commonDir, false) : undefined;
}

function plainObjects(commonDir: string): boolean {
  const exists = (p: string): boolean => fs.existsSync(path.join(commonDir, p));
  if (exists('objects/info/alternates') || exists('info/grafts') || exists('objects/info/grafts')) { return false; }
  try {
    if (fs.readdirSync(path.join(commonDir, 'refs', 'replace')).length > 0) { return false; }
  } catch { /* no replace refs */ }
  let config = '';
  try { config = fs.readFileSync(path.join(commonDir, 'config'), 'utf8'); } catch { return false; }
  if (/^\s*\[\s*extensions\b/im.test(config)) { return false; }
  try {
    if (/ refs\/replace\//.test(fs.readFileSync(path.join(commonDir, 'packed-refs'), 'utf8'))) { return false; }
  } catch { /* no packed refs */ }
  return true;
}

/** What a line of `git cat-file --batch-check` cannot carry: a newline ends it, a carriage return before it is dropped. */
const UNASKABLE = /[\n\r]/;

export class TreeLookup {
  /** What a path of a commit is (commits are immutable); a path found absent is remembered as `null`. */
  private readonly cache: (() => LRUCache<string, { found: Found }>) | undefined;

  /** `cacheSize`: entries of the per-commit cache (0: none). */
  constructor(private readonly check: CatFile, private readonly contents: CatFile, private readonly local: ObjectStore | undefined, cacheSize: number) {
    this.cache = cacheSize > 0 ? lazily(() => growingLru<string, { found: Found }>(cacheSize)) : undefined;
  }

  /** Looks the paths up, from the cache or with one batch of queries (plus the commit check). */
  async lookup(commit: string, paths: string[]): Promise<Map<string, Found>> {
    const pinned = isObjectId(commit) && this.cache !== undefined;
    const result = new Map<string, Found>();
    const missing = ['^{commit}', ...paths].filter((p) => {
      const hit = pinned ? this.cacheGet(`${commit}\0${p}`) : undefined;
      if (hit !== undefined) { result.set(p, hit); }
      return hit === undefined;
    });
    const local = missing.length > 0 && isObjectId(commit) ? await this.lookupLocal(commit, missing) : undefined;
    if (local) {
      for (const [p, found] of local) {
        result.set(p, found);
        if (pinned) { this.cacheSet(`${commit}\0${p}`, found); }
      }
    } else if (missing.length > 0) {
      if (!/^[^-\s][^\n\0]*$/.test(commit)) { throw new DataKitError('UnknownRevision', `Unknown revision: ${commit}`); }
      // A path cat-file cannot be asked for on one line (a newline or carriage return in a name: git's own
      // `git add` records such files) is found by reading its trees instead.
      const asked = missing.filter((p) => !UNASKABLE.test(p));
      const replies = new Map((await this.check.query(asked.map((p) => (p === '^{commit}' ? `${commit}^{commit}` : `${commit}:${p}`)))).map((r, i) => [asked[i]!, r]));
      for (const p of missing) {
        let found = replies.has(p) ? parseCheck(replies.get(p)!) : await this.throughTrees(commit, p);
        if (!found && replies.has(p) && p !== '^{commit}' && result.get('^{commit}') !== null) { found = await this.gitlink(commit, p); }
        result.set(p, found);
        if (pinned) { this.cacheSet(`${commit}\0${p}`, found); }
      }
    }
    if (result.get('^{commit}') === null) { throw new DataKitError('UnknownRevision', `Unknown revision: ${commit}`); }
    return result;
  }

  /**
   * The paths (and `^{commit}`) looked up in this process, through the commit's trees; undefined when the
   * objects cannot be read here (not a commit, a missing or damaged object): git is asked then.
   */
  async lookupLocal(commit: string, paths: string[]): Promise<Map<string, Found> | undefined> {
    if (!this.local) { return undefined; }
    try {
      const root = (await this.local.readCommit(commit)).tree;
      const out = new Map<string, Found>();
      for (const p of paths) {
        if (p === '^{commit}') { out.set(p, { oid: commit, type: 'commit' }); continue; }
        let at: Found = { oid: root, type: 'tree' };
        for (const name of p === '' ? [] : p.split('/')) {
          const e: TreeEntry | undefined = at?.type === 'tree' ? (await this.local.readTree(at.oid)).get(name) : undefined;
          at = e ? { oid: e.oid, type: e.type } : null;
        }
        out.set(p, at);
      }
      return out;
    } catch (e) {
      if (isUnreadableObject(e)) { return undefined; }
      throw e;
    }
  }

  /** `listFiles` in this process; undefined when the objects cannot be read here. */
  async listLocal(commit: string, specs: readonly TreeListing[]): Promise<TreeFile[] | undefined> {
    if (!this.local) { return undefined; }
    const local = this.local;
    const found = await this.lookupLocal(commit, [...new Set(specs.map((s) => s.base))]);
    if (!found) { return undefined; }
    const files: TreeFile[] = [];
    const walk = async (tree: string, prefix: string, levels: number): Promise<void> => {
      for (const [name, e] of await local.readTree(tree)) {
        if (e.type !== 'tree') {
          files.push({ path: `${prefix}${name}`, oid: e.oid, mode: e.mode });
        } else if (levels > 1) {
          await walk(e.oid, `${prefix}${name}/`, levels - 1);
        }
      }
    };
    try {
      for (const { base, depth } of specs) {
        const at = found.get(base);
        if (!at) { continue; }
        if (at.type === 'tree') {
          await walk(at.oid, base === '' ? '' : `${base}/`, depth ?? Infinity);
        } else {
          const parent = base.includes('/') ? base.slice(0, base.lastIndexOf('/')) : '';
          const entry = (await this.lookupLocal(commit, [parent]))?.get(parent);
          const mode = entry ? (await local.readTree(entry.oid)).get(base.slice(base.lastIndexOf('/') + 1))?.mode : undefined;
          files.push({ path: base, oid: at.oid, mode: mode ?? '100644' });
        }
      }
    } catch (e) {
      if (isUnreadableObject(e)) { return undefined; }
      throw e;
    }
    const unique = new Map(files.map((f) => [f.path, f]));
    return [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  // A submodule's commit is not in this repository, so cat-file reports it missing: read the parent tree.
  /** A path of the commit found by reading each tree on its way from the root (one cat-file query each). */
  private async throughTrees(commit: string, p: string): Promise<Found> {
    const [root] = await this.check.query([`${commit}^{tree}`]);
    let at: Found = root ? parseCheck(root) : null;
    for (const name of p.split('/')) {
      if (at?.type !== 'tree') { return null; }
      const [reply] = await this.contents.query([at.oid]);
      if (!reply?.body || !isObjectHeader(reply.header)) { return null; }
      const e = parseTree(reply.body, reply.header.indexOf(' ') / 2).get(name);
      at = e ? { oid: e.oid, type: e.type } : null;
    }
    return at;
  }

  private async gitlink(commit: string, p: string): Promise<Found> {
    if (p === '') { return null; }
    const slash = p.lastIndexOf('/');
    const [reply] = await this.contents.query([`${commit}:${p.slice(0, Math.max(slash, 0))}`]);
    if (!reply?.body || !isObjectHeader(reply.header) || reply.header.split(' ')[1] !== 'tree') { return null; }
    const oid = findTreeEntry(reply.body, p.slice(slash + 1), reply.header.indexOf(' ') / 2, '160000');
    return oid ? { oid, type: 'commit' } : null;
  }

  private cacheGet(k: string): Found | undefined {
    return this.cache?.().get(k)?.found;
  }

  private cacheSet(k: string, found: Found): void {
    this.cache?.().set(k, { found });
  }
}

function parseCheck(reply: CatReply): Found {
  if (!isObjectHeader(reply.header)) { return null; }
  const [oid, type] = reply.header.split(' ');
  return { oid: oid!, type: type! };
}
