// The keys of a commit's jobs, kept beside the results repository, written only from the commit's own
// .datakit-ci.json. Read two ways:
// * to show saved results in a window that may not run git (an untrusted workspace): every key must be one
//   that its own recorded fields hash to; anything else is dropped, with a warning, so a file edited by hand
//   cannot make a result appear under a definition nobody committed;
// * as the commit's jobs, by a command that would otherwise parse the file and key every job again (a cached
//   build): only when sealed under this machine's secret (keysSeal.ts) for this tool, this platform and this
//   commit, and then only if the runtime inputs it records still have the values it records (commitJobs.ts).
import crypto = require('node:crypto');
import { promises as fs } from 'node:fs';
import fsSync = require('node:fs');
import path = require('node:path');
import { PLATFORM, type ConfigResult } from '../config/config';
import { digestOf, TOOL, type JobKey } from './key';
import type { KeysSeal } from './keysSeal';

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

/** Jobs read back from a sealed file: as computed, and the digest of the configuration's text they come from. */
export interface SealedJobs extends CachedJobs {
  readonly configDigest: string;
}

/** The seal is the file's last field: what it seals is the text before it, closed. */
const SEAL_FIELD = ',"seal":"';

/** The digest of a configuration's text, as a sealed file records it (whether the working tree's file is the same). */
export function configDigest(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/**
 * The jobs of `commit` as this tool computed them on this platform, when its file is sealed under `seal` and
 * its configuration was whole; undefined otherwise (no file, another tool's or platform's, a seal that does
 * not hold, a broken configuration): the commit is then keyed again, which rewrites the file.
 */
export function readSealedKeys(file: string, commit: string, seal: KeysSeal): SealedJobs | undefined {
  let text: string;
  try {
    text = fsSync.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const at = text.lastIndexOf(SEAL_FIELD);
  if (at < 0 || !text.endsWith('"}')) { return undefined; }
  const body = `${text.slice(0, at)}}`;
  if (!seal.holds(body, text.slice(at + SEAL_FIELD.length, -2))) { return undefined; }
  const d = JSON.parse(body) as Partial<SealedJobs> & { tool?: unknown; platform?: unknown };
  if (d.tool !== TOOL || d.platform !== PLATFORM || d.commit !== commit || typeof d.configDigest !== 'string'
    || typeof d.config !== 'object' || !d.config.ok || !Array.isArray(d.keys)) { return undefined; }
  return { commit, config: d.config, keys: d.keys, configDigest: d.configDigest };
}

/**
 * Writes the jobs computed from the commit, unless the file already says exactly that; a failure is harmless.
 * With `sealed` (a whole configuration, and its text), the file is sealed (see readSealedKeys).
 */
export async function writeKeysCache(file: string, jobs: CachedJobs, sealed?: { readonly seal: KeysSeal; readonly configText: string }): Promise<void> {
  const body = JSON.stringify({ tool: TOOL, platform: PLATFORM, ...jobs, ...(sealed ? { configDigest: configDigest(sealed.configText) } : {}) });
  const mac = sealed?.seal.seal(body);
  const text = mac === undefined ? body : `${body.slice(0, -1)}${SEAL_FIELD}${mac}"}`;
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
