// The suggestions beyond npm: Go, Rust, CMake and autotools projects at the root of the repository (and
// Python's, with a setup that installs the project), each job under a comment that says where it was found.
import { jobNameProblem } from '../config/configChecks';
import { autotoolsJobs, cmakeJobs } from './suggestCmake';
import { goJobs } from './suggestGo';
import { pythonSuggestions } from './suggestPython';
import { rustJobs } from './suggestRust';
import type { SuggestedJob, SuggestedSetup } from './types';
import type { Skipped } from './suggestWorkspaces';

/**
 * Adds the ecosystems' jobs to `jobs` (a name already taken, e.g. by a package.json script's job, is skipped
 * with the reason) and returns the setup: `setup` when there is one already, else the one an ecosystem needs.
 */
export function addEcosystems(repoDir: string, names: Set<string>, jobs: SuggestedJob[], setup: SuggestedSetup | undefined, skipped: Skipped[]): { setup: SuggestedSetup | undefined } {
  const py = pythonSuggestions(repoDir, names, skipped);
  // One setup per configuration: when another one is there, each Python job makes its environment itself.
  const pyJobs = setup && py.setup ? py.jobs.map((j) => ({ ...j, run: `${py.setup!.run} && ${j.run}` })) : py.jobs;
  const found = [...goJobs(names), ...rustJobs(repoDir, names, skipped), ...cmakeJobs(repoDir, names, skipped), ...autotoolsJobs(names), ...pyJobs];
  const taken = new Set(jobs.map((j) => j.name));
  for (const j of found) {
    const problem = taken.has(j.name) ? 'the name is taken by another suggested job' : jobNameProblem(j.name);
    if (problem) { skipped.push({ file: j.from.replace(/ \(.*$/, ''), reason: `job "${j.name}" not suggested: ${problem}` }); continue; }
    taken.add(j.name);
    jobs.push(j);
  }
  return { setup: setup ?? py.setup };
}
