// The built-in builder: runs a job of .datakit-ci.json in an isolated build directory holding exactly the
// commit's files, and saves its declared outputs under value/.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Builder, BuildJob, EntryReader } from '../engine/builder';
import type { SourceRepo } from '../store/sourceRepo';
import { prepareBuildDir } from './checkout';
import { entryName, keyJson, type JobKey } from './key';
import { jobEnvironment, RUN_VARIABLE } from './environment';
import { checkOutputCap, DEFAULT_OUTPUT_CAP, findOutputs } from './outputs';
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
}

export class ShellBuilder implements Builder<JobKey, ShellValue> {
  readonly name = 'shell';

  constructor(private readonly options: ShellBuilderOptions) {}

  title(key: JobKey): string {
    return `${key.job.name} @ ${key.commit.slice(0, 7)}`;
  }

  branch(key: JobKey): string {
    return entryName(key);
  }

  async generate({ key, log, tx, signal }: BuildJob<JobKey, unknown>): Promise<ShellValue> {
    await tx.writeFile('key.json', keyJson(key));
    const { job, commit } = key;
    // Marks every process of this run, so that those that leave the job's process group are found too.
    const run = randomUUID();
    const dir = await log.withPendingReason('Preparing the build directory', async () =>
      prepareBuildDir({
        repo: await this.options.repo(), commit, job: job.name, clean: job.clean, root: this.options.buildRoot, run,
        onTakeOver: (message) => log.log(message),
      }));
    try {
      log.log(`Running: ${job.run}`);
      await log.withPendingReason('Running', () => runJobProcess({
        command: job.run,
        cwd: dir.dir,
        env: jobEnvironment(process.env, job.env, { job: job.name, commit, key: key.digest, run, ceiling: path.dirname(dir.dir) }),
        run: { name: RUN_VARIABLE, value: run },
        signal,
        timeoutMs: job.timeoutMs,
        timeoutLabel: job.timeout,
        onOutput: (text) => log.write(text),
        flow: log.flow,
      }));
      const files = await findOutputs(dir.dir, job.outputs);
      checkOutputCap(files, this.options.outputCap ?? DEFAULT_OUTPUT_CAP);
      for (const f of files) {
        await tx.writeFile(`value/${f.path}`, await fs.readFile(path.join(dir.dir, f.path)), f.mode);
      }
      if (files.length > 0) { log.log(`Saved ${files.length} output file${files.length === 1 ? '' : 's'}`); }
      return { outputs: files.map((f) => f.path) };
    } finally {
      await dir.release();
    }
  }

  async load(entry: EntryReader): Promise<ShellValue> {
    const paths = await entry.paths();
    if (!paths.includes('key.json')) { throw new Error('the entry has no key.json'); }
    return { outputs: paths.filter((p) => p.startsWith('value/')).map((p) => p.slice('value/'.length)) };
  }
}
