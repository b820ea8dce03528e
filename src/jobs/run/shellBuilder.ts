// The built-in builder: runs a job of .datakit-ci.json in an isolated build directory holding exactly the
// commit's files, and saves its declared outputs under value/.
import { DataKitError } from '../../shared/errors';
import { parseJsonBounded } from '../../shared/json';
import { TRAILER, WORKTREE_SOURCE } from '../../shared/resultCommit';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { BuildFailure, type Builder, type BuildJob, type EntryReader, type FinishedNeed } from '../../engine/builder';
import { homeShort, type LiveLog } from '../../engine/liveLog';
import type { SourceRepo } from '../../store/source/sourceRepo';
import { claimBuildDir, prepareBuildDir, type BuildDir, type DirClaim, type PrepareOptions } from './checkout';
import { coveredByKey } from './worktreeCopy';
import { entryName, keyJson, type JobKey } from '../keys/key';
import { jobEnvironment, RUN_VARIABLE } from './environment';
import { checkOutputCap, DEFAULT_OUTPUT_CAP, findOutputs, restoreOutputs } from './outputs';
import { linkProducts, Setups, type SetupProducts } from './setup';
import { someFiles } from './products';
import { killOrphanedRuns, runsDir, withRunRecord } from './orphans';
import { runJobProcess } from './process';

export interface ShellValue {
  /** Output paths saved under value/, relative to the build directory. */
  readonly outputs: readonly string[];
}

export interface ShellBuilderOptions {
  repo: () => Promise<SourceRepo>;
  /** Where build directories live (outside the repository and its .git). */
  buildRoot: string;
  outputCap?: number;
  /** A key computed with the others of its target, by digest (the keys of what a job needs). */
  keyOf: (digest: string) => JobKey | undefined;
  /** Whether a key is of what matters first (the newest HEAD, the working tree): its build takes a free slot first. */
  urgent?: (digest: string) => boolean;
  /** What the user is told besides a job's log (the command line's warnings). */
  warn?: (message: string) => void;
  /**
   * Told of each saved key.json that `load` read (the result's commit, the parsed record), for what else a
   * cached build asks of it (where the result came from): read and parsed once per result, not once more.
   */
  keyRecord?: (resultCommit: string, record: unknown) => void;
}

/** Above any chain of needs a configuration can have: an urgent build goes before every other. */
const URGENT = 1_000_000;

/** A build directory readied for a job (see `prepare`), with the marker of the run that will use it. */
interface PreparedDir {
  readonly dir: BuildDir;
  readonly run: string;
  /** The setup's products linked into it, if the job has a setup. */
  readonly products?: SetupProducts;
}


export class ShellBuilder implements Builder<JobKey, ShellValue> {
  readonly name = 'shell';
  private readonly setups: Setups;
  /** Where runs are recorded while they run (see orphans.ts). */
  private readonly runs: string;
  /** The look for dead processes' runs under way, if one is. */
  private orphans: Promise<string[]> | undefined;

  constructor(private readonly options: ShellBuilderOptions) {
    this.runs = runsDir(options.buildRoot);
    this.setups = new Setups(options.buildRoot, options.repo, options.warn);
  }

  title(key: JobKey): string {
    return `${key.job.name} @ ${key.worktree ? 'working tree on ' : ''}${key.commit.slice(0, 7)}`;
  }

  branch(key: JobKey): string {
    return entryName(key);
  }

  /** The jobs of `needs`: their keys were computed with this one's (see key.ts). */
  needs(key: JobKey): { name: string; key: JobKey }[] {
    return key.job.needs.map((name) => {
      const need = this.options.keyOf(key.needs[name] ?? '');
      if (!need) { throw new BuildFailure(`The key of "${name}", which ${key.job.name} needs, is unknown`); }
      return { name, key: need };
    });
  }

  trailers(key: JobKey): Record<string, string> {
    return { [TRAILER.job]: key.job.name, [TRAILER.sourceCommit]: key.commit, ...(key.worktree ? { [TRAILER.source]: WORKTREE_SOURCE } : {}) };
  }

  priority(key: JobKey): number {
    return (this.options.urgent?.(key.digest) ? URGENT : 0) + (key.waitedOnBy ?? 0);
  }

  order(key: JobKey): number {
    return key.index ?? 0;
  }

