// The per-OS cache directory, said once. The command line's start file (src/cli/loader.ts) imports this
// file alone to find its code cache, so it may use Node's built-in modules and nothing else.
import os = require('node:os');
import path = require('node:path');

/** Overrides where build directories (and the command line's code cache) go. */
export const CACHE_DIR_ENV = 'DATAKIT_CI_CACHE_DIR';

/**
 * The directory that holds every repository's build directories: `$XDG_CACHE_HOME/datakit-ci` or
 * `~/.cache/datakit-ci` (Linux and other POSIX systems), `~/Library/Caches/datakit-ci` (macOS),
 * `%LOCALAPPDATA%\datakit-ci` (Windows); `DATAKIT_CI_CACHE_DIR` before all of them.
 */
export function cacheBaseDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform,
  home: string = os.homedir()): string {
  if (env[CACHE_DIR_ENV]) { return path.resolve(env[CACHE_DIR_ENV]); }
  if (platform === 'win32') { return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'datakit-ci'); }
  if (platform === 'darwin') { return path.join(home, 'Library', 'Caches', 'datakit-ci'); }
  // XDG says a relative value is to be ignored.
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache'), 'datakit-ci');
}
