// A job's cache key: what was built, not when. Git already content-addresses every file, so the key is a
// digest of the builder's version, the normalised job definition, what its inputs are at the commit (the
// object id of a plain path, the (path, blob id) list of what a glob matches), the setup's key when the job
// starts with the setup's products, and the keys of the jobs it needs.
import { createHash } from 'node:crypto';
import { VERSION } from '../../engine/version';
import type { SourceRepo, TreeFile } from '../../store/source/sourceRepo';
import { treeIdOf, type WorktreeFiles, type WorktreeOverlay } from '../../store/source/worktree';
import type { TreeEntry } from '../../store/git/objectFormat';
import { CONFIG_FILE, normalizeJob, normalizeSetup, type JobDefinition, type SetupDefinition } from '../config/config';
import { compilePatterns, listingOf, type Listing } from '../config/patterns';
import type { RuntimeDeclaration, RuntimeProbe, RuntimeValues } from './runtimeInputs';
import { DataKitError } from '../../shared/errors';

/** A plain path's object id (`null` when absent), or the sorted (path, blob id) pairs a pattern matches. */
export type InputRecord = string | null | [string, string][];

/** What the inputs of a job or of the setup are, by pattern as written (`.` is the whole tree). */
export type Inputs = Readonly<Record<string, InputRecord>>;

export interface SetupKey {
  readonly setup: SetupDefinition;
  readonly inputs: Inputs;
  /** The values of its `envInputs` and `toolInputs`, when it declares any. */
  readonly runtime?: RuntimeValues;
  readonly digest: string;
}

export interface JobKey {
  readonly job: JobDefinition;
  /** The commit this key was computed for (recorded in key.json, not part of the digest). */
  readonly commit: string;
  readonly inputs: Inputs;
  /** The values of its `envInputs` and `toolInputs` (see runtimeInputs.ts), when it declares any. */
  readonly runtime?: RuntimeValues;
  /** The setup the job starts with, if any. */
  readonly setup?: SetupKey;
  /** The digest of each job it needs, by name. */
  readonly needs: Readonly<Record<string, string>>;
  readonly digest: string;
  /**
   * The longest chain of jobs of its configuration that need it, one after another (0: none): its build's
   * priority for a slot. Not part of the digest.
   */
  readonly waitedOnBy?: number;
  /** Its place in its configuration (0 for the first job declared): among equals, the first declared starts first. */
  readonly index?: number;
  /**
   * A key of the working tree: `commit` is its HEAD, these are the changes laid over it in the checkout. The
   * digest is the one a commit of that content has, so committing it is a hit.
   */
  readonly worktree?: WorktreeFiles;
}

export const TOOL = `datakit-ci/${VERSION}`;

/** Where a commit's files are read from (the working tree will be another). */
export interface InputSource {
  /** The id of the root tree without the file `name` at its root (the whole root tree when it has none). */
  rootTreeWithout(name: string): Promise<string>;
  objectIds(paths: readonly string[]): Promise<Map<string, string | undefined>>;
  listFiles(listings: readonly Listing[]): Promise<TreeFile[]>;
}

export function commitSource(repo: SourceRepo, commit: string): InputSource {
  return {
    rootTreeWithout: async (name) => treeIdOf(without(await repo.treeAt(commit, ''), name)),
    objectIds: (paths) => repo.objectIds(commit, paths),
    listFiles: (listings) => repo.listFiles(commit, listings),
  };
}

/** The working tree's files, as a commit of them would have them (see store/worktree.ts). */
export function worktreeSource(overlay: WorktreeOverlay): InputSource {
  return {
    rootTreeWithout: async (name) => treeIdOf(without(await overlay.entriesAt(''), name)),
    objectIds: (paths) => overlay.objectIds(paths),
    listFiles: (listings) => overlay.listFiles(listings),
  };
}

/** A tree's entries without one of them. */
function without(tree: ReadonlyMap<string, TreeEntry> | undefined, name: string): Map<string, TreeEntry> {
  const entries = new Map(tree ?? []);
  entries.delete(name);
  return entries;
}

/**
 * The inputs' records. A job without inputs keys on the whole tree but its own configuration file: its
 * definition is in the key already, so editing another job or a comment of the file, or committing the file
 * first made from suggestions, changes no such job's key. Without an exclusion, a plain path costs one object id (a folder's tree id covers
 * everything in it); a glob, or any input once an exclusion applies, is the list of the files it matches.
 */
