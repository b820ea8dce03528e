import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/jobs/config/config';
import { suggestJobs, type Suggestions } from '../../src/jobs/suggest/suggest';
import { readToml } from '../../src/jobs/suggest/toml';
import { repo, tempRoot } from '../fixtures';

const tmp = tempRoot('suggest-eco');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A real repository (git init, no commit) holding these files. */
const project = (files: Record<string, string>): string => repo(path.join(tmp, `r${n++}`), { files, commit: false });

/** The text's jobs as parseConfig reads them back, with the fields the suggestions set. */
function readBack(s: Suggestions): Record<string, unknown>[] {
  const r = parseConfig(s.text);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.config.jobs.map((j) => ({ name: j.name, run: j.run, inputs: j.inputs, toolInputs: j.toolInputs, problemMatcher: j.problemMatcher }));
}

describe('zero configuration beyond npm: Go', () => {
  it('go.mod: build, test and vet of every package, keyed on the Go sources, go.mod and go.sum, go version in the key, $go', async () => {
    const s = await suggestJobs(project({ 'go.mod': 'module example.com/m\n\ngo 1.21\n', 'go.sum': '', 'main.go': 'package main\nfunc main() {}\n', 'README.md': '# m\n' }));
    const inputs = ['**/*.go', 'go.mod', 'go.sum'];
    assert.deepEqual(s.jobs, ['build', 'test', 'vet'].map((c) => ({ name: `go.${c}`, run: `go ${c} ./...`, inputs, toolInputs: ['go version'], problemMatcher: '$go', from: `go.mod (go ${c})` })));
    assert.equal(s.setup, undefined);
    assert.deepEqual(s.skipped, []);
    assert.deepEqual(readBack(s).map((j) => [j.name, j.run, j.inputs, j.toolInputs, j.problemMatcher]), s.jobs.map((j) => [j.name, j.run, j.inputs, j.toolInputs, j.problemMatcher]));
    assert.match(s.text, /\/\/ go\.mod \(go test\)\n {4}"go\.test": \{ "run": "go test \.\/\.\.\.", "inputs": \["\*\*\/\*\.go", "go\.mod", "go\.sum"\], "toolInputs": \["go version"\], "problemMatcher": "\$go" \}/);
  });

  it('without go.sum (a module with no requirements) it is not an input; no go.mod, no Go jobs', async () => {
    const s = await suggestJobs(project({ 'go.mod': 'module m\n', 'a.go': 'package a\n' }));
    assert.deepEqual(s.jobs[0].inputs, ['**/*.go', 'go.mod']);
    assert.deepEqual((await suggestJobs(project({ 'a.go': 'package a\n' }))).jobs, []);
  });
});

describe('zero configuration beyond npm: Rust', () => {
  it('a package: build, test, clippy (saying it needs clippy), keyed on src, tests, build.rs, Cargo.toml and Cargo.lock, not docs', async () => {
    const s = await suggestJobs(project({
      'Cargo.toml': '[package]\nname = "p"\nversion = "0.1.0"\n', 'Cargo.lock': '', 'src/lib.rs': '', 'tests/t.rs': '', 'build.rs': 'fn main() {}\n', 'docs/x.md': '',
    }));
    const inputs = ['Cargo.toml', 'Cargo.lock', 'src', 'tests', 'build.rs'];
    assert.deepEqual(s.jobs.map((j) => [j.name, j.run, j.inputs, j.toolInputs]), ['build', 'test', 'clippy'].map((c) => [`cargo.${c}`, `cargo ${c}`, inputs, ['cargo --version', 'rustc --version']]));
    assert.match(s.text, /\/\/ Cargo\.toml \(cargo clippy: needs clippy installed, e\.g\. rustup component add clippy\)\n {4}"cargo\.clippy"/);
    assert.deepEqual(s.skipped, []);
    assert.equal(readBack(s).length, 3);
  });

  it('a workspace: its members (a path, and dir/* over folders with a Cargo.toml, less exclude) are inputs and cargo runs --workspace', async () => {
    const s = await suggestJobs(project({
      'Cargo.toml': '[workspace]\nmembers = [\n  "tool",  # the command\n  "crates/*",\n]\nexclude = ["crates/old"]\nresolver = "2"\n',
      'tool/Cargo.toml': '', 'tool/src/main.rs': '', 'crates/a/Cargo.toml': '', 'crates/a/src/lib.rs': '', 'crates/old/Cargo.toml': '', 'crates/notes/x.txt': '',
    }));
    assert.deepEqual(s.jobs.map((j) => [j.run, j.inputs]), ['build', 'test', 'clippy'].map((c) => [`cargo ${c} --workspace`, ['Cargo.toml', 'crates/a', 'tool']]));
    assert.deepEqual(s.skipped, []);
  });

  it('a member that is not a folder here is left out of the inputs with the reason', async () => {
    const s = await suggestJobs(project({ 'Cargo.toml': '[workspace]\nmembers = ["gone"]\n', 'x/Cargo.toml': '' }));
    assert.deepEqual(s.jobs[0].inputs, ['Cargo.toml']);
    assert.deepEqual(s.skipped, [{ file: 'Cargo.toml', reason: 'workspace member "gone" is not a folder here: not among the inputs' }]);
  });
});