  /**
   * The job's build directory, locked, checked out, with the setup's products in place (the setup run
   * first if no one has): what a job that needs others readies while they build. Its links are made a few
   * hundred at a time, so that the jobs that can run at once (which link theirs in one go) start first.
   * Only the job's own directory is readied so: when another build of the job holds it (another commit of a
   * range), nothing is, and the build gets a directory when it runs (a spare one if it must, removed after).
   */
  async prepare(key: JobKey, log: LiveLog, signal: AbortSignal): Promise<PreparedDir | undefined> {
    const run = randomUUID();
    const claim = await claimBuildDir(this.options.buildRoot, { job: key.job.name, run, onTakeOver: (message) => log.log(message) }, true);
    return claim && this.ready(key, log, signal, { run, claim });
  }

  /**
   * Kills what the runs of a process that died (in any repository whose build directories are in the same
   * cache directory) left running, and says so, in the log and to the user; one look at a time.
   */
  private async killOrphans(log: LiveLog): Promise<void> {
    // A look that fails costs the look, not the build: it is said.
    const looking = (this.orphans ??= killOrphanedRuns(this.runs)
      .catch((e: unknown) => [`Could not look for the runs of processes that died in ${this.runs}: ${e instanceof Error ? e.message : String(e)}`])
      .finally(() => { this.orphans = undefined; }));
    for (const m of await looking) {
      log.log(`Warning: ${m}`);
      this.options.warn?.(m);
    }
  }

  /** `ahead`: readied while the build waits for its needs, in the directory claimed for it (see prepare). */
  private async ready(key: JobKey, log: LiveLog, signal: AbortSignal, ahead?: { run: string; claim: DirClaim }): Promise<PreparedDir> {
    const inBackground = ahead !== undefined;
    try {
      await this.killOrphans(log);
    } catch (e) {
      await ahead?.claim.lock.release();
      throw e;
    }
    const { job, commit } = key;
    // Marks every process of this run, so that those that leave the job's process group are found too.
    const run = ahead?.run ?? randomUUID();
    // The checkout is made while the setup runs (once its command has started: it comes first).
    const setup = key.setup ? this.setups.ensure(key.setup, commit, log, signal, key.worktree) : undefined;
    const checkout = (async () => {
      await setup?.started;
      const repo = await this.options.repo().catch(async (e: unknown) => { await ahead?.claim.lock.release(); throw e; });
      return prepareBuildDir({
        repo, commit, job: job.name, clean: job.clean, root: this.options.buildRoot, run, ...(ahead ? { claim: ahead.claim } : {}),
        onTakeOver: (message) => log.log(message), ...(key.worktree ? this.worktreeOptions(key, log) : {}),
      });
    })();
    const [made, ran] = await log.withPendingReason('Preparing the build directory', () => Promise.allSettled([checkout, setup?.products]));
    if (made.status === 'rejected') { throw made.reason; }
    const dir = made.value;
    if (ran.status === 'rejected') {
      await dir.release();
      throw ran.reason;
    }
    const products = ran.value;
    if (products) { log.heading(`${job.name}: ${job.run}`); }
    try {
      const { linked, removed, unshared } = await linkProducts(products, dir.dir, inBackground ? { yieldEvery: 256 } : {});
      if (products) { log.log(`Setup products in place: ${products.files.length} files (${linked} linked now${removed ? `, ${removed} of another setup removed` : ''})`); }
      if (unshared) { log.log(`Linked file by file, not as one link to the setup's folder, since the checkout holds other files there: ${someFiles(unshared)}`); }
    } catch (e) {
      await dir.release();
      throw e;
    }
    return { dir, run, ...(products ? { products } : {}) };
  }

  /** What of the working tree a build of it gets: what its key covers (see coveredByKey). */
  private worktreeOptions(key: JobKey, log: LiveLog): Pick<PrepareOptions, 'worktree' | 'only' | 'onNote'> {
    const only = coveredByKey(key, this.options.keyOf);
    return { worktree: key.worktree!, ...(only ? { only } : {}), onNote: (message) => log.log(message) };
  }

  async abandon(prepared: Promise<unknown>): Promise<void> {
    // A checkout that failed to be readied holds nothing to free (its failure was generate's to report).
    const p = await (prepared as Promise<PreparedDir | undefined>).catch(() => undefined);
    await p?.dir.release();
  }

