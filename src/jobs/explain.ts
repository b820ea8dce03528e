// Explain Key: what a job's key was made of and, against the job's previous build, what changed — the tool,
// the job's definition, the setup, the jobs it needs, and each input as files added, removed and changed: the
// files' blob ids compared, each side listed as its key saw it (see inputFiles.ts), never two trees diffed
// (the working tree's trees are never written to git). The data of the Explain Key view and of
// `datakit-ci explain --json`; each face words it.
import { keyJson, TOOL, type JobKey } from './keys/key';
import type { InputFile, InputFiles, InputListing, KeySource } from './inputFiles';
import type { BuildInfo, KeyRecord, RuntimeRecord } from './resultInfo';

export type { BuildInfo } from './resultInfo';

/** One input of a key: a plain path's object id (null when absent), or a pattern's list of files. */
export interface InputSummary {
  readonly input: string;
  readonly kind: 'path' | 'pattern';
  readonly id: string | null;
  /** How many files it stands for; null when they cannot be listed. */
  readonly files: number | null;
}

export interface FileChanges {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** An input whose record differs between two keys. */
export interface InputChange {
  readonly input: string;
  /** What it was in the previous key (null: no such input then) and what it is now (null: no longer one). */
  readonly before: InputSummary | null;
  readonly after: InputSummary | null;
  /** The files added, removed and changed; null when one side's files cannot be listed (`unlisted` says why). */
  readonly files: FileChanges | null;
  readonly unlisted: string | null;
}

/** A runtime input (an environment variable or a tool's command) of the job or of its setup. */
export interface RuntimeInput {
  readonly of: 'job' | 'setup';
  readonly kind: 'env' | 'tool';
  /** The variable's name, or the command. */
  readonly name: string;
}

/** A runtime input's value in a key (null: an unset variable). */
export interface RuntimeValue extends RuntimeInput {
  readonly value: string | null;
}

/** A runtime input whose value differs between two keys (undefined: not an input of that key). */
export interface RuntimeChange extends RuntimeInput {
  readonly before: string | null | undefined;
  readonly after: string | null | undefined;
}

/** What differs between the previous key and this one. */
export interface Changes {
  /** The tool's version, when it changed. */
  readonly tool: { readonly before: string | null; readonly after: string } | null;
  /** The fields of the job's definition that changed (`run`, `env`, `timeout`…); empty: the same. */
  readonly definition: string[];
  /** The setup the job starts with, when its key changed. */
  readonly setup: { readonly change: 'added' | 'removed' | 'changed'; readonly definition: string[]; readonly inputs: InputChange[] } | null;
  /** The jobs it needs whose keys changed (or that it needs no longer, or newly). */
  readonly needs: string[];
  readonly inputs: InputChange[];
  /** The envInputs and toolInputs (the job's and its setup's) whose values changed. */
  readonly runtime: RuntimeChange[];
}

export interface PreviousBuild {
  readonly key: string;
  readonly commit: string | null;
  /** Its key was of the working tree over `commit`. */
  readonly worktree: boolean;
  readonly build: BuildInfo;
  readonly changes: Changes;
}

/** Everything Explain Key says (also the shape of `datakit-ci explain --json`). */
export interface Explanation {
  readonly job: string;
  readonly key: string;
  /** The commit the key is of (HEAD, for the working tree). */
  readonly commit: string;
  /** A key of the working tree over `commit`. */
  readonly worktree: boolean;
  readonly tool: string;
  /** Its saved result, if any. */
  readonly result: BuildInfo | null;
  /** The job's most recent other saved build, and what changed since; null when there is none. */
  readonly previous: PreviousBuild | null;
  readonly inputs: InputSummary[];
  /** The values of the envInputs and toolInputs of the job and of its setup (empty: none declared). */
  readonly runtime: RuntimeValue[];
  /** The key as its key.json records it. */
  readonly keyJson: KeyRecord;
}

export interface ExplainSources {
  readonly key: JobKey;
  readonly result: BuildInfo | undefined;
  readonly previous: { readonly record: KeyRecord; readonly build: BuildInfo } | undefined;
  readonly files: InputFiles;
}

/** The names a person knows the definition's normalised fields by. */
const FIELD_NAMES: Readonly<Record<string, string>> = { timeoutMs: 'timeout', platform: 'platform (not portable)' };

export async function explainKey(sources: ExplainSources): Promise<Explanation> {
  const { key, files } = sources;
  const record = JSON.parse(keyJson(key)) as KeyRecord;
  const source: KeySource = { commit: key.commit, worktree: key.worktree !== undefined, ...(key.worktree ? { state: key.worktree.state } : {}) };
  const inputs = await Promise.all(Object.entries(key.inputs).map(async ([input, rec]) => summary(input, rec, await files.list(source, input, rec))));
  const prev = sources.previous;
  return {
    job: key.job.name, key: key.digest, commit: key.commit, worktree: key.worktree !== undefined, tool: TOOL,
    result: sources.result ?? null,
    previous: prev ? {
      key: String(prev.record.digest ?? ''), commit: prev.record.commit ?? null, worktree: prev.record.worktree === true, build: prev.build,
      changes: await changesBetween(files, prev.record, record, source),
    } : null,
    inputs, runtime: runtimeValues(record), keyJson: record,
  };
}

/** The runtime values a key records, the job's then its setup's; what is not a string is left out. */
function runtimeValues(record: KeyRecord): RuntimeValue[] {
  const of = (who: RuntimeValue['of'], r: RuntimeRecord | undefined): RuntimeValue[] => [
    ...Object.entries(r?.env ?? {}).map(([name, v]) => ({ of: who, kind: 'env' as const, name, value: typeof v === 'string' ? v : null })),
    ...Object.entries(r?.tools ?? {}).filter(([, v]) => typeof v === 'string').map(([name, v]) => ({ of: who, kind: 'tool' as const, name, value: v as string })),
  ];
  return [...of('job', record.runtime), ...of('setup', record.setup?.runtime)];
}

/** The runtime inputs whose values differ from `before` to `after`. */
function runtimeChanges(before: KeyRecord, after: KeyRecord): RuntimeChange[] {
  const id = (v: RuntimeInput): string => JSON.stringify([v.of, v.kind, v.name]);
  const [b, a] = [new Map(runtimeValues(before).map((v) => [id(v), v])), new Map(runtimeValues(after).map((v) => [id(v), v]))];
  const out: RuntimeChange[] = [];
  for (const k of new Set([...b.keys(), ...a.keys()])) {
    const [x, y] = [b.get(k), a.get(k)];
    if (x?.value !== y?.value || !x !== !y) {
      const at = (x ?? y)!;
      out.push({ of: at.of, kind: at.kind, name: at.name, before: x ? x.value : undefined, after: y ? y.value : undefined });
    }
  }
  return out;
}

/** What differs from the key `before` to the key `after` (read from `source`). */
async function changesBetween(files: InputFiles, before: KeyRecord, after: KeyRecord, source: KeySource): Promise<Changes> {
  const beforeSource: KeySource = { commit: before.commit, worktree: before.worktree === true };
  const compare = (b: Record<string, unknown> | undefined, a: Record<string, unknown> | undefined): Promise<InputChange[]> =>
    inputChanges(files, { record: b ?? {}, source: beforeSource }, { record: a ?? {}, source });
  const [bSetup, aSetup] = [before.setup ?? null, after.setup ?? null];
  let setup: Changes['setup'] = null;
  if (bSetup?.digest !== aSetup?.digest) {
    setup = {
      change: !bSetup ? 'added' : !aSetup ? 'removed' : 'changed',
      definition: bSetup && aSetup ? changedFields(bSetup.setup, aSetup.setup) : [],
      inputs: await compare(bSetup?.inputs, aSetup?.inputs),
    };
  }
  const [bNeeds, aNeeds] = [before.needs ?? {}, after.needs ?? {}];
  return {
    tool: before.tool === after.tool ? null : { before: before.tool ?? null, after: after.tool ?? TOOL },
    definition: changedFields(before.job, after.job),
    setup,
    needs: [...new Set([...Object.keys(bNeeds), ...Object.keys(aNeeds)])].filter((n) => bNeeds[n] !== aNeeds[n]).sort(),
    inputs: await compare(before.inputs, after.inputs),
    runtime: runtimeChanges(before, after),
  };
}

/** The top-level fields of two definitions (normalised JSON) whose values differ. */
function changedFields(before: unknown, after: unknown): string[] {
  const asObject = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});
  const [b, a] = [asObject(before), asObject(after)];
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()
    .filter((f) => JSON.stringify(b[f] ?? null) !== JSON.stringify(a[f] ?? null))
    .map((f) => FIELD_NAMES[f] ?? f);
}

