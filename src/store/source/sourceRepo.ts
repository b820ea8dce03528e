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
import { CatFile, isObjectHeader } from './catFile';
import { branchCommits, rangeCommits, type CommitList } from './commitRanges';
import { folderTimes, mtimes, StampedMemo } from './fileStamps';
import { runGit, type GitResult, type RunGitOptions } from '../git/git';
import { readRef } from './gitDirs';
import { parseCommit, parseTree, type Tree } from '../git/objectFormat';
import { isUnreadableObject, type ObjectStore } from '../git/objects';
import { normalisePath, within, type Branch, type RepoHead, type TreeFile, type TreeListing } from './sourceTypes';
import { localObjects, TreeLookup, type Found } from './treeLookup';

export type { Branch, RepoHead, TreeFile, TreeListing } from './sourceTypes';
export { normalisePath } from './sourceTypes';

export interface SourceRepoOptions {
  /** Entries of the per-commit lookup cache (commits are immutable); 0 disables it. */
  cacheSize?: number;
  /** false: every object is read through git, never in this process (tests compare the two). */
  inProcess?: boolean;
}

export class SourceRepo implements Disposable {
  private readonly check: CatFile;
  private readonly contents: CatFile;
  /** Paths of commits looked up (see treeLookup.ts). */
  private readonly paths: TreeLookup;
  /** Listings of a commit's folders (see `listFiles`). */
  private readonly listings = lazily(() => new LRUCache<string, TreeFile[]>({ max: 64 }));

  /** Values derived from the repository's files, with what they were derived from. */
  private readonly memo = new StampedMemo();

  /** The repository's objects read in this process, when nothing makes that differ from git (see `localObjects`). */
  private readonly local: ObjectStore | undefined;

  private constructor(
    /** The work tree's root; undefined for a bare repository. */
    readonly topLevel: string | undefined,
    readonly gitDir: string,
    readonly commonDir: string,
    options: SourceRepoOptions,
  ) {
    this.local = options.inProcess !== false ? localObjects(commonDir) : undefined;
    this.check = new CatFile(gitDir, 'check');
    this.contents = new CatFile(gitDir, 'contents');
    this.paths = new TreeLookup(this.check, this.contents, this.local, options.cacheSize ?? 1024);
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
   * What an object id stands for, as files: a tree's every file with its path inside the tree (as
   * `git ls-tree -r` lists them), or the kind of a single object (a file's blob, a submodule's commit);
   * undefined when the repository does not have it (a tree of the working tree is computed, never written).
   */
  async objectFiles(id: string): Promise<{ kind: 'tree'; files: TreeFile[] } | { kind: 'blob' | 'commit' } | undefined> {
    if (!isObjectId(id)) { return undefined; }
    const [reply] = await this.check.query([id]);
    const type = reply && isObjectHeader(reply.header) ? reply.header.split(' ')[1] : undefined;
    if (type === 'blob' || type === 'commit') { return { kind: type }; }
    if (type !== 'tree') { return undefined; }
    const r = await this.git(['ls-tree', '-r', '-z', id], { allowFailure: true });
    return r.code === 0 ? { kind: 'tree', files: parseLsTree(r.stdout, () => true) } : undefined;
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

  /** See commitRanges.rangeCommits. */
  rangeCommits(range: string, max: number): Promise<CommitList> {
    return rangeCommits(this, range, max);
  }

  /** See commitRanges.branchCommits. */
  branchCommits(max: number): Promise<{ base: string | undefined } & CommitList> {
    return branchCommits(this, max);
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
    return this.memo.get(`remote ${name}`, () => mtimes(this.commonDir, ['config']), async () => {
      const r = await this.git(['config', '--get', `remote.${name}.url`], { allowFailure: true });
      return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
    });
  }

  /** The repository's tags in the packed-refs format (sorted, annotated tags peeled), for a build directory. */
  packedTags(): Promise<string> {
    // Kept while packed-refs and every folder under refs/tags are unchanged (a tag written, moved or
    // deleted renames or removes a file in one of them).
    return this.memo.get('tags', () => [...mtimes(this.commonDir, ['packed-refs']), ...folderTimes(path.join(this.commonDir, 'refs', 'tags'))], () => this.readTags());
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
    const local = await this.paths.listLocal(commit, norm);
    if (local) {
      this.listings().set(key, local);
      return local;
    }
    const args = ['ls-tree', '-r', '-z', '--full-tree', commit];
    if (!norm.some((s) => s.base === '')) { args.push('--', ...new Set(norm.map((s) => s.base))); }
    const files = parseLsTree((await this.git(args)).stdout, (file) => norm.some((s) => within(file, s)));
    this.listings().set(key, files);
    return files;
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
        if (!isUnreadableObject(e)) { throw e; }
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
        if (!isUnreadableObject(e)) { throw e; }
      }
    }
    // Asked by id: a path may hold a newline, which a line of cat-file cannot carry.
    if (found?.type !== 'blob') { return undefined; }
    const [reply] = await this.contents.query([found.oid]);
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

  private lookup(commit: string, paths: string[]): Promise<Map<string, Found>> {
    return this.paths.lookup(commit, paths);
  }
}

/** The files of `git ls-tree -r -z` output that `keep` keeps, sorted by path. */
function parseLsTree(out: Buffer, keep: (file: string) => boolean): TreeFile[] {
  const files: TreeFile[] = [];
  for (let i = 0; i < out.length;) {
    const nul = out.indexOf(0, i);
    const end = nul < 0 ? out.length : nul;
    const line = out.toString('utf8', i, end);
    const tab = line.indexOf('\t');
    const [mode, , oid] = line.slice(0, tab).split(' ');
    const file = line.slice(tab + 1);
    if (tab >= 0 && keep(file)) { files.push({ path: file, oid: oid!, mode: mode! }); }
    i = end + 1;
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
