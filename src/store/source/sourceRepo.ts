// The user's repository, read with the git CLI and never written. Object lookups go through long-lived
// `git cat-file` processes: isomorphic-git would load a whole packfile to read one object, and a spawn per
// object costs tens of milliseconds in a large extension host.
import fs = require('node:fs');
import path = require('node:path');
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../../shared/errors';
import { lazily } from '../../shared/lazy';
import { isObjectId } from '../../shared/objectId';
import type { Disposable } from '../../shared/events';
import { CatFile, isObjectHeader, type CatReply } from './catFile';
import { runGit, type GitResult, type RunGitOptions } from '../git/git';
import { readRef } from './gitDirs';
import { findTreeEntry, parseCommit, parseTree, type Tree, type TreeEntry } from '../git/objectFormat';
import { ObjectStore } from '../git/objects';

export interface RepoHead {
  readonly commit: string;
  /** The branch's short name; undefined when HEAD is detached. */
  readonly branch?: string;
}

/** A file of a commit's tree. */
export interface TreeFile {
  readonly path: string;
  readonly oid: string;
  readonly mode: string;
}

export interface Branch {
  readonly name: string;
  readonly commit: string;
}

/** A path of the commit as cat-file expects it (`a/b`, '' for the root); `..`, NUL and newlines are refused. */
export function normalisePath(p: string): string {
  if (/[\n\0]/.test(p) || p.endsWith('\r')) {
    throw new DataKitError('InvalidPath', `A path with a newline or NUL cannot be looked up: ${JSON.stringify(p)}`);
  }
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) { throw new DataKitError('InvalidPath', `A path must stay inside the repository: ${p}`); }
  return parts.join('/');
}

type Found = { oid: string; type: string } | null;

export interface SourceRepoOptions {
  /** Entries of the per-commit lookup cache (commits are immutable); 0 disables it. */
  cacheSize?: number;
  /** false: every object is read through git, never in this process (tests compare the two). */
  inProcess?: boolean;
}

/**
 * Whether the repository's objects can be read in this process exactly as git would read them: no
 * alternates, grafts or replace refs (git would substitute objects), no extensions (another hash, a
 * partial clone whose missing objects git fetches). Otherwise every read goes through `git cat-file`.
 */
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



/** The modification times of files of `dir` (-1 for a missing one), to tell when they change. */
function mtimes(dir: string, files: readonly string[]): number[] {
  return files.map((f) => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? -1);
}

/** The modification times of a folder and of every folder beneath it (-1 if it is missing). */
function folderTimes(dir: string, into: number[] = []): number[] {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) { into.push(-1); return into; }
  into.push(st.mtimeMs);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) { folderTimes(path.join(dir, e.name), into); }
  }
  return into;
}

/**
 * A file changed within this long of a look may have changed again since without its time changing (the
 * clock of file times is coarse): what depends on it is not kept.
 */
const RACY_MS = 2000;

/** What `listFiles` lists: the files under `base`, at most `depth` levels down (undefined: all). */
export interface TreeListing {
  readonly base: string;
  readonly depth?: number;
}

/** Whether `file` is one that `spec` lists. */
function within(file: string, spec: TreeListing): boolean {
  if (spec.base !== '' && file !== spec.base && !file.startsWith(`${spec.base}/`)) { return false; }
  if (spec.depth === undefined || file === spec.base) { return true; }
  const rest = spec.base === '' ? file : file.slice(spec.base.length + 1);
  return rest.split('/').length <= spec.depth;
}

export class SourceRepo implements Disposable {
  private readonly check: CatFile;
  private readonly contents: CatFile;
  /** What a path of a commit is (commits are immutable); a path found absent is remembered as `null`. */
  private readonly cache: (() => LRUCache<string, { found: Found }>) | undefined;
  /** Listings of a commit's folders (see `listFiles`). */
  private readonly listings = lazily(() => new LRUCache<string, TreeFile[]>({ max: 64 }));

