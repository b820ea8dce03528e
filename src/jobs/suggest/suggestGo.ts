// A Go module's jobs (go.mod at the root): build, test and vet every package, keyed on every file but the
// docs (a package reads its testdata/ and embeds files of any kind with //go:embed: Go sources alone would leave
// a cached success in place when they change), with the Go toolchain's version in the key and Go's problem
// matcher. Only reads names.
import type { SuggestedJob } from './types';

/** The toolchain's version is part of each job's key: a Go upgrade builds again. */
export const GO_TOOLCHAIN = ['go version'];

/** `go build ./...`, `go test ./...` and `go vet ./...` when go.mod is at the root. */
export function goJobs(names: ReadonlySet<string>): SuggestedJob[] {
  if (!names.has('go.mod')) { return []; }
  const inputs = ['**', '!**/*.md', '!docs/**'];
  return (['build', 'test', 'vet'] as const).map((c) => ({
    name: `go.${c}`, run: `go ${c} ./...`, inputs, toolInputs: GO_TOOLCHAIN, problemMatcher: '$go', from: `go.mod (go ${c})`,
  }));
}