interface Side {
  readonly record: Record<string, unknown>;
  readonly source: KeySource;
}

/** Each input whose record differs, with its files added, removed and changed. */
async function inputChanges(files: InputFiles, before: Side, after: Side): Promise<InputChange[]> {
  const names = [...new Set([...Object.keys(before.record), ...Object.keys(after.record)])].sort();
  const changed = names.filter((n) => JSON.stringify(before.record[n] ?? null) !== JSON.stringify(after.record[n] ?? null));
  return Promise.all(changed.map(async (input): Promise<InputChange> => {
    const [b, a] = [before.record[input], after.record[input]];
    const [lb, la] = await Promise.all([files.list(before.source, input, b), files.list(after.source, input, a)]);
    const unlisted = 'unlisted' in lb ? `The previous build's files cannot be listed: ${lb.unlisted}.` : 'unlisted' in la ? `This key's files cannot be listed: ${la.unlisted}.` : null;
    return {
      input,
      before: input in before.record ? summary(input, b, lb) : null,
      after: input in after.record ? summary(input, a, la) : null,
      files: 'files' in lb && 'files' in la ? fileChanges(lb.files, la.files) : null,
      unlisted,
    };
  }));
}

function summary(input: string, record: unknown, listing: InputListing): InputSummary {
  return {
    input, kind: Array.isArray(record) ? 'pattern' : 'path', id: typeof record === 'string' ? record : null,
    files: 'files' in listing ? listing.files.size : null,
  };
}