  /** Values derived from the repository's files, with what they were derived from (see `whileUnchanged`). */
  private readonly memo = new Map<string, { stamp: string; value: Promise<unknown> }>();

  /** The repository's objects read in this process, when nothing makes that differ from git (see `plainObjects`). */
  private readonly local: ObjectStore | undefined;

  private constructor(
    /** The work tree's root; undefined for a bare repository. */
    readonly topLevel: string | undefined,
    readonly gitDir: string,
    readonly commonDir: string,
    options: SourceRepoOptions,
  ) {
    this.local = options.inProcess !== false && plainObjects(commonDir) ? new ObjectStore(commonDir, false) : undefined;
    this.check = new CatFile(gitDir, 'check');
    this.contents = new CatFile(gitDir, 'contents');
    const size = options.cacheSize ?? 1024;
    this.cache = size > 0 ? lazily(() => new LRUCache({ max: size })) : undefined;
  }

  static async open(dir: string, options: SourceRepoOptions = {}): Promise<SourceRepo> {
    const abs = path.resolve(dir);
    const notRepo = (why: string): DataKitError => new DataKitError('NotARepository', `Not a git repository: ${abs}${why}`);
    if (!fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) { throw notRepo(' (no such directory)'); }
    const r = await runGit(['rev-parse', '--is-inside-work-tree', '--git-dir', '--git-common-dir'], { cwd: abs, allowFailure: true });
    if (r.code !== 0) {
      const msg = r.stderr.trim().split('\n')[0] ?? '';
      throw notRepo(/not a git repository/i.test(msg) || !msg ? '' : ` (${msg.replace(/^fatal: /, '')})`);
    }
    const [inside, gitDir, commonDir] = r.stdout.toString('utf8').trim().split('\n');
    let topLevel: string | undefined;
    if (inside === 'true') {
      topLevel = (await runGit(['rev-parse', '--show-toplevel'], { cwd: abs })).stdout.toString('utf8').trim();
    }
    const real = (p: string): string => fs.realpathSync(path.resolve(abs, p));
    return new SourceRepo(topLevel && real(topLevel), real(gitDir!), real(commonDir!), options);
  }

  /**
   * A reader of a repository whose directories are known already (gitDirs.locateRepository), started with
   * no git process: `open` asks git where they are.
   */
  static fromDirs(dirs: { topLevel?: string; gitDir: string; commonDir: string }, options: SourceRepoOptions = {}): SourceRepo {
    const real = (p: string): string => fs.realpathSync(p);
    return new SourceRepo(dirs.topLevel && real(dirs.topLevel), real(dirs.gitDir), real(dirs.commonDir), options);
  }

  /** Runs git on this repository (`--git-dir`: no discovery, no work tree). */
  git(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
    return runGit([`--git-dir=${this.gitDir}`, ...args], { cwd: this.gitDir, ...options });
  }

  /**
   * The files that differ between two trees (of one input, in two builds), paths relative to those trees;
   * undefined when either tree is not in the repository (a working tree's trees are computed, not stored).
   */
  async changedFiles(before: string, after: string): Promise<{ change: 'added' | 'removed' | 'changed'; path: string }[] | undefined> {
    const r = await this.git(['diff-tree', '-r', '-z', '--no-renames', '--name-status', before, after]);
    if (r.code !== 0) {
      // Two versions of one file: that file changed.
      const types = await Promise.all([before, after].map(async (id) => (await this.git(['cat-file', '-t', id])).stdout.toString().trim()));
      return types.every((t) => t === 'blob') ? [{ change: 'changed', path: '' }] : undefined;
    }
    const parts = r.stdout.toString('utf8').split('\0');
    const out: { change: 'added' | 'removed' | 'changed'; path: string }[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const status = parts[i]!;
      out.push({ change: status === 'A' ? 'added' : status === 'D' ? 'removed' : 'changed', path: parts[i + 1]! });
    }
    return out;
  }

