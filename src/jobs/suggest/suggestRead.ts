// How the ecosystem suggestions read a repository's files: one place, so that the way files are read (e.g.
// refusing what is not a regular file) can change for all of them at once. Only reads; nothing runs.
import fs = require('node:fs');
import path = require('node:path');
import { readSuggestFile } from './suggestFiles';
import type { Skipped } from './suggestWorkspaces';

/**
 * The repository's text file `rel` (`/`-separated), or undefined with the reason in `skipped` when it cannot be
 * read: only a regular file of at most 4 MiB is read (a link to a device or a FIFO is skipped, never read).
 */
export function readText(repoDir: string, rel: string, skipped: Skipped[]): string | undefined {
  return readSuggestFile(repoDir, rel, skipped)?.replace(/^\uFEFF/, '');
}

/** Whether `rel` is a folder of the repository (a symbolic link is not followed). */
export function isFolder(repoDir: string, rel: string): boolean {
  try { return fs.lstatSync(path.join(repoDir, rel)).isDirectory(); } catch { return false; }
}

/** Whether `rel` is a file (not a folder) of the repository. */
export function isFile(repoDir: string, rel: string): boolean {
  try { return !fs.lstatSync(path.join(repoDir, rel)).isDirectory(); } catch { return false; }
}

/** The names in the folder `rel`, sorted; none when it cannot be listed. */
export function folderNames(repoDir: string, rel: string): string[] {
  try { return fs.readdirSync(path.join(repoDir, rel)).sort(); } catch { return []; }
}
