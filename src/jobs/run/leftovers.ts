// What a dead run left running: a lock taken over from a holder that died (kill -9 of the command line, a
// crash) names the marker of the run it held the lock for (see environment.ts), and every process that
// carries that marker is killed before what the lock guards is used again.
import { platform } from '../platform';
import { RUN_VARIABLE } from './environment';
import type { StaleHolder } from './lockFile';

/** Between SIGTERM and SIGKILL for a dead run's processes. */
const GRACE_MS = 2000;

/** Kills the processes of the run `marker` (none when undefined); returns their pids. */
export async function killRun(marker: string | undefined): Promise<number[]> {
  if (!marker) { return []; }
  const run = { name: RUN_VARIABLE, value: marker };
  const left = await platform().processesWithVariable(run.name, run.value);
  if (left.length > 0) { await platform().killTree(undefined, GRACE_MS, run); }
  return left;
}

/** `, killed 2 processes it left running (…)` or nothing. */
export function killedText(pids: readonly number[], whose = 'it'): string {
  return pids.length ? `; killed ${pids.length} process${pids.length === 1 ? '' : 'es'} ${whose} left running (${pids.join(', ')})` : '';
}

/**
 * The takeover of a lock from a dead holder (`what` names what it guards): kills what the holder's run left
 * running (its marker is the lock's data), then says so.
 */
export async function killLeftovers(what: string, stale: StaleHolder, tell?: (message: string) => void): Promise<void> {
  const left = await killRun(stale.data);
  const who = stale.pid !== undefined ? `pid ${stale.pid}` : 'a crashed build';
  tell?.(`Took over ${what} from ${who} (${stale.reason})${killedText(left)}`);
}