  /** The commit that `rev` names; unknown → `UnknownRevision`. */
  async resolve(rev: string): Promise<string> {
    const unknown = new DataKitError('UnknownRevision', `Unknown revision: ${rev}`);
    if (rev === '' || rev.startsWith('-') || /[\n\0]/.test(rev)) { throw unknown; }
    const local = await this.resolveLocal(rev);
    if (local !== undefined) { return local; }
    const r = await this.git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { allowFailure: true });
    if (r.code !== 0) { throw unknown; }
    return r.stdout.toString('utf8').trim();
  }

  /** HEAD, a branch or a full commit id, resolved by reading files (undefined: ask git). */
  private async resolveLocal(rev: string): Promise<string | undefined> {
    if (!this.local) { return undefined; }
    const id = isObjectId(rev) ? rev
      : rev === 'HEAD' || /^refs\/heads\/[^\s~^:?*[\\]+$/.test(rev) ? readRef({ gitDir: this.gitDir, commonDir: this.commonDir }, rev) : undefined;
    if (id === undefined) { return undefined; }
    try {
      await this.local.readCommit(id);
      return id;
    } catch {
      return undefined; // not a commit here (a tag, a missing object): git says what it is
    }
  }

  /** HEAD's commit and branch; undefined on an unborn branch. */
  async head(): Promise<RepoHead | undefined> {
    const [sym, rev] = await Promise.all([
      this.git(['symbolic-ref', '--quiet', 'HEAD'], { allowFailure: true }),
      this.git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { allowFailure: true }),
    ]);
    if (rev.code !== 0) { return undefined; }
    const commit = rev.stdout.toString('utf8').trim();
    const ref = sym.code === 0 ? sym.stdout.toString('utf8').trim() : '';
    if (!ref) { return { commit }; }
    return { commit, branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref };
  }

  /** A commit's subject (the first line of its message); `UnknownRevision` if the repository has no such commit. */
  async commitSubject(commit: string): Promise<string> {
    if (!isObjectId(commit)) { throw new DataKitError('UnknownRevision', `Unknown revision: ${commit}`); }
    if (this.local) {
      try {
        return (await this.local.readCommit(commit)).message.split('\n')[0];
      } catch {
        // not readable here: git says
      }
    }
    // The running cat-file process (no spawn per commit: a history may name 50 commits this repository lacks).
    const [reply] = await this.contents.query([commit]);
    if (!reply || !isObjectHeader(reply.header) || reply.header.split(' ')[1] !== 'commit' || !reply.body) {
      throw new DataKitError('UnknownRevision', `Unknown revision: ${commit}`);
    }
    return parseCommit(reply.body).message.split('\n')[0]!;
  }

  /**
   * The commits of `A..B` (or `A...B`), newest first (`git rev-list --topo-order`): at most `max` of them,
   * with how many there are in all. A side left empty is HEAD, as for git. Anything that is not such a range
   * is `InvalidRange`; a side the repository does not know is `UnknownRevision`, naming it.
   */
  async rangeCommits(range: string, max: number): Promise<{ commits: { commit: string; subject: string }[]; total: number }> {
    // A ref name never holds '..': the first one splits the range.
    const at = range.indexOf('..');
    const op = range[at + 2] === '.' ? '...' : '..';
    const [a, b] = [range.slice(0, at), range.slice(at + op.length)];
    if (at < 0 || b.includes('..') || /[\s\0]/.test(range) || range.startsWith('-') || (!a && !b)) {
      throw new DataKitError('InvalidRange', `Not a range of commits: '${range}' (write it as A..B: the commits reachable from B and not from A)`);
    }
    const [from, to] = await Promise.all([this.resolve(a || 'HEAD'), this.resolve(b || 'HEAD')]);
    const spec = `${from}${op}${to}`;
    const [count, list] = await Promise.all([
      this.git(['rev-list', '--count', spec, '--']),
      this.git(['log', '--topo-order', '--format=%H %s', `--max-count=${max}`, spec, '--']),
    ]);
    const commits = list.stdout.toString('utf8').split('\n').filter(Boolean).map((line) => {
      const sp = line.indexOf(' '); // after a SHA-1 or a SHA-256 id
      return { commit: line.slice(0, sp), subject: line.slice(sp + 1) };
    });
    return { commits, total: Number(count.stdout.toString('utf8').trim()) };
  }

  /**
   * The commits of the current branch that are not on its upstream (or, without one, not on the default
   * branch: `origin/HEAD`, else `main` or `master`), newest first, HEAD included; with what they were
   * counted against. Just HEAD when there is nothing to compare with.
   */
  async branchCommits(max: number): Promise<{ base: string | undefined; commits: { commit: string; subject: string }[]; total: number }> {
    const head = await this.head();
    if (!head) { return { base: undefined, commits: [], total: 0 }; }
    const upstream = await this.git(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'], { allowFailure: true });
    let base = upstream.code === 0 ? upstream.stdout.toString('utf8').trim() : undefined;
    if (!base) {
      const origin = await this.git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { allowFailure: true });
      const candidates = [origin.code === 0 ? origin.stdout.toString('utf8').trim() : '', 'main', 'master'].filter((b) => b && b !== head.branch);
      for (const c of candidates) {
        const r = await this.git(['rev-parse', '--verify', '--quiet', `${c}^{commit}`], { allowFailure: true });
        if (r.code === 0) { base = c; break; }
      }
    }
    if (!base) {
      return { base: undefined, commits: [{ commit: head.commit, subject: await this.commitSubject(head.commit) }], total: 1 };
    }
    const mergeBase = await this.git(['merge-base', base, head.commit], { allowFailure: true });
    const from = mergeBase.code === 0 ? mergeBase.stdout.toString('utf8').trim() : undefined;
    const range = from ? await this.rangeCommits(`${from}..${head.commit}`, max) : { commits: [], total: 0 };
    if (range.commits[0]?.commit !== head.commit) { // HEAD on its base: HEAD alone
      return { base, commits: [{ commit: head.commit, subject: await this.commitSubject(head.commit) }], total: 1 };
    }
    return { base, ...range };
  }

  /**
   * The subjects of many commits at once (one round trip to the running cat-file process); a commit the
   * repository does not have (a result built from a commit fetched elsewhere) is left out.
   */
  async commitSubjects(commits: readonly string[]): Promise<Map<string, string>> {
    const ids = [...new Set(commits.filter((c) => isObjectId(c)))];
    const out = new Map<string, string>();
    if (ids.length === 0) { return out; }
    const replies = await this.contents.query(ids);
    ids.forEach((id, i) => {
      const r = replies[i];
      if (r && isObjectHeader(r.header) && r.header.split(' ')[1] === 'commit' && r.body) { out.set(id, parseCommit(r.body).message.split('\n')[0]!); }
    });
    return out;
  }

  /** The URL of a remote as git would use it (the user's configuration included), or undefined. */
  remoteUrl(name: string): Promise<string | undefined> {
    // Asked for every build directory: kept while the repository's config file is unchanged.
    return this.whileUnchanged(`remote ${name}`, () => mtimes(this.commonDir, ['config']), async () => {
      const r = await this.git(['config', '--get', `remote.${name}.url`], { allowFailure: true });
      return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
    });
  }

  /** The repository's tags in the packed-refs format (sorted, annotated tags peeled), for a build directory. */
  packedTags(): Promise<string> {
    // Kept while packed-refs and every folder under refs/tags are unchanged (a tag written, moved or
    // deleted renames or removes a file in one of them).
    return this.whileUnchanged('tags', () => [...mtimes(this.commonDir, ['packed-refs']), ...folderTimes(path.join(this.commonDir, 'refs', 'tags'))], () => this.readTags());
  }

  /**
   * `compute`'s value, computed again when the modification times of what it depends on (`times`) changed,
   * or changed too recently to tell.
   */
  private whileUnchanged<T>(name: string, times: () => number[], compute: () => Promise<T>): Promise<T> {
    const t = times();
    const stamp = t.join(' ');
    const known = this.memo.get(name);
    if (known && known.stamp === stamp) { return known.value as Promise<T>; }
    const value = compute();
    this.memo.set(name, { stamp, value });
    // Shared by the calls made while it is computed; kept after only if what it depends on is settled.
    if (Math.max(...t) > Date.now() - RACY_MS) {
      const forget = (): void => { if (this.memo.get(name)?.value === value) { this.memo.delete(name); } };
      value.then(forget, forget);
    }
    // A failure is not kept (its callers get it through `value`): the next call computes again.
    value.catch(() => { if (this.memo.get(name)?.value === value) { this.memo.delete(name); } });
    return value;
  }

  private async readTags(): Promise<string> {
    const r = await this.git(['for-each-ref', '--format=%(objectname) %(refname)%00%(*objectname)', 'refs/tags/']);
    const lines = ['# pack-refs with: peeled fully-peeled sorted '];
    for (const line of r.stdout.toString('utf8').split('\n')) {
      const [ref, peeled] = line.split('\0');
      if (!ref) { continue; }
      lines.push(ref);
      if (peeled) { lines.push(`^${peeled}`); }
    }
    return lines.join('\n') + '\n';
  }

  /** Local branches (`refs/heads`) that point at commits, in ref order. */
  async branches(): Promise<Branch[]> {
    const r = await this.git(['for-each-ref', '--format=%(objectname) %(objecttype) %(refname)', 'refs/heads/']);
    const out: Branch[] = [];
    for (const line of r.stdout.toString('utf8').split('\n')) {
      const [commit, type, ref] = line.split(' ');
      if (commit && type === 'commit' && ref) { out.push({ name: ref.slice('refs/heads/'.length), commit }); }
    }
    return out;
  }

  /** The object id of each path in the commit (blob, tree or submodule commit); undefined when absent. */
  async objectIds(commit: string, paths: readonly string[]): Promise<Map<string, string | undefined>> {
    const norm = paths.map(normalisePath);
    const found = await this.lookup(commit, [...new Set(norm)]);
    return new Map(paths.map((p, i) => [p, found.get(norm[i]!)?.oid]));
  }

  /**
   * Every file of the commit under the given folders ('' is the whole tree), each as deep as its listing
   * says (all the way by default), sorted by path: blobs (`100644`, `100755`, `120000`) and submodules
   * (`160000`, whose id is a commit). Cached by commit.
   */
  async listFiles(commit: string, listings: readonly (string | TreeListing)[]): Promise<TreeFile[]> {
    await this.verifyCommit(commit);
    const specs = new Map<string, TreeListing>();
    for (const l of listings) {
      const { base, depth } = typeof l === 'string' ? { base: l, depth: undefined } : l;
      const spec = { base: normalisePath(base), depth };
      specs.set(`${spec.base}\0${depth ?? ''}`, spec);
    }
    const norm = [...specs.values()].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : (a.depth ?? Infinity) - (b.depth ?? Infinity)));
    const key = `${commit}\0${[...specs.keys()].sort().join('\0')}`;
    const cached = this.listings().get(key);
    if (cached) { return cached; }
    const local = await this.listLocal(commit, norm);
    if (local) {
      this.listings().set(key, local);
      return local;
    }
    const args = ['ls-tree', '-r', '-z', '--full-tree', commit];
    if (!norm.some((s) => s.base === '')) { args.push('--', ...new Set(norm.map((s) => s.base))); }
    const out = (await this.git(args)).stdout;
    const files: TreeFile[] = [];
    for (let i = 0; i < out.length;) {
      const nul = out.indexOf(0, i);
      const end = nul < 0 ? out.length : nul;
      const line = out.toString('utf8', i, end);
      const tab = line.indexOf('\t');
      const [mode, , oid] = line.slice(0, tab).split(' ');
      const file = line.slice(tab + 1);
      if (norm.some((s) => within(file, s))) { files.push({ path: file, oid: oid!, mode: mode! }); }
      i = end + 1;
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.listings().set(key, files);
    return files;
  }

  /** `listFiles` in this process; undefined when the objects cannot be read here. */
  private async listLocal(commit: string, specs: readonly TreeListing[]): Promise<TreeFile[] | undefined> {
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
      if (DataKitError.is(e, 'ObjectMissing') || DataKitError.is(e, 'CorruptObject')) { return undefined; }
      throw e;
    }
    const unique = new Map(files.map((f) => [f.path, f]));
    return [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The entries of the tree at `dir` of `tree-ish` `commit` ('' is the root); undefined when `dir` is not a folder there. */
  async treeAt(commit: string, dir: string): Promise<Tree | undefined> {
    const p = normalisePath(dir);
    const found = (await this.lookup(commit, [p])).get(p);
    if (!found || found.type !== 'tree') { return undefined; }
    if (this.local) {
      try {
        return await this.local.readTree(found.oid);
      } catch (e) {
        if (!DataKitError.is(e, 'ObjectMissing') && !DataKitError.is(e, 'CorruptObject')) { throw e; }
      }
    }
    const [reply] = await this.contents.query([found.oid]);
    if (!reply || !isObjectHeader(reply.header) || !reply.body) { throw new DataKitError('ObjectMissing', `Tree ${found.oid} (${p || 'the root'} of ${commit}) cannot be read`); }
    return parseTree(reply.body, reply.header.indexOf(' ') / 2);
  }

  /** The commit's root tree id. */
  async rootTree(commit: string): Promise<string> {
    return (await this.lookup(commit, ['']).then((m) => m.get('')))!.oid;
  }

  /** A file's bytes in the commit; undefined when absent or not a file. */
  async readFile(commit: string, file: string): Promise<Buffer | undefined> {
    const p = normalisePath(file);
    const found = (await this.lookup(commit, [p])).get(p);
    if (this.local && found) {
      if (found.type !== 'blob') { return undefined; }
      try {
        return (await this.local.read(found.oid)).content;
      } catch (e) {
        if (!DataKitError.is(e, 'ObjectMissing') && !DataKitError.is(e, 'CorruptObject')) { throw e; }
      }
    }
    const [reply] = await this.contents.query([`${commit}:${p}`]);
    return reply && isObjectHeader(reply.header) && reply.header.split(' ')[1] === 'blob' ? reply.body : undefined;
  }

  /** The cat-file processes' pids (for tests: one process serves every query). */
  get catFilePids(): { check?: number; contents?: number } {
    return { check: this.check.pid, contents: this.contents.pid };
  }

  /** Whether objects are read in this process (else every read is a `git cat-file` query). */
  get readsInProcess(): boolean {
    return this.local !== undefined;
  }

  dispose(): void {
    this.check.dispose();
    this.contents.dispose();
  }

  private async verifyCommit(commit: string): Promise<void> {
    await this.lookup(commit, []); // throws UnknownRevision
  }

  /** Looks the paths up, from the cache or with one batch of queries (plus the commit check). */
  private async lookup(commit: string, paths: string[]): Promise<Map<string, Found>> {
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
      const replies = await this.check.query(missing.map((p) => (p === '^{commit}' ? `${commit}^{commit}` : `${commit}:${p}`)));
      for (const [i, p] of missing.entries()) {
        let found = parseCheck(replies[i]!);
        if (!found && p !== '^{commit}' && result.get('^{commit}') !== null) { found = await this.gitlink(commit, p); }
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
  private async lookupLocal(commit: string, paths: string[]): Promise<Map<string, Found> | undefined> {
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
      if (DataKitError.is(e, 'ObjectMissing') || DataKitError.is(e, 'CorruptObject')) { return undefined; }
      throw e;
    }
  }

  // A submodule's commit is not in this repository, so cat-file reports it missing: read the parent tree.
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
