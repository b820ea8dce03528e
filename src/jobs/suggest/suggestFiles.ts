// The files suggestions read by their path in the working tree (a package.json, pnpm-workspace.yaml, a
// makefile): a repository may put a link to /dev/zero, /dev/urandom or a FIFO there, which is skipped with what
// it is, never read.
import path = require('node:path');
import { readRegularTextSync, refusalReason } from '../../shared/regularFile';
import type { Skipped } from './suggestWorkspaces';

/** The largest package.json, pnpm-workspace.yaml or makefile read: real ones are a few kilobytes. */
export const MAX_SUGGEST_BYTES = 4 * 1024 * 1024;

/**
 * The text of `file` (relative to `repoDir`) when it is a regular file of at most MAX_SUGGEST_BYTES; else
 * undefined, with the reason in `skipped`.
 */
export function readSuggestFile(repoDir: string, file: string, skipped: Skipped[]): string | undefined {
  try {
    const text = readRegularTextSync(path.join(repoDir, file), { maxBytes: MAX_SUGGEST_BYTES, name: file });
    if (text === undefined) { skipped.push({ file, reason: 'is not there' }); }
    return text;
  } catch (e) {
    skipped.push({ file, reason: refusalReason(e) ?? `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    return undefined;
  }
}
