// The working tree as git would commit it (`git add -A`: tracked changes and untracked files that are not
// ignored), read without writing anything into the repository: `git status` with optional locks off (no
// index refresh, no index.lock), `git hash-object` without `-w` (no object written). The result is the list
// of paths that differ from HEAD, each with the mode and blob id a commit would record, and the trees that
// such a commit would have, computed here over HEAD's.
import { createHash } from 'node:crypto';
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { runGit } from '../git/git';
import { formatTree, type TreeEntry } from '../git/objectFormat';
import type { SourceRepo } from './sourceRepo';
import { within, type TreeFile, type TreeListing } from './sourceTypes';

/** A working tree's changes from its HEAD and where its files are: what a build of the working tree lays over the commit. */
export interface WorktreeFiles {
  readonly top: string;
  readonly state: WorktreeState;
}

export interface WorktreeChange {
  readonly mode: string;
  readonly oid: string;
}

export interface WorktreeState {
  /** The commit the changes are relative to. */
  readonly head: string;
  /** Every path (a file or a submodule) whose content or mode differs from HEAD; null where it is deleted. */
  readonly changes: ReadonlyMap<string, WorktreeChange | null>;
  /** What a commit of the working tree would leave out, said to the user (a submodule's own edits, a nested repository). */
  readonly notes: readonly string[];
}

/** How many changed paths there are (what "Working tree · N changed files" counts). */
export function changedCount(state: WorktreeState): number {
  return state.changes.size;
}

/**
 * The working tree's differences from HEAD. With `paths` (and the `previous` state), only those paths are
 * looked at again and the rest is kept from `previous`: what a file watcher reported is enough to keep the
 * state current without a scan of every file.
 */
export async function scanWorktree(repo: SourceRepo, options: { paths?: readonly string[]; previous?: WorktreeState } = {}): Promise<WorktreeState> {
  const top = repo.topLevel;
  if (!top) { throw new DataKitError('NoWorkTree', 'This repository is bare: it has no working tree to build'); }
  const head = await repo.resolve('HEAD');
  const incremental = options.paths !== undefined && options.previous?.head === head ? { paths: options.paths, previous: options.previous } : undefined;
  if (incremental) {
    const quick = await quickLook(repo, top, incremental.previous, incremental.paths);
    if (quick) { return quick; }
    if (incremental.paths.length === 0) { return incremental.previous; }
  }
  const { listed, notes } = await readStatus(top, incremental?.paths);
  const changes = new Map<string, WorktreeChange | null>();
  if (incremental) {
    const under = (p: string, q: string): boolean => p === q || p.startsWith(`${q}/`);
    for (const [p, c] of incremental.previous.changes) {
      if (!incremental.paths.some((q) => under(p, q))) { changes.set(p, c); }
    }
  }
  const files = await lookAt(repo, top, head, listed, changes, notes);
  if (files.length > 0) {
    const r = await blobIds(top, files.map((f) => f.path));
    if ('failed' in r) { throw new DataKitError('WorktreeUnreadable', `git could not read the working tree: ${r.failed}`); }
    const { ids } = r;
    files.forEach((f, i) => changes.set(f.path, { mode: f.mode, oid: ids[i]! }));
  }
  await dropUnchanged(repo, head, changes);
  return { head, changes: sortedByPath(changes), notes: [...new Set([...(incremental ? incremental.previous.notes : []), ...notes])] };
}

/** A path `git status` lists as differing from HEAD (or untracked), with its mode in the working tree. */
type Listed = { path: string; worktreeMode: string; submodule: boolean };

