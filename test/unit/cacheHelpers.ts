// A builder that the test steps by hand, and a results repository in a temp dir.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BuildFailure, type Builder, type BuildJob, type EntryReader } from '../../src/engine/builder';
import { git, tempRoot } from '../fixtures';

export interface Step {
  resolve(value: string): void;
  reject(err: Error): void;
  started: Promise<BuildJob<string, unknown, string>>;
}

/** generate(key) waits until the test calls step(key).resolve(v) / .reject(e); saves value/out. */
export class SteppedBuilder implements Builder<string, string> {
  readonly name: string;
  generated: string[] = [];
  loads = 0;
  failLoad = false;
  private steps = new Map<string, { resolve(v: string): void; reject(e: Error): void; job?: BuildJob<string, unknown, string>; onStart: (j: BuildJob<string, unknown, string>) => void; started: Promise<BuildJob<string, unknown, string>>; done: Promise<string> }>();

  constructor(name = 'test') { this.name = name; }

  title(key: string): string { return `Build ${key}`; }
  branch(key: string): string { return key; }

  step(key: string): Step {
    let s = this.steps.get(key);
    if (!s) {
      let resolve!: (v: string) => void; let reject!: (e: Error) => void; let onStart!: (j: BuildJob<string, unknown, string>) => void;
      const done = new Promise<string>((res, rej) => { resolve = res; reject = rej; });
      const started = new Promise<BuildJob<string, unknown, string>>((r) => { onStart = r; });
      s = { resolve, reject, onStart, started, done };
      this.steps.set(key, s);
    }
    return { resolve: s.resolve, reject: s.reject, started: s.started };
  }

  async generate(job: BuildJob<string, unknown, string>): Promise<string> {
    this.generated.push(job.key);
    this.step(job.key);
    const s = this.steps.get(job.key)!;
    s.onStart(job);
    job.log.write(`building ${job.key}\n`);
    const aborted = new Promise<never>((_, rej) => job.signal.addEventListener('abort', () => rej(new BuildFailure('Cancelled')), { once: true }));
    let value: string;
    try {
      value = await Promise.race([s.done, aborted]);
    } finally {
      this.steps.delete(job.key); // the next build of this key gets a fresh step
    }
    await job.tx.writeFile('value/out', value);
    return value;
  }

  async load(entry: EntryReader): Promise<string> {
    this.loads++;
    if (this.failLoad) { throw new Error('cannot load'); }
    return Buffer.from(await entry.readFile('value/out')).toString('utf8');
  }
}

export function tempRepo(): { dir: string; results: string; cleanup(): void } {
  const dir = tempRoot('cache');
  git(dir, 'init', '-q');
  return {
    dir,
    results: path.join(dir, '.git', 'datakit-ci'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export function fsck(results: string): void {
  execFileSync('git', [`--git-dir=${results}`, 'fsck', '--strict', '--no-progress'], { stdio: 'pipe' });
}

/** Resolves when the cache's status for a key is final. */
export async function final<T extends { result: { kind: string; changed?: Promise<void> } }>(get: () => Promise<T>): Promise<T> {
  for (;;) {
    const s = await get();
    if (s.result.kind !== 'pending') { return s; }
    await s.result.changed;
  }
}
