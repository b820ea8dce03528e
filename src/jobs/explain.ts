// Explain Key: what a job's key was made of and, against the job's previous build, what changed — the
// definition, the tool, and each input as files added, removed and changed.
import type { SourceRepo } from '../store/source/sourceRepo';
import { changedInputs, TOOL, type JobKey } from './keys/key';
import { normalizeJob } from './config/config';
import type { KeyRecord } from './resultInfo';

/** How many changed files are listed for one input. */
const LISTED_FILES = 50;

export interface ExplainInput {
  readonly key: JobKey;
  /** Its saved result, who built it and the remote it came from. */
  readonly result?: { readonly commit: string; readonly builtBy?: string; readonly fetchedFrom?: string };
  readonly previous: KeyRecord | undefined;
  /** The repository's files, to list what changed inside a folder input (none when it may not be read). */
  readonly repo: SourceRepo | undefined;
}

/**
 * How an input's record changed, as files: a pattern's files added, removed and changed; a plain path's two
 * object ids compared by git (a folder's files that differ, a file changed), ids only when git cannot.
 */
async function describeInputChange(repo: SourceRepo | undefined, input: string, before: unknown, after: unknown): Promise<string> {
  const list = (files: string[]): string => files.slice(0, LISTED_FILES).join(', ') + (files.length > LISTED_FILES ? `, … and ${files.length - LISTED_FILES} more` : '');
  if (!Array.isArray(before) && !Array.isArray(after)) {
    const [b, a] = [before as string | null | undefined, after as string | null | undefined];
    if (!b || !a) { return `\`${b ?? 'absent'}\` → \`${a ?? 'absent'}\`${!b ? ' (added)' : ' (removed)'}`; }
    const files = repo ? await repo.changedFiles(b, a) : undefined;
    if (files === undefined) { return `\`${b}\` → \`${a}\` (one is a tree of the working tree, which git does not store: ids only)`; }
    return list(files.map((f) => `\`${f.path ? `${input}/${f.path}` : input}\` ${f.change}`));
  }
  const asList = (r: unknown): Map<string, string> => new Map(Array.isArray(r) ? (r as [string, string][]) : []);
  const [b, a] = [asList(before), asList(after)];
  const files = [...new Set([...b.keys(), ...a.keys()])].sort().filter((f) => b.get(f) !== a.get(f));
  return list(files.map((f) => `\`${f}\` ${!b.has(f) ? 'added' : !a.has(f) ? 'removed' : 'changed'}`));
}

/** key.json of a job's saved result and, against the previous build of the same job, what changed (Markdown). */
export async function explainKey(input: ExplainInput): Promise<string> {
  const { key, result, previous, repo } = input;
  const lines = [`# Why \`${key.job.name}\` has key \`${key.digest.slice(0, 16)}\``, '',
    `The key is a digest of the tool version, the job's definition and the object id of each input in commit \`${key.commit.slice(0, 12)}\`.`, '',
    '```json', JSON.stringify({ digest: key.digest, job: key.job, inputs: key.inputs, commit: key.commit }, null, 2), '```', ''];
  if (result) {
    lines.push(`Its result (\`${result.commit.slice(0, 12)}\`) was built by ${result.builtBy ?? 'an unrecorded machine'}${result.fetchedFrom ? `, fetched from ${result.fetchedFrom}` : ''}.`, '');
  }
  if (!previous) {
    lines.push('No other build of this job is saved, so there is nothing to compare with.');
    return lines.join('\n') + '\n';
  }
  lines.push(`## Against the previous build of \`${key.job.name}\` (key \`${String(previous.digest).slice(0, 16)}\`, commit \`${String(previous.commit).slice(0, 12)}\`)`, '');
  const changed = changedInputs(previous.inputs ?? {}, key.inputs);
  const defChanged = JSON.stringify(previous.job) !== JSON.stringify(JSON.parse(normalizeJob(key.job)));
  if (defChanged) { lines.push('- the job definition changed'); }
  if (previous.tool !== TOOL) { lines.push(`- the tool changed (${previous.tool} → ${TOOL})`); }
  for (const p of changed) { lines.push(`- input \`${p}\` changed: ${await describeInputChange(repo, p, previous.inputs?.[p], key.inputs[p])}`); }
  if (!defChanged && changed.length === 0 && previous.tool === TOOL) { lines.push('- nothing: the same key (a rebuild was asked for)'); }
  return lines.join('\n') + '\n';
}