/** Files by path, compared by blob id (and by mode, where both sides know it). */
function fileChanges(b: ReadonlyMap<string, InputFile>, a: ReadonlyMap<string, InputFile>): FileChanges {
  const out: FileChanges = { added: [], removed: [], changed: [] };
  for (const p of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const [x, y] = [b.get(p), a.get(p)];
    if (!x) { out.added.push(p); } else if (!y) { out.removed.push(p); } else if (x.oid !== y.oid || (x.mode && y.mode && x.mode !== y.mode)) { out.changed.push(p); }
  }
  return out;
}

// ---- Words both faces use (plain text: each face escapes it for where it goes) ----

/** `the working tree over 1a2b3c4` or `commit 1a2b3c4`. */
export function sourceWords(commit: string | null, worktree: boolean): string {
  const short = commit ? commit.slice(0, 7) : 'an unrecorded commit';
  return worktree ? `the working tree over ${short}` : `commit ${short}`;
}

/**
 * Who built a result and where it came from: `built by me@host (…) 3 min ago, from the working tree over
 * 1a2b3c4, fetched from origin`; what it was built from is left unsaid when it is `of` itself.
 */
export function buildWords(b: BuildInfo, when: (iso: string) => string, of?: { readonly commit: string; readonly worktree: boolean }): string {
  const same = of !== undefined && b.source === of.commit && b.fromWorktree === of.worktree;
  const from = same ? '' : b.fromWorktree ? `, from ${sourceWords(b.source, true)}` : b.source ? `, for ${sourceWords(b.source, false)}` : '';
  return `built by ${b.builtBy ?? 'an unrecorded machine'} ${when(b.finishedAt)}${from}${b.fetchedFrom ? `, fetched from ${b.fetchedFrom}, ${b.verified === 'unverified' || b.verified === null ? 'unverified' : `verified: ${b.verified}`}` : ''}`;
}

/** `1 added, 2 changed` (`no file differs` when none does: the same files, their ids computed otherwise). */
export function countWords(f: FileChanges): string {
  const parts = ([['added', f.added], ['removed', f.removed], ['changed', f.changed]] as const).filter(([, l]) => l.length > 0).map(([w, l]) => `${l.length} ${w}`);
  return parts.length > 0 ? parts.join(', ') : 'no file differs';
}

/** What happened to an input as a whole: `new input`, `no longer an input`, or its file counts. */
export function inputChangeWords(c: InputChange): string {
  if (!c.before) { return `a new input (${c.after?.files ?? '?'} files)`; }
  if (!c.after) { return 'no longer an input'; }
  if (c.files) { return countWords(c.files); }
  return `its object id differs: ${shortId(c.before.id)} → ${shortId(c.after.id)}`;
}

/** A runtime input as said: `env NODE_ENV`, `tool "node --version"`, `setup's tool "node --version"`. */
export function runtimeName(r: RuntimeInput): string {
  return `${r.of === 'setup' ? "setup's " : ''}${r.kind === 'env' ? `env ${r.name}` : `tool "${r.name}"`}`;
}

/** A runtime value as said: its first line (a tool's output), `unset` for an unset variable, `-` for none. */
export function runtimeValueWords(v: string | null | undefined): string {
  if (v === undefined) { return '(not an input)'; }
  if (v === null) { return 'unset'; }
  if (/^sha256:[0-9a-f]{64}$/.test(v)) { return `set (sha256 ${v.slice(7, 19)})`; }
  const [first, ...rest] = v.split('\n');
  return `${first}${rest.length > 0 ? ' …' : ''}`;
}

/** An object id as the tables show it (12 digits), or what stands for none. */
export function shortId(id: string | null): string {
  return id === null ? 'absent' : id.slice(0, 12);
}
