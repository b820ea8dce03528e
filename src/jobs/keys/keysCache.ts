// The keys of a commit's jobs, kept beside the results repository so that a window that may not run git
// (an untrusted workspace) can still show saved results. It is a cache and never an authority: a build
// always reads the jobs from the commit's own .datakit-ci.json, and this file is only written from that.
// When read, every key must be one that its own recorded fields hash to; anything else is dropped, with a
// warning, so a file edited by hand cannot make a result appear under a definition nobody committed.
import { promises as fs } from 'node:fs';
import fsSync = require('node:fs');
import path = require('node:path');
import type { ConfigResult } from '../config/config';
import { digestOf, TOOL, type JobKey } from './key';

export interface CachedJobs {
  readonly commit: string;
  readonly config: ConfigResult | 'missing';
  readonly keys: readonly JobKey[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Why `data` is not a keys file for `commit` written by this version, or undefined if it is one. */
function problemOf(data: unknown, commit: string): string | undefined {
  const d = data as { tool?: unknown; commit?: unknown; config?: unknown; keys?: unknown };
  if (typeof d !== 'object' || d === null) { return 'it is not a JSON object'; }
  if (d.tool !== TOOL) { return `it was written by ${JSON.stringify(d.tool)}, not ${TOOL}`; }
  if (d.commit !== commit) { return 'it names another commit'; }
  if (d.config !== 'missing' && (typeof d.config !== 'object' || d.config === null || typeof (d.config as { ok?: unknown }).ok !== 'boolean')) {
    return 'its "config" has the wrong shape';
  }
  if (!Array.isArray(d.keys)) { return 'its "keys" is not a list'; }
  for (const k of d.keys as Partial<JobKey>[]) {
    if (typeof k !== 'object' || k === null || typeof k.digest !== 'string' || !HEX64.test(k.digest) || k.commit !== commit
      || typeof k.job !== 'object' || k.job === null || typeof k.job.name !== 'string' || typeof k.job.run !== 'string'
      || typeof k.inputs !== 'object' || k.inputs === null) {
      return 'a key has the wrong shape';
    }
    let recomputed: string;
    try {
      recomputed = digestOf(k.job, k.inputs, k.setup?.digest, k.needs ?? {}, k.runtime);
    } catch {
      return 'a key has the wrong shape';
    }
    if (recomputed !== k.digest) { return `the key of job ${JSON.stringify(k.job.name)} does not match what it records`; }
  }
  return undefined;
}

/** The cached jobs of `commit`, or undefined when there are none; a file that fails the checks is reported. */
export async function readKeysCache(file: string, commit: string, warn: (message: string) => void): Promise<CachedJobs | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    warn(`Ignored ${file}: it is not JSON`);
    return undefined;
  }
  const problem = problemOf(data, commit);
  if (problem) {
    warn(`Ignored ${file}: ${problem}`);
    return undefined;
  }
  const d = data as CachedJobs;
  return { commit, config: d.config, keys: d.keys };
}

/** Writes the jobs computed from the commit, unless the file already says exactly that; a failure is harmless. */
export async function writeKeysCache(file: string, jobs: CachedJobs): Promise<void> {
  const text = JSON.stringify({ tool: TOOL, ...jobs });
  try {
    // Synchronous: a small file, read on every run, and usually unchanged.
    if (fsSync.readFileSync(file, 'utf8') === text) { return; }
  } catch {
    // not written yet
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  } catch {
    await fs.rm(tmp, { force: true }); // only a cache: the keys are computed again next time
  }
}
