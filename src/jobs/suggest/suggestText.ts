// The text of a suggested .datakit-ci.json: JSON with comments, one line per job under a comment that says
// where the job was found, in the layout of the README's examples.
import { shown } from '../config/configChecks';
import type { SuggestedJob, SuggestedSetup } from './types';

/** A setup's `from` when there is no lockfile to install by. */
export const NO_LOCKFILE = 'package.json (no lockfile)';

const HEADER = [
  '// Suggested by `datakit-ci init` from the files of this repository: edit it freely. Jobs are read from the',
  '// commit being built, so commit this file (`datakit-ci build --worktree` tries it before you do). A job',
  '// without "inputs" depends on the whole tree; a workspace package\'s job, on its folder, the packages it',
  '// depends on, the lockfile and the shared configuration at the root.',
];

/** `{ "run": "npm ci", "inputs": ["a", "b"] }` on one line. */
function inline(fields: Record<string, string | string[] | boolean | undefined>): string {
  const parts = Object.entries(fields).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}: ${Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v)}`);
  return `{ ${parts.join(', ')} }`;
}

export function suggestionText(jobs: readonly SuggestedJob[], setup: SuggestedSetup | undefined): string {
  const lines = [...HEADER, '{'];
  if (setup) {
    lines.push(setup.from === NO_LOCKFILE
      ? '  // Installs the dependencies once per distinct content of its inputs. There is no lockfile: the versions installed may differ from one install to the next.'
      : `  // Installs the dependencies once per distinct content of its inputs (as ${shown(setup.from)} says).`);
    lines.push(`  // Again when the output of a command of "toolInputs" changes (${setup.upgrade ?? 'a Node upgrade'}), and every job with it.`);
    lines.push(`  "setup": ${inline({ run: setup.run, inputs: setup.inputs, toolInputs: setup.toolInputs })},`);
  }
  lines.push('  "jobs": {');
  jobs.forEach((j, i) => {
    lines.push(`    // ${shown(j.from)}`);
    lines.push(`    ${JSON.stringify(j.name)}: ${inline({ run: j.run, inputs: j.inputs, outputs: j.outputs, needs: j.needs, toolInputs: j.toolInputs, setup: j.setup, problemMatcher: j.problemMatcher })}${i < jobs.length - 1 ? ',' : ''}`);
  });
  lines.push('  }', '}', '');
  return lines.join('\n');
}
