// The user's repository, read with the git CLI and never written. Object lookups go through long-lived
// `git cat-file` processes: isomorphic-git would load a whole packfile to read one object, and a spawn per
// object costs tens of milliseconds in a large extension host.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DataKitError } from '../engine/errors';
import type { Disposable } from '../engine/events';

export interface RepoHead {
  readonly commit: string;
  /** The branch's short name; undefined when HEAD is detached. */
  readonly branch?: string;
}

export interface Branch {
  readonly name: string;
  readonly commit: string;
}

export interface GitResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number;
}

export interface RunGitOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Resolve with the exit code instead of throwing `GitFailed`. */
  allowFailure?: boolean;
}

// Inherited from a git hook or a terminal, these would point our commands at another repository or index.
const LOCATING_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_PREFIX'];

/** The environment of every git command: no optional locks (never the user's index.lock), no prompt. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const v of LOCATING_VARS) { delete env[v]; }
  return { ...env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** Options before the subcommand: an fsmonitor daemon must not be started for our reads or build dirs. */
export const GIT_GLOBAL_ARGS = ['-c', 'core.fsmonitor=false'];

export function gitNotFound(): DataKitError {
  return new DataKitError('GitNotFound', 'Could not run git: install git and make sure it is on the PATH.');
}

/** Runs one git command; a missing git binary is `GitNotFound`, a failure `GitFailed` (unless allowed). */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...GIT_GLOBAL_ARGS, ...args], {
      cwd: options.cwd, env: gitEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* git may exit before reading all its input */ });
    child.on('error', (e: NodeJS.ErrnoException) => {
      // A missing cwd is also reported as ENOENT by spawn.
      const cwdMissing = options.cwd !== undefined && !fs.existsSync(options.cwd);
      reject(e.code === 'ENOENT' && !cwdMissing ? gitNotFound() : e);
    });
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 };
      if (result.code !== 0 && !options.allowFailure) {
        const sub = args.find((a) => !a.startsWith('-')) ?? '';
        reject(new DataKitError('GitFailed', `git ${sub} failed: ${result.stderr.trim() || `exit code ${result.code}`}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(options.input ?? '');
  });
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

const FULL_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
type Found = { oid: string; type: string } | null;

export interface SourceRepoOptions {
  /** Entries of the per-commit lookup cache (commits are immutable); 0 disables it. */
  cacheSize?: number;
}

export class SourceRepo implements Disposable {
  private readonly check: CatFile;
  private readonly contents: CatFile;
  private readonly cache = new Map<string, Found>();
  private readonly cacheSize: number;

  private constructor(
    /** The work tree's root; undefined for a bare repository. */
    readonly topLevel: string | undefined,
    readonly gitDir: string,
    readonly commonDir: string,
    options: SourceRepoOptions,
  ) {
    this.check = new CatFile(gitDir, 'check');
    this.contents = new CatFile(gitDir, 'contents');
    this.cacheSize = options.cacheSize ?? 4096;
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

  /** Runs git on this repository (`--git-dir`: no discovery, no work tree). */
  git(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
    return runGit([`--git-dir=${this.gitDir}`, ...args], { cwd: this.gitDir, ...options });
  }

  /** The commit that `rev` names; unknown → `UnknownRevision`. */
  async resolve(rev: string): Promise<string> {
    const unknown = new DataKitError('UnknownRevision', `Unknown revision: ${rev}`);
    if (rev === '' || rev.startsWith('-') || /[\n\0]/.test(rev)) { throw unknown; }
    const r = await this.git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { allowFailure: true });
    if (r.code !== 0) { throw unknown; }
    return r.stdout.toString('utf8').trim();
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

  /** The commit's root tree id. */
  async rootTree(commit: string): Promise<string> {
    return (await this.lookup(commit, ['']).then((m) => m.get('')))!.oid;
  }

  /** A file's bytes in the commit; undefined when absent or not a file. */
  async readFile(commit: string, file: string): Promise<Buffer | undefined> {
    const p = normalisePath(file);
    await this.verifyCommit(commit);
    const [reply] = await this.contents.query([`${commit}:${p}`]);
    return reply && isObjectHeader(reply.header) && reply.header.split(' ')[1] === 'blob' ? reply.body : undefined;
  }

  /** The cat-file processes' pids (for tests: one process serves every query). */
  get catFilePids(): { check?: number; contents?: number } {
    return { check: this.check.pid, contents: this.contents.pid };
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
    const pinned = FULL_ID.test(commit) && this.cacheSize > 0;
    const result = new Map<string, Found>();
    const missing = ['^{commit}', ...paths].filter((p) => {
      const hit = pinned ? this.cacheGet(`${commit}\0${p}`) : undefined;
      if (hit !== undefined) { result.set(p, hit); }
      return hit === undefined;
    });
    if (missing.length > 0) {
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
    const v = this.cache.get(k);
    if (v !== undefined) { this.cache.delete(k); this.cache.set(k, v); }
    return v;
  }

  private cacheSet(k: string, v: Found): void {
    this.cache.set(k, v);
    if (this.cache.size > this.cacheSize) { this.cache.delete(this.cache.keys().next().value!); }
  }
}

function parseCheck(reply: CatReply): Found {
  if (!isObjectHeader(reply.header)) { return null; }
  const [oid, type] = reply.header.split(' ');
  return { oid: oid!, type: type! };
}

/** The id of entry `name` with `mode` in a raw tree object (`<mode> <name>\0<binary id>`…). */
export function findTreeEntry(tree: Buffer, name: string, idBytes: number, mode: string): string | undefined {
  const want = Buffer.from(`${mode} ${name}\0`);
  let i = 0;
  while (i < tree.length) {
    const nul = tree.indexOf(0, i);
    if (nul < 0) { break; }
    if (tree.subarray(i, nul + 1).equals(want)) { return tree.subarray(nul + 1, nul + 1 + idBytes).toString('hex'); }
    i = nul + 1 + idBytes;
  }
  return undefined;
}

// The cat-file batch protocol: one query a line; each reply is a header line, then (for --batch) the
// object's bytes and a newline. Replies come back in query order.

export interface CatReply {
  /** `<id> <type> <size>`, or `<query> missing` (or `ambiguous`) when there is no such object. */
  readonly header: string;
  /** The object's bytes (contents mode, when found). */
  readonly body?: Buffer;
}

const CAT_FORMAT = '%(objectname) %(objecttype) %(objectsize)';
const OBJECT_HEADER = /^[0-9a-f]{40,64} [a-z]+ \d+$/;

export function isObjectHeader(header: string): boolean {
  return OBJECT_HEADER.test(header);
}

/** Bytes received and not parsed yet, kept as chunks so that a large blob is copied once. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  indexOf(byte: number): number {
    let offset = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(byte);
      if (i >= 0) { return offset + i; }
      offset += c.length;
    }
    return -1;
  }

  take(n: number): Buffer {
    const parts: Buffer[] = [];
    for (let need = n; need > 0;) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}

interface PendingReply {
  resolve(r: CatReply): void;
  reject(e: Error): void;
  header?: string;
  size?: number;
}

/** One long-lived `git cat-file --batch-check` or `--batch` process, started on demand. */
export class CatFile {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buf = new ByteQueue();
  private pending: PendingReply[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private stderr = '';

  constructor(private readonly gitDir: string, private readonly mode: 'check' | 'contents') {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Answers the queries in order. One batch is written at a time; a process that died is restarted once. */
  query(lines: string[]): Promise<CatReply[]> {
    const run = this.tail.then(() => this.send(lines).catch((e: unknown) =>
      (e instanceof ProcessDied && !this.disposed ? this.send(lines) : Promise.reject(e))));
    this.tail = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    this.disposed = true;
    if (this.child) { this.fail(this.child, new DataKitError('Disposed', 'The repository reader was disposed')); }
  }

  private send(lines: string[]): Promise<CatReply[]> {
    if (this.disposed) { return Promise.reject(new DataKitError('Disposed', 'The repository reader was disposed')); }
    if (lines.length === 0) { return Promise.resolve([]); }
    const child = this.child ?? this.start();
    const replies = lines.map(() => new Promise<CatReply>((resolve, reject) => this.pending.push({ resolve, reject })));
    this.setRef(child, true);
    child.stdin.write(lines.join('\n') + '\n');
    return Promise.all(replies).finally(() => this.setRef(child, false));
  }

  private start(): ChildProcessWithoutNullStreams {
    const flag = this.mode === 'check' ? `--batch-check=${CAT_FORMAT}` : `--batch=${CAT_FORMAT}`;
    const child = spawn('git', [...GIT_GLOBAL_ARGS, `--git-dir=${this.gitDir}`, 'cat-file', flag],
      { cwd: this.gitDir, env: gitEnv(), windowsHide: true });
    this.child = child;
    this.buf = new ByteQueue();
    this.stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (this.child === child) { this.buf.push(b); this.parse(); }
    });
    child.stderr.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString('utf8')).slice(-2000); });
    child.stdin.on('error', () => { /* reported by 'close' */ });
    child.on('error', (e: NodeJS.ErrnoException) => this.fail(child, e.code === 'ENOENT' ? gitNotFound() : e));
    child.on('close', (code, signal) => this.fail(child, new ProcessDied(
      `git cat-file exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ''}`)));
    return child;
  }

  private parse(): void {
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      if (p.header === undefined) {
        const nl = this.buf.indexOf(10);
        if (nl < 0) { return; }
        const header = this.buf.take(nl + 1).subarray(0, nl).toString('utf8');
        if (this.mode === 'check' || !OBJECT_HEADER.test(header)) {
          this.pending.shift();
          p.resolve({ header });
          continue;
        }
        p.header = header;
        p.size = Number(header.slice(header.lastIndexOf(' ') + 1));
      }
      if (this.buf.length < p.size! + 1) { return; }
      const body = this.buf.take(p.size! + 1).subarray(0, p.size);
      this.pending.shift();
      p.resolve({ header: p.header, body });
    }
  }

  private fail(child: ChildProcessWithoutNullStreams, error: Error): void {
    if (this.child !== child) { return; }
    this.child = undefined;
    const pending = this.pending;
    this.pending = [];
    child.stdin.end();
    child.kill();
    for (const p of pending) { p.reject(error); }
  }

  // An idle reader must not keep a command-line process alive.
  private setRef(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as { ref(): void; unref(): void }[]) {
      if (busy) { h.ref(); } else { h.unref(); }
    }
  }
}

class ProcessDied extends DataKitError {
  constructor(message: string) {
    super('GitFailed', message);
  }
}
