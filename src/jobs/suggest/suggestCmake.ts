// C and C++ jobs: a CMake project's build and tests (CMakeLists.txt at the root) and an autotools project's
// (a committed configure script), with the compiler's and cmake's versions in the key and gcc's problem
// matcher. A Makefile's test and check targets are suggestMake's. Only reads files.
import { readText } from './suggestRead';
import type { SuggestedJob } from './types';
import type { Skipped } from './suggestWorkspaces';

export const CMAKE_TOOLCHAIN = ['cmake --version', 'c++ --version'];
export const CC_TOOLCHAIN = ['cc --version'];
/**
 * A C or C++ build reads files from anywhere in the tree (headers, test data, templates): everything but
 * documentation.
 */
export const C_INPUTS = ['**', '!**/*.md', '!**/*.rst', '!doc/**', '!docs/**'];

/** Whether a CMakeLists.txt registers tests (enable_testing, add_test, or CTest's module). */
export function cmakeHasTests(text: string): boolean {
  // Blanks, not \s: \s takes line ends too, so that each line start scanned on to the end (a file of blank
  // lines took quadratic time: 80,000 of them, 11 s).
  return /^[ \t]*(enable_testing|add_test)[ \t]*\(|^[ \t]*include[ \t]*\([ \t]*CTest[ \t]*\)/im.test(text);
}

/** CMake's configure and build, and ctest when the project has tests. */
export function cmakeJobs(repoDir: string, names: Set<string>, skipped: Skipped[]): SuggestedJob[] {
  if (!names.has('CMakeLists.txt')) { return []; }
  const text = readText(repoDir, 'CMakeLists.txt', skipped);
  if (text === undefined) { return []; }
  const build = 'cmake -B build -S . && cmake --build build';
  const base = { inputs: C_INPUTS, toolInputs: CMAKE_TOOLCHAIN, problemMatcher: '$gcc' };
  const jobs: SuggestedJob[] = [{ name: 'cmake.build', run: build, ...base, from: 'CMakeLists.txt (configure and build in build/)' }];
  // Each job has its own checkout, so the test job builds too (incrementally, after its first build).
  if (cmakeHasTests(text)) { jobs.push({ name: 'cmake.test', run: `${build} && ctest --test-dir build --output-on-failure`, ...base, from: 'CMakeLists.txt (enable_testing/add_test: ctest)' }); }
  return jobs;
}

/** `./configure && make` and `make check` when a configure script is committed. */
export function autotoolsJobs(names: Set<string>): SuggestedJob[] {
  if (!names.has('configure')) { return []; }
  const base = { inputs: C_INPUTS, toolInputs: CC_TOOLCHAIN, problemMatcher: '$gcc' };
  return [
    { name: 'configure.build', run: './configure && make', ...base, from: 'configure (autotools: ./configure && make)' },
    { name: 'configure.check', run: './configure && make check', ...base, from: 'configure (autotools: make check)' },
  ];
}
