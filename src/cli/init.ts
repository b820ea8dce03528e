// `datakit-ci init`: writes the .datakit-ci.json that zero configuration suggests (src/jobs/suggest/suggest.ts) at
// the repository's root, and says what it found, where, what it skipped and why, and what to do next.
import fs = require('node:fs');
import path = require('node:path');
import { parseArgs } from 'node:util';
import { CONFIG_FILE } from '../jobs/config/config';
import { suggestJobs, type Suggestions } from '../jobs/suggest/suggest';
import { findRepository, headOf } from '../jobs/repository';
import { DataKitError } from '../shared/errors';
import { EXIT, type Io } from './context';
import { printable, table } from './format';

/** `init [--force] [--print]`. */
export async function runInit(args: string[], io: Io, cwd: string): Promise<number> {
  const { values } = parseArgs({ args, options: { force: { type: 'boolean', default: false }, print: { type: 'boolean', default: false } }, allowPositionals: false });
  const dirs = findRepository(cwd);
  if (!dirs) { throw new DataKitError('NotARepository', `Not a git repository: ${cwd}`); }
  if (!dirs.topLevel) { throw new DataKitError('Usage', 'this repository is bare: it has no files to suggest jobs from'); }
  const file = path.join(dirs.topLevel, CONFIG_FILE);
  const shownFile = path.relative(cwd, file) || CONFIG_FILE;
  const there = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!values.print && !values.force && there) {
    throw new DataKitError('Usage', `${shownFile} already exists; \`init --force\` replaces it, \`init --print\` prints the suggestion instead`);
  }
  // Never written through a link (a committed symbolic link could point anywhere on the machine).
  if (!values.print && there && !there.isFile()) {
    throw new DataKitError('Usage', `${shownFile} is not a regular file (${there.isSymbolicLink() ? 'a symbolic link' : 'a folder or another kind'}): init does not write through it`);
  }
  const s = await suggestJobs(dirs.topLevel);
  // With --print, stdout is the file alone (it can be redirected); what was found goes to stderr.
  const say = values.print ? io.err : io.out;
  if (s.jobs.length === 0) {
    saySkipped(s, io.err);
    throw new DataKitError('NothingToSuggest', `found no job to suggest in ${dirs.topLevel}: no build, typecheck, check, lint or test script in a package.json, no test or check target in a Makefile; write ${CONFIG_FILE} by hand (see the README's "Declaring jobs")`);
  }
  if (values.print) {
    io.out(s.text);
  } else {
    if (there) { fs.rmSync(file); } // --force on a regular file: replaced
    fs.writeFileSync(file, s.text, { flag: 'wx' });
  }
  say(`${values.print ? 'found' : `wrote ${shownFile} with`} ${s.jobs.length} job${s.jobs.length === 1 ? '' : 's'}${s.setup ? ' and a setup' : ''}:\n`);
  say(indent(table([
    ...(s.setup ? [['(setup)', s.setup.run, `chosen by ${s.setup.from}`]] : []),
    ...s.jobs.map((j) => [j.name, j.run, j.from]),
  ].map((row) => row.map(printable)))));
  saySkipped(s, say);
  // Jobs are read from the commit: building needs the file committed, or --worktree over a first commit.
  say(values.print ? `next: \`datakit-ci init\` writes it to ${shownFile}\n`
    : headOf(dirs) ? `next: \`datakit-ci build --worktree\` tries the jobs on your working tree; commit ${shownFile}, then \`datakit-ci build\` builds them for HEAD\n`
      : `next: commit ${shownFile} (jobs are read from the commit being built), then \`datakit-ci build\`\n`);
  return EXIT.ok;
}

function saySkipped(s: Suggestions, say: (text: string) => void): void {
  if (s.skipped.length === 0) { return; }
  // A folder's or a pattern's name is the repository's text: shown, never acted on by the terminal.
  say(`skipped:\n${s.skipped.map((k) => `  ${printable(k.file)}: ${printable(k.reason)}\n`).join('')}`);
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
