// The jobs that commits (and the working tree) declare, and their keys: read from each commit's own
// .datakit-ci.json (or a file the caller gives), never from anything under the results repository but what
// this tool sealed there from that file (keysSeal.ts); kept per commit, since a commit never changes. The keys
// computed once are written beside the results repository (keysCache.ts), sealed, so that the next command on
// the same commit (a cached build) reads them instead of parsing the file and keying every job again, and so
// that a window that may run no git can still show saved results.
import path = require('node:path');
import { growingLru } from '../shared/lazy';
import { DataKitError } from '../shared/errors';
import { readRegularText } from '../shared/regularFile';
import type { SourceRepo } from '../store/source/sourceRepo';
import { scanWorktree, WorktreeOverlay, type WorktreeState } from '../store/source/worktree';
import { CONFIG_FILE, parseConfig, type ConfigResult } from './config/config';
import { commitSource, computeKeys, runtimeDeclaration, worktreeSource, type InputSource, type JobKey } from './keys/key';
import { configDigest, readKeysCache, readSealedKeys, writeKeysCache, type SealedJobs } from './keys/keysCache';
import { KeysSeal, KEYS_SEAL_FILE } from './keys/keysSeal';
import type { RuntimeDeclaration, RuntimeProbe, RuntimeValues } from './keys/runtimeInputs';

/** The largest .datakit-ci.json read from the working tree (real ones are a few kilobytes). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The working copy's .datakit-ci.json at the work tree `top`, as text; undefined when there is none. Only a
 * regular file of at most MAX_CONFIG_BYTES is read: anything else (a link to /dev/zero, a FIFO) is refused with
 * `NotRegularFile`, naming it as `shown`, without being read and without blocking the thread.
 */
export function readWorkingConfig(top: string, shown: string = CONFIG_FILE): Promise<string | undefined> {
  return readRegularText(path.join(top, CONFIG_FILE), { maxBytes: MAX_CONFIG_BYTES, name: shown });
}

/** The jobs that a commit declares. */
export interface JobsAt {
  readonly commit: string;
  /** `missing` when the commit has no .datakit-ci.json. */
  readonly config: ConfigResult | 'missing';
  /** One key per job, in file order; empty when the file is missing or broken. */
  readonly keys: readonly JobKey[];
}

/** The working tree's changes and its jobs (undefined `at`: it does not differ from HEAD). */
export interface WorktreeJobs {
  readonly state: WorktreeState;
  readonly at: JobsAt | undefined;
}

/** A commit's jobs in a list of commits, and whose configuration declared them (see `jobsOfCommits`). */
export interface CommitJobs {
  readonly at: JobsAt;
  /** `own`: its .datakit-ci.json; `given`: the file the caller gave; else the commit whose configuration it borrowed. */
  readonly from: 'own' | 'given' | string;
}

export interface JobsReaderOptions {
  /** The git reader of the repository (started on first use). */
  readonly repo: () => Promise<SourceRepo>;
  /** Where the keys of each commit are kept (see keysCache.ts). */
  readonly keysDir: string;
  /** Never write the keys files (a command that only reads). */
  readonly readOnly: boolean;
  readonly warn: (message: string) => void;
  /** Reads the runtime inputs (envInputs, toolInputs) that jobs declare. */
  readonly probe: RuntimeProbe;
  /**
   * Where the secret is that seals the keys files written and says whether one read was sealed here (keysSeal.ts;
   * made unless `readOnly`): the build root, outside the repository. None: every commit is keyed from its file.
   */
  readonly sealDir?: string;
  /**
   * How long the jobs of a commit whose keys hold runtime inputs are kept (ms; default: as long as any commit's):
   * a toolchain upgraded meanwhile is then seen.
   */
  readonly runtimeReuseMs?: number;
}

export class JobsReader {
  private readonly atCommit = growingLru<string, Promise<JobsAt>>(256);
  /** Every key computed here, by digest: a job's needs are found among them. */
  private readonly knownKeys = growingLru<string, JobKey>(1024);
  /** The configuration text last read, for `configText` (asked of the commit just read). */
  private lastConfig: { readonly commit: string; readonly text: string | undefined } | undefined;
  /** The digest of the configuration of the commit whose jobs were last read from a sealed file, for `isCommittedConfig`. */
  private lastSealed: { readonly commit: string; readonly configDigest: string } | undefined;
  /** The sealed file last read (see readSealed). */
  private sealedRead: { readonly commit: string; readonly jobs: SealedJobs | undefined } | undefined;

  private readonly seal: KeysSeal | undefined;

  constructor(private readonly options: JobsReaderOptions) {
    this.seal = options.sealDir !== undefined ? new KeysSeal(path.join(options.sealDir, KEYS_SEAL_FILE), !options.readOnly, options.warn) : undefined;
  }

  /** A key computed here, by its digest (what a build of a job that needs it looks up). */
  keyOf(digest: string): JobKey | undefined {
    return this.knownKeys.get(digest);
  }

