// Claims on a remote: runners that share one commit's jobs say who builds which by creating a ref under
// `refs/datakit-ci-claims/` there. Creating it is exclusive (a push with a lease that expects no ref: of two
// racing pushes the remote takes one); the claim is refreshed while its job builds (a lease on its previous
// value), taken over when nobody refreshed it for a set time (a lease on the stale value), and deleted once
// the job's result is pushed. The remote is not trusted: a claim's content is read as text of a fixed shape,
// and anything else is a claim whose holder is unknown, never an error.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DataKitError } from '../../shared/errors';
import { entryRefName } from '../git/names';
import type { RunGitOptions } from '../git/git';
import { checkRemoteName, CLAIMS_PREFIX, claimsRefspec, porcelainLines, refsOf, REMOTE_TIMEOUT_MS, remoteError, SEEN_CLAIMS_PREFIX, SHARED_PREFIX } from './sharing';
import type { StoreContext } from './storeContext';

export { CLAIMS_PREFIX, SEEN_CLAIMS_PREFIX };
/** The largest claim read: ours are under 200 bytes. */
const MAX_CLAIM_BYTES = 1024;
const HEADER = 'datakit-ci claim 1';
/** A runner's name: printable ASCII, so that it can be shown as it is. */
const RUNNER_NAME = /^[ -~]{1,120}$/;

/** A claim seen on the remote. */
export interface Claim {
  /** `<builder>/<entry>`, as under `refs/datakit-ci/` */
  readonly entry: string;
  /** The claim's object on the remote: what a lease on it expects. */
  readonly value: string;
  /** Who claimed it (printable ASCII), when its content could be read. */
  readonly runner?: string;
  /** When its maker says it made or refreshed it (ms since 1970): shown only, never trusted. */
  readonly time?: number;
  /** Why its content could not be read (the holder is then unknown). */
  readonly unreadable?: string;
  /** Whether this process made it. */
  readonly mine: boolean;
  /** How long this process has seen this very value (its own clock): a claim expires on that, not on `time`. */
  readonly unchangedMs: number;
}

export interface ClaimsOptions {
  readonly remote: string;
  /** The user's repository's git configuration (its remotes and credentials), as pushes use it. */
  readonly userConfig: string;
  /** Who this runner is, as other runners are told. */
  readonly runner: string;
  /** How long a push or fetch may take (default: as long as any push or fetch of results). */
  readonly timeoutMs?: number;
  /** The clock (ms). */
  readonly now?: () => number;
}

/** The outcome of an exclusive claim: ours, or another runner's (what the remote holds). */
export type ClaimOutcome = { readonly won: true; readonly value: string } | { readonly won: false; readonly holder: string | undefined };

export class Claims {
  /** Values seen on the remote, by entry, with when this process first saw each. */
  private readonly seen = new Map<string, { value: string; since: number }>();
  /** The values this process pushed. */
  private readonly ours = new Set<string>();
  /** The content of each claim read, by value. */
  private readonly contents = new LRUCache<string, string>({ max: 4096 });
  private readonly now: () => number;

  constructor(private readonly ctx: StoreContext, private readonly options: ClaimsOptions) {
    checkRemoteName(options.remote);
    if (!RUNNER_NAME.test(options.runner)) { throw new DataKitError('Usage', 'A runner\'s name is 1 to 120 printable ASCII characters'); }
    this.now = options.now ?? Date.now;
  }

  /** The results repository the claims are fetched into (gc keeps what it saw of them there: see claimsGc.ts). */
  get resultsDir(): string { return this.ctx.dir; }

  /** The claim ref of an entry (`<builder>/<entry>`) on the remote. */
  static refOf(entry: string): string {
    const slash = entry.indexOf('/');
    return entryRefName(CLAIMS_PREFIX, entry.slice(0, slash), entry.slice(slash + 1));
  }

  /** Claims the entry if no one has: exactly one of runners racing for it wins. */
  claim(entry: string): Promise<ClaimOutcome> {
    return this.replace(entry, '');
  }

  /** Takes over a claim nobody refreshed (`stale`: the value seen): fails if it moved meanwhile. */
  takeOver(entry: string, stale: string): Promise<ClaimOutcome> {
    return this.replace(entry, stale);
  }

  /** Refreshes our claim (`previous`: its value); the new value, or undefined when another runner took it. */
  async refresh(entry: string, previous: string): Promise<string | undefined> {
    const r = await this.replace(entry, previous);
    return r.won ? r.value : undefined;
  }

  /** Deletes our claim (`value`); false when it was no longer ours (another runner took it over). */
  async release(entry: string, value: string): Promise<boolean> {
    const ref = Claims.refOf(entry);
    const r = await this.push([`--force-with-lease=${ref}:${value}`, this.options.remote, `:${ref}`]);
    this.ours.delete(value);
    return this.accepted(r, ref, 'remove the claim on');
  }