export async function computeInputs(source: InputSource, patterns: readonly string[] | undefined): Promise<Inputs> {
  if (!patterns) { return { '.': await source.rootTreeWithout(CONFIG_FILE) }; }
  const set = compilePatterns(patterns);
  const listed = set.negated.length > 0 ? [...set.plain, ...set.globs] : [...set.globs];
  const ids = set.negated.length > 0 ? new Map<string, string | undefined>() : await source.objectIds(set.plain);
  // A glob is listed only as deep as it can match; a plain path (listed when an exclusion applies) entirely.
  const files = listed.length > 0 ? await source.listFiles(listed.map((p) => (set.plain.includes(p) ? { base: p.replace(/\/$/, '') } : listingOf(p)))) : [];
  const inputs: Record<string, InputRecord> = {};
  for (const p of [...set.plain, ...set.globs].sort()) {
    inputs[p] = listed.includes(p)
      ? files.filter((f) => set.matchesPattern(p, f.path) && set.matches(f.path)).map((f): [string, string] => [f.path, f.oid])
      : ids.get(p) ?? null;
  }
  return inputs;
}

/** What a job (or, without a name, the setup) declares of the machine, as the probe reads it. */
export function runtimeDeclaration(d: SetupDefinition | JobDefinition): RuntimeDeclaration {
  const who = 'name' in d ? `job "${d.name}"` : 'the setup';
  return { who, env: d.env, ...(d.envInputs ? { envInputs: d.envInputs } : {}), ...(d.toolInputs ? { toolInputs: d.toolInputs } : {}) };
}

/** The runtime values of what `d` declares (none declared: undefined); declared without a probe is an error. */
async function runtimeOf(probe: RuntimeProbe | undefined, d: SetupDefinition | JobDefinition): Promise<RuntimeValues | undefined> {
  if (!d.envInputs?.length && !d.toolInputs?.length) { return undefined; }
  const declared = runtimeDeclaration(d);
  if (!probe) { throw new DataKitError('ToolInputFailed', `${declared.who} declares envInputs or toolInputs, which are read only where jobs may run`, { job: declared.who }); }
  return probe.valuesOf(declared);
}

export async function computeSetupKey(source: InputSource, setup: SetupDefinition, probe?: RuntimeProbe): Promise<SetupKey> {
  const inputs = await computeInputs(source, setup.inputs);
  const runtime = await runtimeOf(probe, setup);
  return { setup, inputs, ...(runtime ? { runtime } : {}), digest: setupDigestOf(setup, inputs, runtime) };
}

/** The setup's digest: the tool, its definition, its inputs and (when it declares them) its runtime values. */
export function setupDigestOf(setup: SetupDefinition, inputs: Inputs, runtime: RuntimeValues | undefined): string {
  return createHash('sha256').update(JSON.stringify({ tool: TOOL, setup: normalizeSetup(setup), inputs, ...(runtime ? { runtime } : {}) })).digest('hex');
}

/** One job's key; the keys of the jobs it needs are computed first (see `computeKeys`). */
export async function computeKey(source: InputSource, commit: string, job: JobDefinition, setup?: SetupKey, needs: Readonly<Record<string, string>> = {}, probe?: RuntimeProbe): Promise<JobKey> {
  const inputs = await computeInputs(source, job.inputs);
  const runtime = await runtimeOf(probe, job);
  const usedSetup = job.setup ? setup : undefined;
  return { job, commit, inputs, ...(runtime ? { runtime } : {}), ...(usedSetup ? { setup: usedSetup } : {}), needs, digest: digestOf(job, inputs, usedSetup?.digest, needs, runtime) };
}

/**
 * Every job's key, in file order; a job's needs are keyed before it (the config has no cycle). `probe` reads
 * the runtime inputs the jobs and the setup declare (each command once).
 */
export async function computeKeys(source: InputSource, commit: string, jobs: readonly JobDefinition[], setup?: SetupDefinition, probe?: RuntimeProbe): Promise<JobKey[]> {
  const setupKey = setup ? await computeSetupKey(source, setup, probe) : undefined;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const keys = new Map<string, Promise<JobKey>>();
  const keyOf = (job: JobDefinition): Promise<JobKey> => {
    let k = keys.get(job.name);
    if (!k) {
      k = (async () => {
        const needs: Record<string, string> = {};
        for (const n of job.needs) { needs[n] = (await keyOf(byName.get(n)!)).digest; }
        return computeKey(source, commit, job, setupKey, needs, probe);
      })();
      keys.set(job.name, k);
    }
    return k;
  };
  const chains = dependentChains(jobs);
  return (await Promise.all(jobs.map(keyOf))).map((k, index) => ({ ...k, waitedOnBy: chains.get(k.job.name) ?? 0, index }));
}

