// SIGINT, SIGTERM and SIGHUP while jobs run: the first cancels them (their process trees are killed and each
// build saves its `Cancelled` failure), and the command exits once they have; a second signal kills every
// job at once. Either way the wait is bounded, and no job outlives the command.
import { killAllNow } from '../jobs/run/process';
import type { Io } from './context';

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 };
/** After the first signal, how long the builds may take to stop and save before they are killed outright. */
const CANCEL_WAIT_MS = 15_000;
/** After the kill, how long saving may take before the process exits anyway. */
const KILL_WAIT_MS = 5_000;

export interface SignalStop {
  /** The exit code of the signal that stopped the command, if one did. */
  readonly exitCode: number | undefined;
  dispose(): void;
}

export function stopOnSignals(io: Io, cancel: () => void): SignalStop {
  let exitCode: number | undefined;
  const timers: NodeJS.Timeout[] = [];
  const killNow = (): void => {
    killAllNow();
    // The builds now end as cancelled and save; should saving hang, leave anyway.
    timers.push(setTimeout(() => process.exit(exitCode), KILL_WAIT_MS).unref());
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exitCode !== undefined) {
      io.err(`datakit-ci: ${signal} again: killing every job now\n`);
      killNow();
      return;
    }
    exitCode = EXIT_CODES[signal] ?? 1;
    io.err(`\ndatakit-ci: ${signal}: cancelling the running jobs and saving them as cancelled (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again kills them at once)\n`);
    cancel();
    timers.push(setTimeout(killNow, CANCEL_WAIT_MS).unref());
  };
  const signals = Object.keys(EXIT_CODES) as NodeJS.Signals[];
  for (const s of signals) { process.on(s, onSignal); }
  return {
    get exitCode() { return exitCode; },
    dispose() {
      for (const s of signals) { process.off(s, onSignal); }
      for (const t of timers) { clearTimeout(t); }
    },
  };
}