/** What `git status` lists (of `paths` only, if given); `WorktreeConflict` while a merge left unmerged paths. */
async function readStatus(top: string, paths: readonly string[] | undefined): Promise<{ listed: Listed[]; notes: string[] }> {
  const args = ['status', '--porcelain=v2', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=none'];
  if (paths) { args.push('--', ...paths.map((p) => `:(literal)${p}`)); }
  const status = await runGit(args, { cwd: top });
  const listed: Listed[] = [];
  const conflicts: string[] = [];
  const notes: string[] = [];
  const out = status.stdout.toString('utf8').split('\0');
  for (let i = 0; i < out.length; i++) {
    const line = out[i]!;
    if (line === '') { continue; }
    if (line.startsWith('1 ')) {
      const f = line.split(' ');
      listed.push({ path: f.slice(8).join(' '), worktreeMode: f[5]!, submodule: f[2]!.startsWith('S') });
    } else if (line.startsWith('2 ')) { // a rename, though --no-renames asks for none: its origin is next
      const f = line.split(' ');
      listed.push({ path: f.slice(9).join(' '), worktreeMode: f[5]!, submodule: f[2]!.startsWith('S') });
      listed.push({ path: out[++i]!, worktreeMode: '000000', submodule: false });
    } else if (line.startsWith('u ')) {
      conflicts.push(line.split(' ').slice(10).join(' '));
    } else if (line.startsWith('? ')) {
      const p = line.slice(2);
      if (p.endsWith('/')) {
        notes.push(`${p} is a git repository inside the working tree: it is left out (\`git add\` would record it as a submodule)`);
      } else {
        listed.push({ path: p, worktreeMode: 'untracked', submodule: false });
      }
    }
  }
  if (conflicts.length > 0) {
    throw new DataKitError('WorktreeConflict', `The working tree has ${conflicts.length} unmerged path${conflicts.length === 1 ? '' : 's'} (${conflicts.slice(0, 3).join(', ')}${conflicts.length > 3 ? ', …' : ''}): finish or abort the merge to build it`);
  }
  return { listed, notes };
}

/**
 * Looks at each listed path in the working tree: a submodule's checked-out commit, a symbolic link's target
 * and a missing path go into `changes` now; the regular files to hash are returned, with their modes.
 */
async function lookAt(repo: SourceRepo, top: string, head: string, listed: readonly Listed[], changes: Map<string, WorktreeChange | null>, notes: string[]): Promise<{ path: string; mode: string }[]> {
  const files: { path: string; mode: string }[] = [];
  for (const e of listed) {
    const abs = path.join(top, e.path);
    if (e.submodule || e.worktreeMode === '160000') {
      const sub = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: abs, allowFailure: true });
      const commit = sub.stdout.toString('utf8').trim();
      if (sub.code !== 0 || !commit) { changes.set(e.path, null); continue; }
      const recorded = (await repo.objectIds(head, [e.path])).get(e.path);
      if (commit !== recorded) { changes.set(e.path, { mode: '160000', oid: commit }); }
      notes.push(`Submodule ${e.path}: only its checked-out commit counts; edits inside it are not part of this repository's commit`);
      continue;
    }
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') {
        throw new DataKitError('WorktreeUnreadable', `Cannot read ${e.path} in the working tree: ${(err as Error).message}`);
      }
    }
    if (!st) { changes.set(e.path, null); continue; }
    if (st.isSymbolicLink()) {
      const target = Buffer.from(fs.readlinkSync(abs));
      changes.set(e.path, { mode: '120000', oid: blobId(target) });
    } else if (st.isFile()) {
      try {
        fs.accessSync(abs, fs.constants.R_OK);
      } catch (err) {
        throw new DataKitError('WorktreeUnreadable', `Cannot read ${e.path} in the working tree: ${(err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
      }
      files.push({ path: e.path, mode: st.mode & 0o100 ? '100755' : '100644' });
    } else {
      changes.set(e.path, null);
    }
  }
  return files;
}

/**
 * Removes what is no change: a path whose content and mode a commit would record as HEAD has them (a touched
 * file, a mode git does not track), and a deletion of what HEAD does not have either.
 */
async function dropUnchanged(repo: SourceRepo, head: string, changes: Map<string, WorktreeChange | null>): Promise<void> {
  const recorded = await repo.objectIds(head, [...changes.keys()]);
  const headModes = new Map<string, string>();
  for (const [p, c] of [...changes]) {
    if (c && recorded.get(p) === c.oid) {
      headModes.set(p, c.mode);
    }
  }
  if (headModes.size > 0) {
    const listing = await repo.listFiles(head, [...headModes.keys()].map((p) => ({ base: p, depth: 0 })));
    for (const f of listing) { if (headModes.get(f.path) === f.mode) { changes.delete(f.path); } }
  }
  for (const [p, c] of [...changes]) {
    if (c === null && recorded.get(p) === undefined) { changes.delete(p); } // deleted, and not in HEAD either
  }
}

function sortedByPath<T>(changes: ReadonlyMap<string, T>): Map<string, T> {
  return new Map([...changes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The reported paths looked at directly, without `git status` (which reads the whole index): each a file
 * HEAD has, or had and lost, is hashed or found gone. Undefined when one of them needs git to decide (a new
 * file that may be ignored, a folder, a submodule) or a merge is under way: the caller asks `git status`.
 */
async function quickLook(repo: SourceRepo, top: string, previous: WorktreeState, paths: readonly string[]): Promise<WorktreeState | undefined> {
  if (paths.length === 0) { return previous; }
  if (fs.existsSync(path.join(repo.gitDir, 'MERGE_HEAD'))) { return undefined; }
  const changes = new Map(previous.changes);
  const toHash: { path: string; mode: string; head: TreeEntry }[] = [];
  for (const p of new Set(paths)) {
    const slash = p.lastIndexOf('/');
    const entry = (await repo.treeAt(previous.head, slash < 0 ? '' : p.slice(0, slash)))?.get(p.slice(slash + 1));
    if (!entry || entry.type !== 'blob') { return undefined; }
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(path.join(top, p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') { return undefined; }
    }
    if (!st) {
      changes.set(p, null);
    } else if (st.isSymbolicLink()) {
      const c = { mode: '120000', oid: blobId(Buffer.from(fs.readlinkSync(path.join(top, p)))) };
      if (c.mode === entry.mode && c.oid === entry.oid) { changes.delete(p); } else { changes.set(p, c); }
    } else if (st.isFile()) {
      toHash.push({ path: p, mode: st.mode & 0o100 ? '100755' : '100644', head: entry });
    } else {
      return undefined;
    }
  }
  if (toHash.length > 0) {
    const r = await blobIds(top, toHash.map((f) => f.path));
    if ('failed' in r) { return undefined; } // the full reading says why
    const { ids } = r;
    toHash.forEach((f, i) => {
      if (ids[i] === f.head.oid && f.mode === f.head.mode) { changes.delete(f.path); } else { changes.set(f.path, { mode: f.mode, oid: ids[i]! }); }
    });
  }
  return { head: previous.head, changes: sortedByPath(changes), notes: previous.notes };
}

/**
 * The blob ids a commit would record for these files of the working tree `top`, as `git add` computes them
 * (the repository's clean filters and line-ending rules apply, by path), without writing any object; or
 * what git said when it could not read one.
 */
export async function blobIds(top: string, paths: readonly string[]): Promise<{ ids: string[] } | { failed: string }> {
  const r = await runGit(['hash-object', '--stdin-paths'], { cwd: top, input: stdinPaths(paths), allowFailure: true });
  if (r.code !== 0) {
    const fatal = r.stderr.split('\n').filter((l) => l.startsWith('fatal: ')).map((l) => l.slice('fatal: '.length));
    return { failed: fatal.length > 0 ? fatal.join('; ') : r.stderr.trim() };
  }
  return { ids: r.stdout.toString('utf8').trim().split('\n') };
}

/**
 * Paths for a git command's `--stdin-paths`, one a line, each C-quoted as git reads it back: a path that
 * begins with `"` is taken for a quoted one, and a newline in a path would split it in two.
 */
export function stdinPaths(paths: readonly string[]): Buffer {
  const out: number[] = [];
  for (const p of paths) {
    out.push(0x22);
    for (const b of Buffer.from(p, 'utf8')) {
      if (b === 0x22 || b === 0x5c) { out.push(0x5c, b); } else if (b < 0x20 || b === 0x7f) { out.push(...Buffer.from(`\\${b.toString(8).padStart(3, '0')}`)); } else { out.push(b); }
    }
    out.push(0x22, 0x0a);
  }
  return Buffer.from(out);
}

// The ids a commit would record, hashed here rather than with isomorphic-git's hashBlob or a dry-run
// writeObject: the working tree's keys are a read, and reading never loads isomorphic-git (its bundle costs
// a new process +54 ms; bench/store.bench.mjs part f).
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** The id git would give a tree of these entries. */
export function treeIdOf(tree: ReadonlyMap<string, TreeEntry>): string {
  const body = formatTree(tree);
  return createHash('sha1').update(`tree ${body.length}\0`).update(body).digest('hex');
}

/**
 * The id of the tree that holds exactly `files` (paths relative to it, each with its mode): what git would
 * write for them, computed without writing anything. Undefined for no file (git has no empty folder).
 */
export function treeIdOfFiles(files: readonly TreeFile[]): string | undefined {
  type Folder = Map<string, TreeFile | Folder>;
  const root: Folder = new Map();
  for (const f of files) {
    const parts = f.path.split('/');
    let dir = root;
    for (const name of parts.slice(0, -1)) {
      let sub = dir.get(name);
      if (!(sub instanceof Map)) { sub = new Map(); dir.set(name, sub); }
      dir = sub;
    }
    dir.set(parts[parts.length - 1]!, f);
  }
  const idOf = (dir: Folder): string => treeIdOf(new Map([...dir].map(([name, e]): [string, TreeEntry] => (e instanceof Map
    ? [name, { mode: '40000', oid: idOf(e), type: 'tree' }]
    : [name, { mode: e.mode, oid: e.oid, type: e.mode === '160000' ? 'commit' : 'blob' }]))));
  return root.size === 0 ? undefined : idOf(root);
}

/**
 * HEAD's trees with the working tree's changes applied: the object ids and file lists a commit of the
 * working tree would have. Only the trees on the way to a change are read and hashed; every other folder
 * keeps HEAD's id.
 */
export class WorktreeOverlay {
  private readonly trees = new Map<string, Promise<string | undefined>>();
  /** Each folder that holds a change ('' for the root), with the names directly in it that changed. */
  private readonly dirs = new Map<string, Set<string>>();

  constructor(private readonly repo: SourceRepo, readonly state: WorktreeState) {
    for (const p of state.changes.keys()) {
      const parts = p.split('/');
      for (let i = 0; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        let names = this.dirs.get(dir);
        if (!names) { names = new Set(); this.dirs.set(dir, names); }
        names.add(parts[i]!);
      }
    }
  }

  /** The id of the tree at `dir` ('' is the root) as a commit of the working tree would have it; undefined if empty. */
  treeId(dir: string): Promise<string | undefined> {
    let t = this.trees.get(dir);
    if (!t) {
      t = this.computeTree(dir);
      this.trees.set(dir, t);
    }
    return t;
  }

  private async computeTree(dir: string): Promise<string | undefined> {
    const entries = await this.entriesAt(dir);
    return entries === undefined || (entries.size === 0 && dir !== '') ? undefined : treeIdOf(entries);
  }

  /** The entries of the tree at `dir` as a commit of the working tree would have them; undefined if there is none. */
  async entriesAt(dir: string): Promise<Map<string, TreeEntry> | undefined> {
    const base = await this.repo.treeAt(this.state.head, dir);
    const names = this.dirs.get(dir);
    if (!names) { return base ? new Map(base) : undefined; }
    const entries = new Map<string, TreeEntry>(base ?? []);
    for (const name of names) {
      const p = dir === '' ? name : `${dir}/${name}`;
      const change = this.state.changes.get(p);
      if (change) {
        entries.set(name, { mode: change.mode, oid: change.oid, type: change.mode === '160000' ? 'commit' : 'blob' });
      } else if (change === null && !this.dirs.has(p)) {
        entries.delete(name);
      } else { // a folder holding changes (perhaps where a file was)
        const id = await this.treeId(p);
        if (id === undefined) { entries.delete(name); } else { entries.set(name, { mode: '40000', oid: id, type: 'tree' }); }
      }
    }
    return entries;
  }

  /** The object id of each path (a file, a folder's tree or a submodule's commit); undefined when absent. */
  async objectIds(paths: readonly string[]): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    const fromHead: string[] = [];
    for (const raw of paths) {
      const p = raw.replace(/^\.\/|\/$/g, '').replace(/^\.$/, '');
      const change = this.state.changes.get(p);
      if (change) {
        out.set(raw, change.oid);
      } else if (this.dirs.has(p)) {
        out.set(raw, await this.treeId(p));
      } else if (change === null) {
        out.set(raw, undefined);
      } else if ([...this.state.changes.keys()].some((c) => p.startsWith(`${c}/`))) {
        out.set(raw, undefined); // below a path that is now a file, or deleted
      } else {
        fromHead.push(raw);
      }
    }
    if (fromHead.length > 0) {
      for (const [p, id] of await this.repo.objectIds(this.state.head, fromHead)) { out.set(p, id); }
    }
    return out;
  }

  /** As SourceRepo.listFiles, for the working tree. */
  async listFiles(listings: readonly TreeListing[]): Promise<TreeFile[]> {
    const files = new Map((await this.repo.listFiles(this.state.head, listings)).map((f) => [f.path, f]));
    // What HEAD had below a path that is now a file (or deleted) is gone.
    for (const f of [...files.keys()]) {
      for (let at = f.indexOf('/'); at > 0; at = f.indexOf('/', at + 1)) {
        if (this.state.changes.has(f.slice(0, at))) { files.delete(f); break; }
      }
    }
    for (const [p, c] of this.state.changes) {
      if (c === null) { files.delete(p); continue; }
      if (listings.some((l) => within(p, l))) { files.set(p, { path: p, oid: c.oid, mode: c.mode }); }
    }
    return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
