// What the saved results say beyond pass or fail: where a reused result came from (the commit it was built
// for, the working tree, a remote), a job's builds across every key it has had, and what a job was built
// from before (for Explain Key). Read from the results repository only.
import { DataKitError, isMissing } from '../shared/errors';
import { parseJsonBounded } from '../shared/json';
import { isObjectId } from '../shared/objectId';
import { TRAILER, timesFromTrailers, WORKTREE_SOURCE } from '../shared/resultCommit';
import type { GitStore } from '../store/results/gitStore';
import { entryName, type JobKey } from './keys/key';

/** Where a reused result came from (see `ResultInfo.provenance`). */
export interface Provenance {
  readonly builtFor?: string;
  readonly fromWorktree: boolean;
  readonly fetchedFrom?: string;
  /** A fetched result signed by a trusted builder: the principal the allowed signers name for its key. */
  readonly verifiedBy?: string;
}

/** `cached · fetched from origin`, `cached · built from the working tree on 1a2b3c4`, `cached · built for 1a2b3c4`; undefined for a result of this very commit. */
export function reusedFrom(p: Provenance): string | undefined {
  // Who vouched for it, always: a fetched result no trusted builder signed is said to be unverified.
  if (p.fetchedFrom) { return `cached · fetched from ${p.fetchedFrom}, ${p.verifiedBy !== undefined ? `verified: ${p.verifiedBy}` : 'unverified'}`; }
  if (p.fromWorktree) { return `cached · built from the working tree${p.builtFor ? ` on ${p.builtFor.slice(0, 7)}` : ''}`; }
  return p.builtFor ? `cached · built for ${p.builtFor.slice(0, 7)}` : undefined;
}

/** One build of a job, as `jobHistory` lists them. */
export interface JobBuild {
  readonly job: string;
  readonly result: 'success' | 'failure' | 'cancelled';
  /** The failure message's first line. */
  readonly failure?: string;
  /** The results-repository commit holding it (its log is there). */
  readonly commit: string;
  readonly ref: string;
  /** The commit it was built for, and that commit's subject when the repository has it. */
  readonly source?: string;
  readonly sourceSubject?: string;
  /** When it started and finished (whole seconds), ms since the epoch. */
  readonly started: number;
  readonly finished: number;
  readonly runMs?: number;
  readonly queuedMs?: number;
  readonly builtBy?: string;
  /** Built from the working tree over `source`, before it was committed. */
  readonly worktree?: true;
  /** Fetched from this remote (built on another machine), and who vouched for it: a principal, or `unverified`. */
  readonly fetchedFrom?: string;
  readonly verified?: string;
}

/** A saved key.json (see keys/key.ts). */
/** Runtime values as a key.json records them (whoever wrote it: read with care). */
export interface RuntimeRecord {
  env?: Record<string, unknown>;
  tools?: Record<string, unknown>;
}

export interface KeyRecord {
  tool?: string;
  digest?: string;
  job?: unknown;
  inputs?: Record<string, unknown>;
  /** The values of its envInputs and toolInputs, when it declares any. */
  runtime?: RuntimeRecord;
  /** The setup's key, when the job starts with the setup. */
  setup?: { digest?: string; setup?: unknown; inputs?: Record<string, unknown>; runtime?: RuntimeRecord } | null;
  /** The digest of each job it needs, by name. */
  needs?: Record<string, string>;
  commit?: string;
  /** Built from `commit`'s working tree (uncommitted changes over it). */
  worktree?: boolean;
}

/** A saved build: who made it, from what, and where it came from (what Explain Key says of a result). */
export interface BuildInfo {
  /** The results repository's commit that holds it. */
  readonly commit: string;
  /** When it finished (ISO 8601). */
  readonly finishedAt: string;
  /** Who built it (`user@host (os-arch, datakit-ci x.y.z)`), when recorded. */
  readonly builtBy: string | null;
  /** The remote it was fetched from (built on another machine), if any. */
  readonly fetchedFrom: string | null;
  /** A fetched result: the trusted builder who signed it, or `unverified`; null for one built here. */
  readonly verified: string | null;
  /** The commit it was built for, as its key.json records it. */
  readonly source: string | null;
  /** Built from the working tree over `source`, before it was committed. */
  readonly fromWorktree: boolean;
}

