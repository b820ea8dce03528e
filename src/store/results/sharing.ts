// Sharing results through an ordinary git remote: push our entries' branches to `refs/datakit-ci/*` there,
// fetch a remote's into `refs/fetched/<remote>/` here, and adopt a fetched result where we have none.
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError, isMissing, unlessMissing } from '../../shared/errors';
import { checkName } from '../git/names';
import { fetchEach } from './fetchEach';
import { FetchedChecks } from './fetchedChecks';
import { whileFetching } from './fetchGuard';
import { readPushed, recordPushed, type PushedResult } from './pushed';
import type { GitResult, RunGitOptions } from '../git/git';
import type { StoreContext } from './storeContext';

/** Where results are shared on a remote, and where those fetched from a remote are kept here. */
export const SHARED_PREFIX = 'refs/datakit-ci/';
export const FETCHED_PREFIX = 'refs/fetched/';
/** Where runners' claims live on a remote (see claims.ts), and where those fetched from a remote are kept here. */
export const CLAIMS_PREFIX = 'refs/datakit-ci-claims/';
export const SEEN_CLAIMS_PREFIX = 'refs/claims-seen/';
/** How long a push or fetch may go without finishing. */
export const REMOTE_TIMEOUT_MS = 120_000;

export class Sharing {
  /** What a fetched result must pass before it is adopted. */
  private readonly checks: FetchedChecks;
  private remotesMemo: { mtime: number; packed: string | undefined; remotes: Promise<ReadonlySet<string>>; thisTurn: boolean } | undefined;

  constructor(private readonly ctx: StoreContext) {
    this.checks = new FetchedChecks(ctx);
  }

  /**
   * No result of ours: one fetched from a remote (`refs/fetched/<remote>/<builder>/<entry>`, origin first),
   * made ours (the entry's branch now points at it, so a rebuild continues its history) unless `readOnly`.
   * Undefined if none.
   */
  async adopt(builder: string, entry: string, ref: string, readOnly: boolean): Promise<string | undefined> {
    // Each is checked before it touches the entry's branch (see fetchedChecks.ts): a refused one never
    // enters its history, and is never pushed on; the next remote's, if any, is looked at instead.
    for (const { remote, commit } of await this.fetchedHeads(builder, entry)) {
      if (await this.checks.refusal(remote, builder, entry, commit) !== undefined) { continue; }
      // Signed results: one the trusted builders do not vouch for is not used, and why is said (see trust.ts).
      if (await this.ctx.trust?.refuses(this.ctx.objects, commit, remote, builder, entry, this.ctx.onWarning)) { continue; }
      // Read-only (`status`, `log`): shown as it is, not made ours.
      if (readOnly) { return commit; }
      // Another process may adopt or save at the same moment: whatever the branch holds then wins.
      return await this.ctx.refs.compareAndSwap(ref, undefined, commit) ?? await this.ctx.refs.resolve(ref);
    }
    return undefined;
  }

  /** The results fetched from remotes for an entry, `origin` first: `{ remote, commit }`. */
  async fetchedHeads(builder: string, entry: string): Promise<{ remote: string; commit: string }[]> {
    checkName('builder', builder);
    const remotes = await this.fetchedRemotes();
    const out: { remote: string; commit: string }[] = [];
    for (const remote of remotes) {
      const commit = await this.ctx.refs.resolve(`${FETCHED_PREFIX}${remote}/${builder}/${entry}`);
      if (commit !== undefined) { out.push({ remote, commit }); }
    }
    return out.sort((a, b) => (a.remote === 'origin' ? -1 : b.remote === 'origin' ? 1 : a.remote < b.remote ? -1 : 1));
  }

  /**
   * The remotes fetched from: folders under refs/fetched, and packed refs there. Read again only when that
   * folder or packed-refs changed: every row of a tree and every job a build reports on asks, so whether they
   * changed is two synchronous stats (two round trips through libuv's thread pool each cost more than both).
   */
  private fetchedRemotes(): Promise<ReadonlySet<string>> {
    // Asked again before the event loop turns (the jobs of a report, asked about at once): the look taken
    // in this turn answers all of them, as one snapshot, with no two stats each.
    if (this.remotesMemo?.thisTurn) { return this.remotesMemo.remotes; }
    const dir = path.join(this.ctx.dir, ...FETCHED_PREFIX.split('/').filter(Boolean));
    const mtime = statIfThere(dir)?.mtimeMs ?? -1;
    // Seen before they are read: if either changes meanwhile, the next call reads them again. The callers
    // that see the same (every job of a build, at once) share one read.
    const stamp = this.ctx.refs.packedStamp();
    const known = this.remotesMemo;
    if (known && known.mtime === mtime && known.packed === stamp) {
      known.thisTurn = true;
      setImmediate(() => { known.thisTurn = false; }).unref();
      return known.remotes;
    }
    const remotes = this.readFetchedRemotes(dir, mtime >= 0, stamp !== undefined);
    const memo = { mtime, packed: stamp, remotes, thisTurn: true };
    this.remotesMemo = memo;
    setImmediate(() => { memo.thisTurn = false; }).unref();
    remotes.catch(() => { if (this.remotesMemo?.remotes === remotes) { this.remotesMemo = undefined; } });
    return remotes;
  }

