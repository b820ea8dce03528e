// A makefile's `test` and `check` targets as suggested jobs (`make test`), from the makefile GNU make would
// read. Only reads the file.
import { readSuggestFile } from './suggestFiles';
import type { SuggestedJob } from './types';
import type { Skipped } from './suggestWorkspaces';

/** A Makefile's targets suggested as jobs. */
export const MAKE_TARGETS = ['test', 'check'] as const;
/** The makefiles GNU make looks for, in its order. */
const MAKEFILES = ['GNUmakefile', 'makefile', 'Makefile'];

/** The rules' targets of a makefile (not its variables, recipes or pattern rules). */
export function makeTargets(text: string): Set<string> {
  const targets = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^\s:#=][^:#=]*?)\s*::?(?!=)/.exec(line);
    if (m) { for (const t of m[1].trim().split(/\s+/)) { targets.add(t); } }
  }
  return targets;
}

/** `make test` and `make check` when the makefile that make would read has such rules. */
export function makeJobs(repoDir: string, names: Set<string>, taken: Set<string>, skipped: Skipped[]): SuggestedJob[] {
  const file = MAKEFILES.find((f) => names.has(f));
  if (!file) { return []; }
  const text = readSuggestFile(repoDir, file, skipped);
  if (text === undefined) { return []; }
  const targets = MAKE_TARGETS.filter((t) => makeTargets(text).has(t));
  // Named as the targets, or all `make-<target>` when a script took one of the names.
  const prefix = targets.some((t) => taken.has(t)) ? 'make-' : '';
  return targets.map((t) => ({ name: `${prefix}${t}`, run: `make ${t}`, from: `${file} target "${t}"` }));
}
