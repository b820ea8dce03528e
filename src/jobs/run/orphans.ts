// The runs a dead process left behind. A command line killed with kill -9 (a CI's timeout, the OOM killer)
// cannot kill its jobs, and Node offers no parent-death signal or subreaper to make them die with it. So
// each run is recorded while it runs, as a lock held by the process that runs it and naming the run's
// marker (see environment.ts), in `runs/` of the cache directory that every repository's build directories
// share. At the start of a build of anything in that cache directory, a record whose process is dead (or
// whose pid another process took since) is taken over: what carries its marker is killed, and it is said.
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { unlessMissing } from '../../shared/errors';
import { killedText, killRun } from './leftovers';
import { acquireLock, type LockHandle, type StaleHolder } from './lockFile';

/** What a run's record holds (the lock's data). */
interface RunRecord {
  readonly run: string;
  /** What it runs, for the message: `job <name>`, `the setup <key>`. */
  readonly what: string;
}

/** `<cache directory>/runs`, beside the build roots of every repository (see checkout.ts's buildRoot). */
export function runsDir(buildRoot: string): string {
  return path.join(path.dirname(buildRoot), 'runs');
}

/**
 * Runs `fn` (which starts the run's processes and settles once they are gone) with the run recorded in
 * `dir`; the record goes when `fn` settles.
 */
export async function withRunRecord<T>(dir: string, record: RunRecord, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(dir, { recursive: true });
  const held: LockHandle | undefined = await acquireLock(path.join(dir, `${record.run}.lock`), { wait: false, data: JSON.stringify(record) });
  try {
    return await fn();
  } finally {
    await held?.release();
  }
}

function parseRecord(data: string | undefined): RunRecord | undefined {
  try {
    const r = JSON.parse(data ?? '') as Partial<RunRecord>;
    return typeof r.run === 'string' && typeof r.what === 'string' ? { run: r.run, what: r.what } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Kills the processes of every recorded run whose process is gone, removes their records, and returns what
 * was killed, a sentence each. A record of another host, or of a live process (hung or not), is left alone.
 */
export async function killOrphanedRuns(dir: string): Promise<string[]> {
  const said: string[] = [];
  const names = (await unlessMissing(fs.readdir(dir)) ?? []).filter((n) => n.endsWith('.lock'));
  for (const name of names) {
    const onTakeOver = async (stale: StaleHolder): Promise<void> => {
      const record = parseRecord(stale.data);
      const killed = await killRun(record?.run);
      if (killed.length > 0) {
        said.push(`pid ${stale.pid}, which ran ${record!.what}, ended without stopping it (${stale.reason})${killedText(killed, 'it')}`);
      }
    };
    const lock = await acquireLock(path.join(dir, name), { wait: false, heartbeatStaleMs: Infinity, onTakeOver });
    // Ours now (taken over, or a record its run removed meanwhile): it goes.
    await lock?.release();
  }
  return said;
}
