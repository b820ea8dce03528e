// `datakit-ci explain JOB [--rev REV | --worktree] [--json]`: why a job has its key, as Explain Key says it in
// the editor — what changed since the job's previous build first (the files added, removed and changed of
// each input, the definition, the tool), then the inputs, the raw key last. `--json` prints the explanation
// itself, a stable shape (see the README). Never builds: a job not built yet is explained too.
import { parseArgs } from 'node:util';
import { buildWords, inputChangeWords, runtimeName, runtimeValueWords, shortId, sourceWords, type InputChange } from '../jobs/explain';
import type { Explanation, RepoJobs } from '../jobs/repoJobs';
import { DataKitError } from '../shared/errors';
import { EXIT, loadJobs, loadWorktreeJobs, pickJobs, REV_OPTIONS, type Io } from './context';
import { localTime, printable, table } from './format';

/** How many files of one input the text lists (--json has them all). */
const LISTED_FILES = 50;

export async function runExplain(jobs: RepoJobs, args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...REV_OPTIONS, worktree: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) { throw new DataKitError('Usage', 'explain needs exactly one JOB'); }
  if (values.worktree && (values.rev !== 'HEAD' || values.config !== undefined)) {
    throw new DataKitError('Usage', '--worktree explains the working tree\'s key, with its own .datakit-ci.json: it takes no --rev or --config');
  }
  const at = values.worktree ? await loadWorktreeJobs(jobs, io, 'explaining') : await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const [key] = pickJobs(at, positionals);
  const e = await jobs.explain(key!);
  // JSON escapes C0 controls itself; the C1 ones and the bidirectional overrides are escaped too.
  io.out(values.json ? JSON.stringify(e, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n' : explainText(e));
  return EXIT.ok;
}

/** The explanation as a person reads it in a terminal; every line made printable. */
export function explainText(e: Explanation): string {
  const lines: string[] = [
    `${e.job} @ ${sourceWords(e.commit, e.worktree)}: key ${e.key.slice(0, 16)}`,
    `Result: ${e.result ? buildWords(e.result, localTime, e) : 'none saved for this key yet'}`,
    '',
  ];
  if (!e.previous) {
    lines.push(`No other build of ${e.job} is saved: there is nothing to compare with.`);
  } else {
    const p = e.previous;
    lines.push(`What changed since the previous build (key ${p.key.slice(0, 16)}, ${buildWords(p.build, localTime)}):`);
    lines.push(...changeLines(e));
  }
  lines.push('', 'Inputs:');
  const rows = e.inputs.map((i) => [i.input, i.kind === 'pattern' ? '(a pattern: its files)' : shortId(i.id), i.files === null ? 'cannot be listed' : String(i.files)]);
  lines.push(...table([['INPUT', 'OBJECT ID', 'FILES'], ...rows.map((r) => r.map(printable))]).trimEnd().split('\n').map((l) => `  ${l}`));
  if (e.runtime.length > 0) {
    lines.push('', 'Runtime inputs (envInputs, toolInputs):');
    lines.push(...table(e.runtime.map((r) => [runtimeName(r), runtimeValueWords(r.value)])).trimEnd().split('\n').map((l) => `  ${l}`));
  }
  lines.push('', 'The key, as its key.json records it:', ...JSON.stringify(e.keyJson, null, 2).split('\n'));
  return lines.map((l) => printable(l)).join('\n') + '\n';
}

/** `  definition  unchanged`, the tool, the setup, the needs, then each input that changed and its files. */
function changeLines(e: Explanation): string[] {
  const c = e.previous!.changes;
  const rows: string[][] = [
    ['definition', c.definition.length > 0 ? `changed: ${c.definition.join(', ')}` : 'unchanged'],
    ['tool', c.tool ? `${c.tool.before ?? 'unrecorded'} → ${c.tool.after}` : `${e.tool}, unchanged`],
  ];
  if (c.setup) { rows.push(['setup', c.setup.change === 'changed' ? `changed${c.setup.definition.length > 0 ? `: ${c.setup.definition.join(', ')}` : ''}` : c.setup.change]); }
  if (c.needs.length > 0) { rows.push(['needs', `the key of ${c.needs.join(', ')} changed`]); }
  for (const r of c.runtime) { rows.push([runtimeName(r), `${runtimeValueWords(r.before)} → ${runtimeValueWords(r.after)}`]); }
  const inputs = [...c.inputs.map((i) => ['input', i] as const), ...(c.setup?.inputs ?? []).map((i) => ['setup input', i] as const)];
  if (inputs.length === 0) { rows.push(['inputs', 'unchanged']); }
  const out = table(rows).trimEnd().split('\n').map((l) => `  ${l}`);
  for (const [what, i] of inputs) { out.push(`  ${what} ${i.input}: ${inputChangeWords(i)}`, ...fileLines(i)); }
  if (c.definition.length === 0 && !c.tool && !c.setup && c.needs.length === 0 && inputs.length === 0 && c.runtime.length === 0) {
    out.push('  No part of the key differs, yet the keys do: the previous one was computed by other rules.');
  }
  return out;
}

/** The files of a changed input, one a line (`    added    src/new.txt`), or why they cannot be listed. */
function fileLines(i: InputChange): string[] {
  if (!i.files) { return i.unlisted ? [`    ${i.unlisted}`] : []; }
  const all = [...i.files.added.map((f) => ['added', f]), ...i.files.removed.map((f) => ['removed', f]), ...i.files.changed.map((f) => ['changed', f])];
  all.sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0));
  const lines = all.slice(0, LISTED_FILES).map(([w, f]) => `    ${w!.padEnd(8)} ${f}`);
  if (all.length > LISTED_FILES) { lines.push(`    … and ${all.length - LISTED_FILES} more (--json lists them all)`); }
  return lines;
}
