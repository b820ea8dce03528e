// The room of what differs by operating system (see types.ts): the implementation of this machine, loaded
// on first use, alone — the others' code is never read.
import fs = require('node:fs');
import type { Platform } from './types';

export type { Platform, RunMarker, ShellCommand } from './types';

let current: Platform | undefined;

/**
 * This machine's: Windows; Linux through /proc (where it is mounted, as it almost always is); every other
 * POSIX system, and a Linux without /proc, through `ps`.
 */
export function platform(): Platform {
  /* eslint-disable @typescript-eslint/no-require-imports -- only the implementation of this machine is loaded */
  current ??= process.platform === 'win32' ? (require('./windows') as typeof import('./windows')).windows
    : process.platform === 'linux' && fs.existsSync('/proc/self/stat') ? (require('./linux') as typeof import('./linux')).linux
      : (require('./posix') as typeof import('./posix')).posix;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return current;
}
