// isomorphic-git, which writes the results repository (its layout, its objects), loaded on first use: a
// command that only reads results (a fully cached build, a status) never loads it (+54 ms for a new process;
// bench/store.bench.mjs part f). The bundles keep it in a file of their own, dist/isomorphic-git.js (see
// esbuild.mjs and isomorphicGitBundle.ts).

let loaded: typeof import('isomorphic-git') | undefined;

export function isomorphicGit(): typeof import('isomorphic-git') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
  return (loaded ??= require('isomorphic-git') as typeof import('isomorphic-git'));
}