/** For each job, the longest chain of jobs that need it, one after another (the graph has no cycle). */
function dependentChains(jobs: readonly JobDefinition[]): Map<string, number> {
  const neededBy = new Map<string, string[]>(jobs.map((j) => [j.name, []]));
  for (const j of jobs) { for (const n of j.needs) { neededBy.get(n)?.push(j.name); } }
  const chains = new Map<string, number>();
  const chain = (name: string): number => {
    let c = chains.get(name);
    if (c === undefined) {
      c = Math.max(0, ...(neededBy.get(name) ?? []).map((d) => 1 + chain(d)));
      chains.set(name, c);
    }
    return c;
  };
  for (const j of jobs) { chain(j.name); }
  return chains;
}

/**
 * The key's digest: what was built (the tool, the definition, the inputs, the setup's key, the needs' keys,
 * and the runtime values when the job declares runtime inputs — a job that declares none keeps its key).
 */
export function digestOf(job: JobDefinition, inputs: Inputs, setup: string | undefined, needs: Readonly<Record<string, string>>, runtime?: RuntimeValues): string {
  return createHash('sha256').update(JSON.stringify({ tool: TOOL, job: normalizeJob(job), inputs, setup: setup ?? null, needs, ...(runtime ? { runtime } : {}) })).digest('hex');
}

/** What key.json in each saved entry records: everything the digest was made of, and the source commit. */
export function keyJson(key: JobKey): string {
  return JSON.stringify({
    tool: TOOL,
    digest: key.digest,
    job: JSON.parse(normalizeJob(key.job)),
    inputs: key.inputs,
    ...(key.runtime ? { runtime: key.runtime } : {}),
    setup: key.setup ? { digest: key.setup.digest, setup: JSON.parse(normalizeSetup(key.setup.setup)), inputs: key.setup.inputs, ...(key.setup.runtime ? { runtime: key.setup.runtime } : {}) } : null,
    needs: key.needs,
    commit: key.commit,
    ...(key.worktree ? { worktree: true } : {}),
  }, null, 2) + '\n';
}

/** The entry's name in the results repository: `<job>/<first 16 hex digits of the digest>`. */
export function entryName(key: JobKey): string {
  return `${key.job.name}/${key.digest.slice(0, 16)}`;
}

/** An input written in the configuration that matches nothing at the commit: never a silent constant key. */
export interface InputWarning {
  /** The job's name, or '' for the setup. */
  readonly job: string;
  /** Its index in the `inputs` as written. */
  readonly index: number;
  readonly pattern: string;
  readonly message: string;
}

export function inputWarnings(job: string, patterns: readonly string[] | undefined, inputs: Inputs, commit: string): InputWarning[] {
  const out: InputWarning[] = [];
  patterns?.forEach((pattern, index) => {
    const rec = inputs[pattern.replace(/\/$/, '')];
    if (pattern.startsWith('!') || (rec !== null && !(Array.isArray(rec) && rec.length === 0))) { return; }
    const what = job === '' ? 'the setup' : `job "${job}"`;
    out.push({ job, index, pattern, message: `Input "${pattern}" of ${what} matches nothing at ${commit.slice(0, 7)}: the job is not rebuilt when such files appear or change` });
  });
  return out;
}

/** The warnings of a commit's keys: each job's inputs, and the setup's once. */
export function keyWarnings(keys: readonly JobKey[]): InputWarning[] {
  const out: InputWarning[] = [];
  const setup = keys.find((k) => k.setup)?.setup;
  if (setup) { out.push(...inputWarnings('', setup.setup.inputs, setup.inputs, keys[0].commit)); }
  for (const k of keys) { out.push(...inputWarnings(k.job.name, k.job.inputs, k.inputs, k.commit)); }
  return out;
}

/** Input patterns whose records differ between two keys' records (why a job was rebuilt). */
export function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((p) => JSON.stringify(before[p] ?? null) !== JSON.stringify(after[p] ?? null)).sort();
}