  /** The commit's jobs and their keys (cached: a commit never changes). */
  jobsAt(commit: string): Promise<JobsAt> {
    let p = this.atCommit.get(commit);
    if (!p) {
      const read = this.readJobs(commit);
      p = read;
      read.catch(() => this.atCommit.delete(commit)); // never keep a rejected promise as if it were a value
      this.atCommit.set(commit, read);
      // A commit never changes, but the machine may: keys that hold a tool's output are computed again later.
      const ttl = this.options.runtimeReuseMs;
      void read.then((at) => {
        if (ttl !== undefined && this.atCommit.get(commit) === read && (at.keys.some((k) => k.runtime || k.setup?.runtime) || failedHere(at))) { this.atCommit.set(commit, read, { ttl }); }
      }, () => undefined);
    }
    return p;
  }

  private keysFile(commit: string): string {
    return path.join(this.options.keysDir, `${commit}.json`);
  }

  /**
   * The jobs of a commit as computed before (by any process), without running git; undefined if never. Only
   * for showing saved results: a build reads the commit's own configuration (see keysCache.ts).
   */
  cachedJobsAt(commit: string): Promise<JobsAt | undefined> {
    return readKeysCache(this.keysFile(commit), commit, this.options.warn);
  }

  /**
   * The jobs of a commit as another configuration declares them (`--config FILE`, the suggested jobs): the
   * keys are computed from the commit's files as usual, and cover the definitions used, so they differ from
   * the commit's own wherever the definitions do.
   */
  async jobsWithConfig(commit: string, text: string): Promise<JobsAt> {
    const repo = await this.options.repo();
    await repo.resolve(commit);
    return this.keyed(commit, parseConfig(text), commitSource(repo, commit));
  }

  /** The committed .datakit-ci.json of a commit, as text; undefined when the commit has none. */
  async configText(commit: string): Promise<string | undefined> {
    if (this.lastConfig?.commit === commit) { return this.lastConfig.text; }
    const text = (await (await this.options.repo()).readFile(commit, CONFIG_FILE))?.toString('utf8');
    this.lastConfig = { commit, text };
    return text;
  }

  /**
   * `commit` when this tool sealed its keys here, read from the commit itself: then it is a commit (an object id
   * never changes what it names), and its jobs are read without git; else undefined.
   */
  sealedCommit(commit: string | undefined): string | undefined {
    return commit !== undefined && this.readSealed(commit) !== undefined ? commit : undefined;
  }

  /** The sealed file of `commit`, read and checked once for the commit asked last (see readSealedKeys). */
  private readSealed(commit: string): SealedJobs | undefined {
    if (this.sealedRead?.commit !== commit) {
      this.sealedRead = { commit, jobs: this.seal ? readSealedKeys(this.keysFile(commit), commit, this.seal) : undefined };
    }
    return this.sealedRead.jobs;
  }

  /** Whether `text` is the commit's .datakit-ci.json (false when it has none). */
  async isCommittedConfig(commit: string, text: string): Promise<boolean> {
    if (this.lastSealed?.commit === commit) { return configDigest(text) === this.lastSealed.configDigest; }
    return text === await this.configText(commit);
  }

  /**
   * From the commit itself, or from what this tool sealed when it read the commit itself: nothing else under
   * the results repository decides what runs.
   */
  private async readJobs(commit: string): Promise<JobsAt> {
    const sealed = await this.sealedJobs(commit);
    if (sealed) {
      for (const k of sealed.keys) { this.knownKeys.set(k.digest, k); }
      return sealed;
    }
    const repo = await this.options.repo();
    const text = (await repo.readFile(commit, CONFIG_FILE))?.toString('utf8');
    this.lastConfig = { commit, text };
    const at = text === undefined ? { commit, config: 'missing' as const, keys: [] } : await this.keyed(commit, parseConfig(text), commitSource(repo, commit));
    // A command of toolInputs that failed here says nothing of the commit: never kept for another window.
    if (!this.options.readOnly && !failedHere(at)) {
      const whole = text !== undefined && at.config !== 'missing' && at.config.ok && this.seal;
      await writeKeysCache(this.keysFile(commit), at, whole ? { seal: whole, configText: text } : undefined);
      if (this.sealedRead?.commit === commit) { this.sealedRead = undefined; } // read before it was sealed
    }
    return at;
  }

  /**
   * The jobs sealed for the commit, when every runtime input they record (a toolchain's version, a variable)
   * still has the value recorded; undefined otherwise (the commit is keyed from its file, which says what
   * changed or failed, and seals the file again).
   */
  private async sealedJobs(commit: string): Promise<JobsAt | undefined> {
    const sealed = this.readSealed(commit);
    if (!sealed) { return undefined; }
    const checked = new Set<string>();
    const same = async (d: RuntimeDeclaration, recorded: RuntimeValues): Promise<boolean> => {
      const id = JSON.stringify(d);
      if (checked.has(id)) { return true; }
      checked.add(id);
      try {
        return JSON.stringify(await this.options.probe.valuesOf(d)) === JSON.stringify(recorded);
      } catch {
        return false;
      }
    };
    for (const k of sealed.keys) {
      if (k.runtime && !await same(runtimeDeclaration(k.job), k.runtime)) { return undefined; }
      if (k.setup?.runtime && !await same(runtimeDeclaration(k.setup.setup), k.setup.runtime)) { return undefined; }
    }
    this.lastSealed = { commit, configDigest: sealed.configDigest };
    return { commit, config: sealed.config, keys: sealed.keys };
  }