  /**
   * Pushes the result of a claimed entry and deletes the claim, both or neither (`--atomic`): false when the
   * remote has another result for it, or the claim is no longer ours (the caller pushes and releases apart).
   */
  async finish(entry: string, value: string, result: string): Promise<boolean> {
    const ref = Claims.refOf(entry);
    const slash = entry.indexOf('/');
    const shared = entryRefName(SHARED_PREFIX, entry.slice(0, slash), entry.slice(slash + 1));
    const r = await this.push(['--atomic', `--force-with-lease=${ref}:${value}`, this.options.remote, `${result}:${shared}`, `:${ref}`]);
    const lines = porcelainLines(r.stdout);
    if (lines.length === 2 && lines.every((l) => l[0] !== '!')) { this.ours.delete(value); return true; }
    if (lines.length === 0 && r.code !== 0) { throw new DataKitError('RemoteFailed', `Could not push the result of ${entry} to ${this.options.remote}: ${remoteError(r.stderr)}`); }
    return false;
  }

  /**
   * Every claim on the remote: fetched (`refs/datakit-ci-claims/*`, pruned) into `refs/claims-seen/<remote>/`
   * of the results repository, then read (see `read`).
   */
  async list(): Promise<Map<string, Claim>> {
    const f = await this.ctx.git('fetch the claims', [...this.config(), 'fetch', '--no-tags', '--quiet', '--prune', '--no-write-fetch-head',
      this.options.remote, claimsRefspec(this.options.remote)], this.remoteOptions());
    if (f.code !== 0) { throw new DataKitError('RemoteFailed', `Could not fetch the claims of ${this.options.remote}: ${remoteError(f.stderr)}`); }
    return this.read();
  }