  private async readFetchedRemotes(dir: string, folder: boolean, packedRefs: boolean): Promise<ReadonlySet<string>> {
    const remotes = new Set(folder ? await unlessMissing(fs.promises.readdir(dir)) ?? [] : []);
    for (const r of packedRefs ? (await this.ctx.refs.packed()).keys() : []) {
      if (r.startsWith(FETCHED_PREFIX)) { remotes.add(r.slice(FETCHED_PREFIX.length).split('/')[0]!); }
    }
    return remotes;
  }

  /**
   * Sends every result to `remote` under `refs/datakit-ci/<builder>/<entry>`, through git with the user's
   * repository's configuration (`userConfig`: its remotes, `insteadOf`, credentials and SSH settings; never
   * its hooks). A result the remote already has from another machine is left as it is (not forced); one
   * that we left there, whose history gc rewrote here since, is replaced by ours when ours is newer (see
   * `replaceOurs`). What the remote holds then is recorded (see pushed.ts).
   */
  async pushTo(remote: string, userConfig: string, options: { timeoutMs?: number } = {}): Promise<{ sent: number; upToDate: number; alreadyShared: number }> {
    checkRemoteName(remote);
    this.ctx.checkProcesses(`push the results to ${remote}`);
    const remoteOptions = { allowFailure: true, timeoutMs: options.timeoutMs ?? REMOTE_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0' } };
    const push = (args: readonly string[]) => this.ctx.git('push', ['-c', `include.path=${userConfig}`, '-c', 'core.hooksPath=/dev/null', '-c', 'core.bare=true',
      'push', '--porcelain', '--no-verify', ...args], remoteOptions);
    const r = await push([remote, `${this.ctx.refPrefix}*:${SHARED_PREFIX}*`]);
    const lines = porcelainLines(r.stdout);
    const count = (flags: string) => lines.filter((l) => flags.includes(l[0]!)).length;
    const rejected = lines.filter((l) => l.startsWith('!'));
    const behind = rejected.filter((l) => /\((non-fast-forward|fetch first|already exists)\)$/.test(l));
    let other = rejected.filter((l) => !behind.includes(l));
    if (other.length > 0) {
      // Another machine may have pushed the same key a moment before (the remote could not lock the ref, or
      // found it created): what the remote holds now says whether it is shared.
      const present = await this.remoteRefs(remote, userConfig, other.map((l) => refsOf(l).dst), remoteOptions);
      other = other.filter((l) => !present.has(refsOf(l).dst));
    }
    if ((r.code !== 0 && lines.length === 0) || other.length > 0) {
      throw new DataKitError('RemoteFailed', `Could not push the results to ${remote}: ${remoteError(r.stderr) || other.join('; ')}`);
    }
    const now = await this.resultsOf(lines.filter((l) => ' +*='.includes(l[0]!)).map(refsOf));
    const ours = await this.replaceOurs(remote, userConfig, behind.map(refsOf), remoteOptions, push);
    recordPushed(this.ctx.dir, remote, new Map([...now, ...ours.now]));
    return { sent: count(' +*') + ours.sent, upToDate: count('=') + ours.upToDate, alreadyShared: rejected.length - ours.sent - ours.upToDate };
  }

  /**
   * The results the remote refused as not fast-forwards whose value there is the one we left (see pushed.ts):
   * ours, their history rewritten by gc. Each is replaced by ours when ours finished later (with a lease on
   * the value we left: another machine's push meanwhile is kept), else the remote holds a newer one of ours.
   */
  private async replaceOurs(remote: string, userConfig: string, refused: readonly { src: string; dst: string }[], remoteOptions: RunGitOptions,
    push: (args: readonly string[]) => Promise<GitResult>): Promise<{ sent: number; upToDate: number; now: Map<string, PushedResult> }> {
    const out = { sent: 0, upToDate: 0, now: new Map<string, PushedResult>() };
    const left = readPushed(this.ctx.dir, remote);
    const mine = refused.filter((p) => left.has(p.dst));
    if (mine.length === 0) { return out; }
    const there = await this.remoteRefs(remote, userConfig, mine.map((p) => p.dst), remoteOptions);
    const local = await this.resultsOf(mine);
    const replace: { src: string; dst: string; expect: string }[] = [];
    for (const p of mine) {
      const was = left.get(p.dst)!;
      const ours = local.get(p.dst);
      if (there.get(p.dst) !== was.commit || !ours) { continue; } // another machine's since
      if (ours.finished >= was.finished) { replace.push({ ...p, expect: was.commit }); } else { out.upToDate++; }
    }
    for (let i = 0; i < replace.length; i += 200) {
      const part = replace.slice(i, i + 200);
      const r = await push([...part.map((p) => `--force-with-lease=${p.dst}:${p.expect}`), remote, ...part.map((p) => `${p.src}:${p.dst}`)]);
      const lines = porcelainLines(r.stdout);
      let refused = 0;
      for (const l of lines) {
        const { dst } = refsOf(l);
        if (' +*'.includes(l[0]!) && local.has(dst)) { out.sent++; out.now.set(dst, local.get(dst)!); } else if (l[0] === '!') { refused++; }
      }
      // Said, not counted as another machine's: a lease that no longer holds (another push came first) or a
      // remote that failed leaves the remote's older result there.
      if (refused > 0 || (r.code !== 0 && lines.length === 0)) {
        this.ctx.onWarning?.(`${refused > 0 ? refused : part.length} of our results that gc rewrote could not replace their older copies on ${remote}${refused > 0 ? ' (the remote moved since our last push)' : ` (git push failed: ${remoteError(r.stderr)})`}; the next push tries again`);
      }
    }
    return out;
  }

  /** The remote's value of each of `refs` it has. */
  private async remoteRefs(remote: string, userConfig: string, refs: readonly string[], remoteOptions: RunGitOptions): Promise<Map<string, string>> {
    const there = await this.ctx.git('push', ['-c', `include.path=${userConfig}`, 'ls-remote', remote, ...refs], remoteOptions);
    const out = new Map<string, string>();
    if (there.code !== 0) { return out; }
    for (const l of there.stdout.toString('utf8').split('\n')) {
      const [commit, ref] = l.split('\t');
      if (commit && ref) { out.set(ref, commit); }
    }
    return out;
  }

  /** Our result for each `src` (its commit and when it finished), by its `dst`; one that cannot be read is left out. */
  private async resultsOf(pairs: readonly { src: string; dst: string }[]): Promise<Map<string, PushedResult>> {
    const out = new Map<string, PushedResult>();
    for (const { src, dst } of pairs) {
      const commit = await this.ctx.refs.resolve(src);
      if (commit === undefined) { continue; }
      try { out.set(dst, { commit, finished: (await this.ctx.objects.readCommit(commit)).time }); } catch { /* unreadable: not recorded */ }
    }
    return out;
  }

  /**
   * Brings the results of `remote` (its `refs/datakit-ci/*`) into `refs/fetched/<remote>/`, a namespace no
   * build writes: a lookup that has no result of its own takes one from there (see `adopt`).
   */
  async fetchFrom(remote: string, userConfig: string, options: { timeoutMs?: number; claims?: boolean } = {}): Promise<{ results: number; changed: number }> {
    checkRemoteName(remote);
    this.ctx.checkProcesses(`fetch the results of ${remote}`);
    const deadline = Date.now() + (options.timeoutMs ?? REMOTE_TIMEOUT_MS);
    const into = `${FETCHED_PREFIX}${remote}/`;
    const before = await this.ctx.refs.list(into);
    // Never beside our gc: its prune would delete what the fetch has written and no ref names yet (see fetchGuard.ts).
    await whileFetching(this.ctx.dir, deadline, () => this.fetchRefs(remote, userConfig, into, deadline, options.claims === true),
      (pid) => this.ctx.onWarning?.(`Waiting for the gc of ${this.ctx.dir} (pid ${pid}) to end before fetching from ${remote}`));
    const after = await this.ctx.refs.list(into);
    this.remotesMemo = undefined; // a new remote's folder may have been made in this very turn
    let changed = 0;
    for (const [ref, c] of after) { if (before.get(ref) !== c) { changed++; } }
    return { results: after.size, changed };
  }

  /** `git fetch` of the remote's results into `into`; one at a time when all at once fails (see fetchEach.ts). */
  private async fetchRefs(remote: string, userConfig: string, into: string, deadline: number, claims: boolean): Promise<void> {
    // git checks every object it receives (`git fsck --strict`'s checks, a bad file mode an error too): a
    // malformed tree never enters the results repository; it fails the fetch, then only its own result. A gc
    // that git starts after the fetch stays in the fetch's process (and dies with it), never detached.
    const config = ['-c', `include.path=${userConfig}`, '-c', 'core.hooksPath=/dev/null', '-c', 'core.bare=true',
      '-c', 'fetch.fsckObjects=true', '-c', 'fetch.fsck.badFilemode=error', '-c', 'gc.autoDetach=false', '-c', 'maintenance.autoDetach=false'];
    const remoteOptions = (until: number) => ({ allowFailure: true, timeoutMs: Math.max(1, until - Date.now()), env: { GIT_TERMINAL_PROMPT: '0' } });
    // Refspecs on the input (`--stdin`): any number of them.
    const run = (options: readonly string[], refspecs: readonly string[], until: number) => this.ctx.git('fetch', [...config,
      'fetch', '--no-tags', '--quiet', '--stdin', ...options, remote], { ...remoteOptions(until), input: refspecs.map((r) => `${r}\n`).join('') });
    // With the claims of runners sharing a commit (claims.ts): one fetch, one moment of the remote's refs.
    const r = await run(['--prune'], [`+${SHARED_PREFIX}*:${into}*`, ...(claims ? [claimsRefspec(remote)] : [])], deadline);
    if (r.code !== 0) {
      // Down, or not answering in time: the fetch fails (the caller goes on without it). Answering, but
      // failing (a malformed result there): each result is fetched on its own, and only the bad ones fail.
      if (r.code === -1 || Date.now() >= deadline) { throw new DataKitError('RemoteFailed', `Could not fetch the results of ${remote}: ${remoteError(r.stderr)}`); }
      const { failed } = await fetchEach(this.ctx, {
        remote, sharedPrefix: SHARED_PREFIX, fetchedPrefix: into, deadline, firstError: r.stderr, run, error: remoteError,
        lsRemote: (until) => this.ctx.git('fetch', [...config, 'ls-remote', '--refs', remote, `${SHARED_PREFIX}*`], remoteOptions(until)),
      });
      // Each named, up to a few: a local trouble that fails every ref must not print thousands of lines.
      for (const f of failed.slice(0, 10)) {
        this.ctx.onWarning?.(`The result ${f.ref.slice(SHARED_PREFIX.length)} on ${remote} could not be fetched (${f.reason}): it is not used, every other result was fetched`);
      }
      if (failed.length > 10) { this.ctx.onWarning?.(`${failed.length - 10} more results on ${remote} could not be fetched either: they are not used`); }
    }
  }
}

/** The refspec that brings a remote's claims into `refs/claims-seen/<remote>/` (pruned with the fetch). */
export function claimsRefspec(remote: string): string {
  return `+${CLAIMS_PREFIX}*:${SEEN_CLAIMS_PREFIX}${remote}/*`;
}

/** The ref lines of `git push --porcelain`: `<flag>\t<src>:<dst>\t<summary>`. */
export function porcelainLines(stdout: Buffer): string[] {
  return stdout.toString('utf8').split('\n').filter((l) => /^[ +\-*!=]\t/.test(l));
}

export function refsOf(line: string): { src: string; dst: string } {
  const [src, dst] = line.split('\t')[1]!.split(':');
  return { src: src!, dst: dst! };
}

export function checkRemoteName(remote: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote) || remote.includes('..')) {
    throw new DataKitError('InvalidArgument', `Not a remote name: ${JSON.stringify(remote)}`);
  }
}

/** git's own words on a failed push or fetch, without its `fatal:` prefixes. */
export function remoteError(stderr: string): string {
  return stderr.split('\n').map((l) => l.replace(/^(fatal|error): /, '').trim()).filter((l) => l && !/^To |^hint: /.test(l)).slice(0, 4).join('; ');
}

/** A file's or folder's stat, or undefined when it is not there (see `isMissing`). */
function statIfThere(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (e) {
    if (isMissing(e)) { return undefined; }
    throw e;
  }
}
