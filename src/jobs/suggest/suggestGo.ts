// A Go module's jobs (go.mod at the root): build, test and vet every package, keyed on the Go sources and the
// module files, with the Go toolchain's version in the key and Go's problem matcher. Only reads names.
import type { SuggestedJob } from './types';

/** The toolchain's version is part of each job's key: a Go upgrade builds again. */
export const GO_TOOLCHAIN = ['go version'];

/** `go build ./...`, `go test ./...` and `go vet ./...` when go.mod is at the root. */
export function goJobs(names: Set<string>): SuggestedJob[] {
  if (!names.has('go.mod')) { return []; }
  const inputs = ['**/*.go', 'go.mod', ...(names.has('go.sum') ? ['go.sum'] : [])];
  return (['build', 'test', 'vet'] as const).map((c) => ({
    name: `go.${c}`, run: `go ${c} ./...`, inputs, toolInputs: GO_TOOLCHAIN, problemMatcher: '$go', from: `go.mod (go ${c})`,
  }));
}
