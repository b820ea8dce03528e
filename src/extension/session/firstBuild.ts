// Asking before the first build of a repository the extension never built: opening a folder must not start
// `npm install`, a linter and a whole test suite without a word. Build now builds this once (the repository
// then has results, and later HEAD moves build as usual); Always builds without asking, from now on; Not now
// builds nothing automatically until a build was made by hand. The answer is remembered per repository.
import * as vscode from 'vscode';
import type { RepoJobs } from '../../jobs/repoJobs';
import type { SessionOptions } from './model';

type Answer = 'always' | 'notNow';

/** What an automatic build may do now: run, wait for the question's answer, or not run. */
export type FirstBuildDecision = 'now' | 'later' | 'no';

export class FirstBuild {
  private asking: Promise<boolean> | undefined;
  private readonly waiting: (() => unknown)[] = [];

  constructor(private readonly jobs: RepoJobs, private readonly options: SessionOptions) {}

  private get memoryKey(): string {
    return `datakitCi.firstBuild.${this.jobs.id}`;
  }

  /** Whether an automatic build may run now (`later`: a question was asked; `whenAnswered` runs it on a yes). */
  async allowed(repository: string, jobCount: number): Promise<FirstBuildDecision> {
    if (!this.options.settings().askBeforeFirstBuild || jobCount === 0) { return 'now'; }
    const answer = this.options.memory.get<Answer>(this.memoryKey);
    if (answer === 'always' || await this.jobs.hasResults()) { return 'now'; }
    if (answer === 'notNow') {
      this.options.log(`${repository} was never built and you said Not now: nothing is built automatically until a build is asked for (▶ or Build Now)`);
      return 'no';
    }
    this.asking ??= this.ask(repository, jobCount);
    return 'later';
  }

  /** Runs `build` once the question is answered with Build now or Always. */
  whenAnswered(build: () => unknown): void {
    if (!this.asking) { return; }
    this.waiting.push(build);
  }

  private async ask(repository: string, jobCount: number): Promise<boolean> {
    const pick = await vscode.window.showInformationMessage(
      `DataKit CI has never built ${repository}. Build its ${jobCount} job${jobCount === 1 ? '' : 's'} now? They run their commands (installs, linters, tests) on this machine.`,
      'Build now', 'Always', 'Not now');
    if (pick === 'Always') { await this.options.memory.update(this.memoryKey, 'always'); }
    if (pick === 'Not now') { await this.options.memory.update(this.memoryKey, 'notNow'); }
    const yes = pick === 'Build now' || pick === 'Always';
    this.options.log(`First build of ${repository}: ${pick ?? 'the question was closed'}${yes ? '' : ': nothing is built automatically'}`);
    const waiting = this.waiting.splice(0);
    this.asking = undefined;
    if (yes) { for (const build of waiting) { void build(); } }
    return yes;
  }
}