/** What a result was built from, as its key.json records it. */
interface Origin {
  readonly commit?: string;
  readonly worktree: boolean;
}

/** What a key.json says a result was built from; a fetched result's is whoever made it's: a commit that is no object id is not one. */
function originOf(record: KeyRecord): Origin {
  return { ...(typeof record.commit === 'string' && isObjectId(record.commit) ? { commit: record.commit } : {}), worktree: record.worktree === true };
}

const MAX_ORIGINS = 4096;

export class ResultInfo {
  // One per result a command reports on: a build of many jobs keeps every job's (a result never changes). A
  // Map that starts again past its bound, not an LRU cache: lru-cache allocates all of its 4096 slots when made
  // (~0.5 ms of every command's start), for the few dozen results a command reports on.
  private readonly originsKept = new Map<string, Origin>();
  private origins(): Map<string, Origin> {
    if (this.originsKept.size >= MAX_ORIGINS) { this.originsKept.clear(); }
    return this.originsKept;
  }

  constructor(
    private readonly store: GitStore,
    private readonly builder: string,
    /** The subjects of commits of the user's repository (none when it may not be read). */
    private readonly subjects: (commits: readonly string[]) => Promise<Map<string, string>>,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * Where a saved result of `key` came from, when not from a build of `key.commit` itself: the commit it was
   * built for, whether from that commit's working tree, and the remote it was fetched from.
   */
  async provenance(key: JobKey, resultCommit: string): Promise<Provenance> {
    const recorded = await this.origin(resultCommit);
    const fromWorktree = recorded.worktree && !key.worktree;
    const builtFor = recorded.commit !== undefined && (recorded.commit !== key.commit || fromWorktree) ? recorded.commit : undefined;
    const fetchedFrom = await this.fetchedFrom(key, resultCommit);
    const verified = fetchedFrom ? await this.store.verification(resultCommit) : undefined;
    const verifiedBy = verified?.kind === 'verified' ? verified.principal : undefined;
    return { fromWorktree, ...(builtFor ? { builtFor } : {}), ...(fetchedFrom ? { fetchedFrom } : {}), ...(verifiedBy !== undefined ? { verifiedBy } : {}) };
  }

  /** The remote a saved result was fetched from (the same commit as a fetched result of its entry), if any. */
  async fetchedFrom(key: JobKey, resultCommit: string): Promise<string | undefined> {
    return (await this.store.fetchedHeads(this.builder, entryName(key))).find((f) => f.commit === resultCommit)?.remote;
  }

  /** The source commit that a saved result was built for, as its key.json records it. */
  async builtFor(resultCommit: string): Promise<string | undefined> {
    return (await this.origin(resultCommit)).commit;
  }

  /**
   * What a saved result was built from, as its key.json records it: the source commit, and whether it was
   * that commit's working tree (kept: a result never changes). A result without key.json (another
   * builder's) says nothing; one whose key.json cannot be read says so once and nothing either.
   */
  async origin(resultCommit: string): Promise<Origin> {
    const known = this.origins().get(resultCommit);
    if (known !== undefined) { return known; }
    let found: Origin = { worktree: false };
    try {
      found = originOf(parseJsonBounded(Buffer.from(await this.store.snapshot(resultCommit).readFile('key.json')).toString('utf8'), 'key.json', 'CorruptResult') as KeyRecord);
    } catch (e) {
      if (!isMissing(e)) { this.warn(`The key.json of result ${resultCommit.slice(0, 12)} cannot be read: ${(e as Error).message}`); }
    }
    this.origins().set(resultCommit, found);
    return found;
  }

  /** A result's key.json as the builder's load just read and parsed it (bounded): its origin is not read again. */
  learnKeyRecord(resultCommit: string, record: unknown): void {
    if (typeof record === 'object' && record !== null) { this.origins().set(resultCommit, originOf(record as KeyRecord)); }
  }

  /**
   * The last `limit` builds of a job, whatever the commit they were built for (every key the job has had),
   * newest first: result, duration, source commit and its subject, who built it.
   */
  async jobHistory(job: string, limit: number): Promise<JobBuild[]> {
    const builds = await this.store.recentBuilds(this.builder, `${job}/`, limit);
    // Results saved before their messages named their source: key.json says it.
    // A trailer is a fetched result's maker's words: one that is no object id is not taken for a commit.
    const recorded = (b: { trailers: Readonly<Record<string, string>> }): string | undefined => (isObjectId(b.trailers[TRAILER.sourceCommit] ?? '') ? b.trailers[TRAILER.sourceCommit] : undefined);
    const sources = await Promise.all(builds.map(async (b) => recorded(b) ?? await this.builtFor(b.commit)));
    const subjects = await this.subjects(sources.filter((s): s is string => s !== undefined));
    const fetched = await Promise.all(builds.map((b) => this.fetchedBuild(b.entry, b.commit)));
    return builds.map((b, i) => {
      const source = sources[i];
      return {
        job, result: b.result === 'success' ? 'success' : b.reason === 'cancelled' ? 'cancelled' : 'failure',
        ...(b.failure !== undefined && b.result === 'failure' ? { failure: b.failure } : {}),
        commit: b.commit, ref: `${this.store.refPrefix}${this.builder}/${b.entry}`,
        ...(source ? { source, ...(subjects.has(source) ? { sourceSubject: subjects.get(source) } : {}) } : {}),
        started: b.started, finished: b.time, ...timesFromTrailers(b.trailers),
        ...(b.trailers[TRAILER.source] === WORKTREE_SOURCE ? { worktree: true as const } : {}), ...fetched[i],
      };
    });
  }

  /** For a build fetched from a remote: which, and who vouched for it (see Provenance.verifiedBy). */
  private async fetchedBuild(entry: string, commit: string): Promise<{ fetchedFrom?: string; verified?: string }> {
    const remote = (await this.store.fetchedHeads(this.builder, entry)).find((f) => f.commit === commit)?.remote;
    if (remote === undefined) { return {}; }
    const v = await this.store.verification(commit);
    return { fetchedFrom: remote, verified: v?.kind === 'verified' ? v.principal : 'unverified' };
  }

  /** A saved build of `entry`: when it finished, who built it, for which commit, and the remote it came from. */
  async buildInfo(entry: string, resultCommit: string): Promise<BuildInfo> {
    const [times, origin, fetched] = await Promise.all([this.store.commitTimes(resultCommit), this.origin(resultCommit), this.fetchedBuild(entry, resultCommit)]);
    return {
      commit: resultCommit, finishedAt: new Date(times.finished).toISOString(), builtBy: times.builtBy ?? null,
      fetchedFrom: fetched.fetchedFrom ?? null, verified: fetched.verified ?? null, source: origin.commit ?? null, fromWorktree: origin.worktree,
    };
  }

  /** The most recent other saved build of the same job (what it was built from before): its key.json, and who built it. */
  async previousBuildOf(key: JobKey): Promise<{ record: KeyRecord; build: BuildInfo } | undefined> {
    const mine = entryName(key);
    const others = (await this.store.listEntries(this.builder)).filter((e) => e.entry.startsWith(`${key.job.name}/`) && e.entry !== mine);
    let best: { time: number; record: KeyRecord; entry: string; commit: string } | undefined;
    for (const e of others) {
      const snap = this.store.snapshot(e.commit, e.ref);
      if (!(await snap.exists('key.json'))) { continue; }
      const time = (await this.store.commitTimes(e.commit)).finished;
      if (best && time <= best.time) { continue; }
      try {
        // A fetched result's key.json is whoever made it's: its nesting is bounded before explain compares it.
        best = { time, entry: e.entry, commit: e.commit, record: parseJsonBounded(Buffer.from(await snap.readFile('key.json')).toString('utf8'), 'key.json', 'CorruptResult') as KeyRecord };
      } catch (err) {
        throw new DataKitError('CorruptResult', `The key.json of ${e.ref} (${e.commit.slice(0, 12)}) cannot be read: ${(err as Error).message}`);
      }
    }
    return best && { record: best.record, build: await this.buildInfo(best.entry, best.commit) };
  }
}