  /** The claims as last fetched (by `list`, or with the results: see Sharing.fetchFrom's `claims`). */
  async read(): Promise<Map<string, Claim>> {
    const into = `${SEEN_CLAIMS_PREFIX}${this.options.remote}/`;
    const refs = await this.ctx.git('read the claims', ['for-each-ref', '--format=%(objectname) %(objecttype) %(objectsize) %(refname)', into]);
    const rows = refs.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => {
      const [value, type, size, ref] = l.split(' ');
      return { value: value!, type: type!, size: Number(size), entry: ref!.slice(into.length) };
    });
    // Each value is read once: a claim's content never changes, a new claim is a new value.
    const fresh = rows.filter((r) => r.type === 'blob' && r.size <= MAX_CLAIM_BYTES && !this.contents.has(r.value)).map((r) => r.value);
    for (const [id, text] of await this.readBlobs(fresh)) { this.contents.set(id, text); }
    const contents = this.contents;
    const now = this.now();
    const out = new Map<string, Claim>();
    for (const r of rows) {
      const was = this.seen.get(r.entry);
      const since = was?.value === r.value ? was.since : now;
      this.seen.set(r.entry, { value: r.value, since });
      const text = contents.get(r.value);
      const parsed = r.type !== 'blob' ? { unreadable: `a ${r.type}, not a claim` }
        : r.size > MAX_CLAIM_BYTES ? { unreadable: `${r.size} bytes, more than a claim holds` }
          : text === undefined ? { unreadable: 'its content could not be read' } : parseClaim(text);
      out.set(r.entry, { entry: r.entry, value: r.value, ...parsed, mine: this.ours.has(r.value), unchangedMs: now - since });
    }
    for (const e of [...this.seen.keys()]) { if (!out.has(e)) { this.seen.delete(e); } }
    return out;
  }

  /** Whether the remote holds a result for the entry (asked after a claim is won: it may have come meanwhile). */
  async resultThere(entry: string): Promise<boolean> {
    const slash = entry.indexOf('/');
    const ref = entryRefName(SHARED_PREFIX, entry.slice(0, slash), entry.slice(slash + 1));
    const r = await this.ctx.git('ask the remote for a result', [...this.config(), 'ls-remote', this.options.remote, ref], this.remoteOptions());
    if (r.code !== 0) { throw new DataKitError('RemoteFailed', `Could not ask ${this.options.remote} for ${entry}: ${remoteError(r.stderr)}`); }
    return r.stdout.toString('utf8').split('\n').some((l) => l.split('\t')[1] === ref);
  }

  /**
   * Which of the entries (as a claim's ref names them, whatever they are) the remote holds a result for: an
   * `ls-remote` of their refs under `refs/datakit-ci/`, 200 at a time.
   */
  async resultsThere(entries: readonly string[]): Promise<Set<string>> {
    const refs = new Map<string, string>(entries.map((e) => [`${SHARED_PREFIX}${e}`, e]));
    const out = new Set<string>();
    const names = [...refs.keys()];
    for (let i = 0; i < names.length; i += 200) {
      const r = await this.ctx.git('ask the remote for results', [...this.config(), 'ls-remote', this.options.remote, ...names.slice(i, i + 200)], this.remoteOptions());
      if (r.code !== 0) { throw new DataKitError('RemoteFailed', `Could not ask ${this.options.remote} for its results: ${remoteError(r.stderr)}`); }
      for (const l of r.stdout.toString('utf8').split('\n')) { const e = refs.get(l.split('\t')[1] ?? ''); if (e !== undefined) { out.add(e); } }
    }
    return out;
  }

  /** A claim's content: who and when, and a nonce (two claims of one runner in one millisecond differ). */
  private content(): string {
    return `${HEADER}\nrunner ${this.options.runner}\ntime ${this.now()}\nnonce ${randomBytes(8).toString('hex')}\n`;
  }

  /** Pushes a new claim over `expect` ('' expects no ref). */
  private async replace(entry: string, expect: string): Promise<ClaimOutcome> {
    const ref = Claims.refOf(entry);
    const value = await this.ctx.objects.writeBlob(Buffer.from(this.content(), 'utf8'));
    const r = await this.push([`--force-with-lease=${ref}:${expect}`, this.options.remote, `${value}:${ref}`]);
    if (await this.accepted(r, ref, 'claim')) {
      this.ours.delete(expect);
      this.ours.add(value);
      return { won: true, value };
    }
    return { won: false, holder: (await this.remoteValue(ref)) };
  }

  /**
   * Whether the push of `ref` was taken. Refused because the ref moved (another runner's claim) is false;
   * a remote that refuses claims at all (a hook, permissions, down) is `RemoteFailed`, said in git's words.
   */
  private async accepted(r: { code: number; stdout: Buffer; stderr: string }, ref: string, doing: string): Promise<boolean> {
    const line = porcelainLines(r.stdout).find((l) => refsOf(l).dst === ref);
    if (line !== undefined && line[0] !== '!') { return true; }
    // The ref moved (a lease that no longer holds), or another push created it first (the remote's lock).
    if (line !== undefined && (/\((stale info|failed to update ref|already exists|fetch first|non-fast-forward)\)$/.test(line) || /cannot lock ref/.test(r.stderr))) { return false; }
    const why = line !== undefined ? line.split('\t')[2] ?? '' : remoteError(r.stderr);
    throw new DataKitError('RemoteFailed', `Could not ${doing} ${ref.slice(CLAIMS_PREFIX.length)} on ${this.options.remote}: ${why || remoteError(r.stderr)}`);
  }

  /** The remote's value of one ref, if it has it. */
  private async remoteValue(ref: string): Promise<string | undefined> {
    const r = await this.ctx.git('ask the remote for a claim', [...this.config(), 'ls-remote', this.options.remote, ref], this.remoteOptions());
    const row = r.code === 0 ? r.stdout.toString('utf8').split('\n').map((l) => l.split('\t')).find((c) => c[1] === ref) : undefined;
    return row?.[0];
  }

  private push(args: readonly string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return this.ctx.git('push a claim', [...this.config(), 'push', '--porcelain', '--no-verify', ...args], this.remoteOptions());
  }

  /** The user's remotes and credentials, never their hooks (as for results: see sharing.ts). */
  private config(): string[] {
    return ['-c', `include.path=${this.options.userConfig}`, '-c', 'core.hooksPath=/dev/null', '-c', 'core.bare=true'];
  }

  private remoteOptions(): Omit<RunGitOptions, 'cwd'> {
    return { allowFailure: true, timeoutMs: this.options.timeoutMs ?? REMOTE_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0' } };
  }

  /** The contents of blobs of the results repository, by id (one `git cat-file --batch`). */
  private async readBlobs(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) { return out; }
    const r = await this.ctx.git('read the claims', ['cat-file', '--batch'], { input: ids.map((i) => `${i}\n`).join(''), allowFailure: true });
    const buf = r.stdout;
    let at = 0;
    while (at < buf.length) {
      const nl = buf.indexOf(10, at);
      if (nl < 0) { break; }
      const [id, type, size] = buf.subarray(at, nl).toString('utf8').split(' ');
      if (type === undefined || size === undefined) { at = nl + 1; continue; } // `<id> missing`
      const n = Number(size);
      out.set(id!, buf.subarray(nl + 1, nl + 1 + n).toString('utf8'));
      at = nl + 1 + n + 1;
    }
    return out;
  }
}

/** Reads a claim's text: its runner and time, or why it is not a claim this version can read. */
export function parseClaim(text: string): { runner?: string; time?: number; unreadable?: string } {
  const lines = text.split('\n');
  if (lines[0] !== HEADER) { return { unreadable: 'not a claim of this version of datakit-ci' }; }
  const field = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
  const runner = field('runner');
  const time = Number(field('time'));
  if (runner === undefined || !RUNNER_NAME.test(runner)) { return { unreadable: 'its runner\'s name is missing or not printable text' }; }
  if (!Number.isSafeInteger(time) || time < 0) { return { runner, unreadable: 'its time is not a time' }; }
  return { runner, time };
}

/** How a claim is named to a person: its runner (printable ASCII by then), or why it has none. */
export function claimHolder(c: Claim): string {
  return c.runner !== undefined ? c.runner : `an unknown runner (${c.unreadable ?? 'unreadable'})`;
}
