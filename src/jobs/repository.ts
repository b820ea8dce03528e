// Finding a repository and its HEAD by reading files only (no process): what `init` and the editor need
// before any repository is opened. Apart from RepoJobs (repoJobs.ts) so that what only finds a repository
// loads none of the rest.
import { locateRepository, readHead, type RepositoryDirs } from '../store/source/gitDirs';

export type { RepositoryDirs } from '../store/source/gitDirs';

/** The repository that holds a directory, or undefined. */
export function findRepository(dir: string): RepositoryDirs | undefined {
  return locateRepository(dir);
}

/** HEAD of a repository: its commit and branch, or undefined before the first commit. */
export function headOf(dirs: RepositoryDirs): { commit: string; branch?: string } | undefined {
  return readHead(dirs);
}