  async generate({ key, log, tx, signal, needs, prepared }: BuildJob<JobKey, unknown, ShellValue>): Promise<ShellValue> {
    await tx.writeFile('key.json', keyJson(key));
    const { job, commit } = key;
    const { dir, run, products } = (await (prepared as Promise<PreparedDir | undefined> | undefined)) ?? await this.ready(key, log, signal);
    try {
      for (const [name, need] of needs) { await this.restoreNeed(name, need, dir.dir, log); }
      log.log(`In ${homeShort(dir.dir)}`); // where the log's absolute paths start (see ranIn)
      log.log(`Running: ${job.run}`);
      await log.whileRunning(() => withRunRecord(this.runs, { run, what: `job ${job.name}` }, () => runJobProcess({
        command: job.run,
        cwd: dir.dir,
        env: jobEnvironment(process.env, job.env, { job: job.name, commit, key: key.digest, run, ceiling: path.dirname(dir.dir) }),
        run: { name: RUN_VARIABLE, value: run },
        signal,
        timeoutMs: job.timeoutMs,
        timeoutLabel: job.timeout,
        onOutput: (text, stream) => log.write(stream === 'stderr' ? markStderr(text) : text),
        ...(job.stderr === 'marked' ? { stderr: 'apart' as const } : {}),
        flow: log.flow,
      })));
      const { files, warnings } = await findOutputs(dir.dir, job.outputs);
      for (const w of warnings) { log.log(`Warning: ${w}`); }
      checkOutputCap(files, this.options.outputCap ?? DEFAULT_OUTPUT_CAP);
      for (const f of files) {
        const data = f.mode === '120000' ? Buffer.from(f.target!, 'utf8') : await fs.readFile(path.join(dir.dir, f.path));
        await tx.writeFile(`value/${f.path}`, data, f.mode);
      }
      if (files.length > 0) { log.log(`Saved ${files.length} output file${files.length === 1 ? '' : 's'}`); }
      return { outputs: files.map((f) => f.path) };
    } finally {
      try {
        if (products) { await this.setups.checkAfter(products, job.name, commit, log); }
      } finally {
        await dir.release();
      }
    }
  }

  /** A needed job's saved outputs, written into the checkout before the job runs. */
  private async restoreNeed(name: string, need: FinishedNeed<ShellValue>, dir: string, log: LiveLog): Promise<void> {
    if (need.value.outputs.length === 0 || !need.saved) { return; }
    const files = (await need.saved.files()).filter((f) => f.path.startsWith('value/'));
    const data = await Promise.all(files.map(async (f) => ({ path: f.path.slice('value/'.length), mode: f.mode, data: await need.saved!.readFile(f.path) })));
    await restoreOutputs(data, dir);
    log.log(`Restored ${data.length} output file${data.length === 1 ? '' : 's'} of ${name}`);
  }

  async load(entry: EntryReader, key: JobKey): Promise<ShellValue> {
    const paths = await entry.paths();
    if (!paths.includes('key.json')) { throw new DataKitError('CorruptResult', 'the entry has no key.json'); }
    // A result fetched from another machine, or written by hand, must be the one of this key. Whoever made it
    // wrote its key.json: its nesting is bounded before it is parsed.
    let record: unknown;
    try { record = parseJsonBounded(Buffer.from(await entry.readFile('key.json')).toString('utf8'), 'key.json', 'CorruptResult'); } catch { record = undefined; }
    const recorded = (record as { digest?: unknown } | null | undefined)?.digest;
    if (recorded !== key.digest) { throw new DataKitError('CorruptResult', `its key.json records another key (${typeof recorded === 'string' ? recorded.slice(0, 16) : 'none'}, not ${key.digest.slice(0, 16)})`); }
    this.options.keyRecord?.(entry.commit, record);
    return { outputs: paths.filter((p) => p.startsWith('value/')).map((p) => p.slice('value/'.length)) };
  }
}

/**
 * stderr's text in the error colour (SGR 31 … 39 around each line's part, so that no colour runs past a line
 * end, whatever the log is cut at): the saved log's viewers draw it red.
 */
export function markStderr(text: string): string {
  return text.replace(/[^\n]+/g, (line) => `\x1b[31m${line}\x1b[39m`);
}