describe('zero configuration beyond npm: C and C++', () => {
  it('CMake with tests: configure and build, and ctest; cmake\'s and c++\'s versions in the key, $gcc, everything but docs as inputs', async () => {
    const s = await suggestJobs(project({ 'CMakeLists.txt': 'cmake_minimum_required(VERSION 3.10)\nproject(p C)\nenable_testing()\nadd_executable(p main.c)\nadd_test(NAME p COMMAND p)\n', 'main.c': 'int main(void){return 0;}\n' }));
    const base = { inputs: ['**', '!**/*.md', '!**/*.rst', '!doc/**', '!docs/**'], toolInputs: ['cmake --version', 'c++ --version'], problemMatcher: '$gcc' };
    assert.deepEqual(s.jobs, [
      { name: 'cmake.build', run: 'cmake -B build -S . && cmake --build build', ...base, from: 'CMakeLists.txt (configure and build in build/)' },
      { name: 'cmake.test', run: 'cmake -B build -S . && cmake --build build && ctest --test-dir build --output-on-failure', ...base, from: 'CMakeLists.txt (enable_testing/add_test: ctest)' },
    ]);
    assert.equal(readBack(s).length, 2);
  });

  it('CMake without tests: the build only', async () => {
    const s = await suggestJobs(project({ 'CMakeLists.txt': 'project(p C)\n# enable_testing() later\nadd_executable(p main.c)\n' }));
    assert.deepEqual(s.jobs.map((j) => j.name), ['cmake.build']);
  });

  it('a committed configure: ./configure && make and make check, cc\'s version in the key; a Makefile\'s test target is still suggested', async () => {
    const s = await suggestJobs(project({ configure: '#!/bin/sh\n', Makefile: 'test:\n\ttrue\n' }));
    assert.deepEqual(s.jobs.map((j) => [j.name, j.run, j.toolInputs, j.problemMatcher]), [
      ['configure.build', './configure && make', ['cc --version'], '$gcc'],
      ['configure.check', './configure && make check', ['cc --version'], '$gcc'],
      ['test', 'make test', undefined, undefined],
    ]);
  });

  it('a package.json script named like an ecosystem job keeps its name; the other job is skipped with the reason', async () => {
    const s = await suggestJobs(project({ 'package.json': JSON.stringify({ scripts: { build: 'x' } }), 'go.mod': 'module m\n' }));
    assert.deepEqual(s.jobs.map((j) => j.name), ['build', 'go.build', 'go.test', 'go.vet']);
  });
});

describe('the TOML reader of the suggestions', () => {
  it('reads tables, dotted and quoted keys, strings with escapes, arrays over several lines with comments; other values raw', () => {
    const t = readToml([
      'name = "top" # comment', '[project]', 'dependencies = [', '  "pytest>=7", # test', "  'ruff',", '  { x = 1 },', ']',
      '"quoted key".sub = "a\\"b\\u00e9"', 'n = 3', 'doc = """', 'many [ lines', '"""', '[[tool.x]]', '[ tool . "pytest.ini_options" ]', 'addopts = "-q"',
    ].join('\n'));
    assert.deepEqual(t.unread, []);
    assert.equal(t.tables.get('')!.get('name'), 'top');
    assert.deepEqual(t.tables.get('project')!.get('dependencies'), ['pytest>=7', 'ruff']);
    assert.equal(t.tables.get('project')!.get('quoted key.sub'), 'a"bé');
    assert.deepEqual(t.tables.get('project')!.get('n'), { raw: '3' });
    assert.ok(t.tables.get('project')!.has('doc'));
    assert.ok(t.tables.has('tool.x'));
    assert.equal(t.tables.get('tool.pytest.ini_options')!.get('addopts'), '-q');
  });

  it('says which lines it could not read rather than guessing', () => {
    const t = readToml('a = "open\n= 1\nb = [1,\n');
    assert.deepEqual(t.unread, [1, 2, 3]);
  });
});