  /** The keys of a parsed configuration's jobs over `source` (none when it is broken), remembered by digest. */
  private async keyed(commit: string, config: ConfigResult, source: InputSource): Promise<JobsAt> {
    const keys = config.ok ? await keysOrError(config, () => computeKeys(source, commit, config.config.jobs, config.config.setup, this.options.probe)) : [];
    if (!Array.isArray(keys)) { return { commit, config: keys, keys: [] }; }
    for (const k of keys) { this.knownKeys.set(k.digest, k); }
    return { commit, config, keys };
  }

  /**
   * The jobs of each commit of a list (a range, a branch), newest first. A commit uses its own configuration,
   * or `given` (a file's text) for every commit when there is one; a commit that has none uses the newest
   * configuration on the list (`from` says which commit's), and one that has no such neighbour stays without.
   * With `saved` (showing saved results only, never building), keys computed before are read back.
   */
  async jobsOfCommits(commits: readonly string[], given?: string, options: { saved?: boolean } = {}): Promise<CommitJobs[]> {
    if (given !== undefined) {
      return Promise.all(commits.map(async (commit) => ({ at: await this.jobsWithConfig(commit, given), from: 'given' as const })));
    }
    const own = await Promise.all(commits.map(async (c) => (options.saved ? await this.cachedJobsAt(c) : undefined) ?? this.jobsAt(c)));
    const newest = own.find((at) => at.config !== 'missing');
    const text = newest ? await this.configText(newest.commit) : undefined;
    return Promise.all(own.map(async (at) => at.config !== 'missing' || !newest || text === undefined
      ? { at, from: 'own' as const }
      : { at: await this.jobsWithConfig(at.commit, text), from: newest.commit }));
  }

  /**
   * The jobs of the working tree, keyed as a commit of its content would be (see store/source/worktree.ts),
   * or `at` undefined when it does not differ from HEAD. Its configuration is the working tree's
   * .datakit-ci.json (as a commit of it would have it). `paths` (with `previous`): only those paths changed
   * since `previous`. Nothing is written into the repository.
   */
  async worktreeJobs(options: { paths?: readonly string[]; previous?: WorktreeState } = {}): Promise<WorktreeJobs> {
    const repo = await this.options.repo();
    const state = await scanWorktree(repo, options);
    if (state.changes.size === 0) { return { state, at: undefined }; }
    const change = state.changes.get(CONFIG_FILE);
    let text: string | undefined;
    if (change === undefined) {
      text = await this.configText(state.head);
    } else if (change !== null) {
      text = await readWorkingConfig(repo.topLevel!);
    }
    const commit = state.head;
    if (text === undefined) { return { state, at: { commit, config: 'missing', keys: [] } }; }
    const config = parseConfig(text);
    if (!config.ok) { return { state, at: { commit, config, keys: [] } }; }
    const worktree = { top: repo.topLevel!, state };
    const computed = await keysOrError(config, () => computeKeys(worktreeSource(new WorktreeOverlay(repo, state)), commit, config.config.jobs, config.config.setup, this.options.probe));
    if (!Array.isArray(computed)) { return { state, at: { commit, config: computed, keys: [] } }; }
    const keys = computed.map((k) => ({ ...k, worktree }));
    // A key a commit has too stays the commit's (its build reads the commit's files).
    for (const k of keys) { if (!this.knownKeys.has(k.digest) || this.knownKeys.get(k.digest)!.worktree) { this.knownKeys.set(k.digest, k); } }
    return { state, at: { commit, config, keys } };
  }
}

/**
 * The keys, or — when a command of a job's toolInputs failed, so that no key of that configuration can be
 * known — the failure as the configuration's error, at the job's name: the tree shows it where config errors
 * go, and the command line ends as for a broken configuration (exit 2), nothing run. One job's failing tool
 * must not take every view down with it.
 */
async function keysOrError(config: ConfigResult & { ok: true }, compute: () => Promise<JobKey[]>): Promise<JobKey[] | ConfigResult> {
  try {
    return await compute();
  } catch (e) {
    if (!DataKitError.is(e, 'ToolInputFailed')) { throw e; }
    const job = /^job "(.*)"$/.exec(String(e.data.job ?? ''))?.[1];
    const at = (job !== undefined ? config.config.positions[job]?.name : undefined) ?? config.config.positions['']?.name ?? { line: 1, column: 1, offset: 0, length: 0 };
    return { ok: false, errors: [{ message: e.message, line: at.line, column: at.column, offset: at.offset, length: at.length, origin: 'machine' }] };
  }
}

/** Whether the jobs could not be keyed because of this machine (a toolInputs command failed), not of the commit. */
function failedHere(at: JobsAt): boolean {
  return at.config !== 'missing' && !at.config.ok && at.config.errors.some((e) => e.origin === 'machine');
}
