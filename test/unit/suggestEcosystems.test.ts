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
  it('go.mod: build, test and vet of every package, keyed on every file but the docs (testdata and embedded files too), go version in the key, $go', async () => {
    const s = await suggestJobs(project({ 'go.mod': 'module example.com/m\n\ngo 1.21\n', 'go.sum': '', 'main.go': 'package main\nfunc main() {}\n', 'README.md': '# m\n' }));
    const inputs = ['**', '!**/*.md', '!docs/**'];
    assert.deepEqual(s.jobs, ['build', 'test', 'vet'].map((c) => ({ name: `go.${c}`, run: `go ${c} ./...`, inputs, toolInputs: ['go version'], problemMatcher: '$go', from: `go.mod (go ${c})` })));
    assert.equal(s.setup, undefined);
    assert.deepEqual(s.skipped, []);
    assert.deepEqual(readBack(s).map((j) => [j.name, j.run, j.inputs, j.toolInputs, j.problemMatcher]), s.jobs.map((j) => [j.name, j.run, j.inputs, j.toolInputs, j.problemMatcher]));
    assert.match(s.text, /\/\/ go\.mod \(go test\)\n {4}"go\.test": \{ "run": "go test \.\/\.\.\.", "inputs": \["\*\*", "!\*\*\/\*\.md", "!docs\/\*\*"\], "toolInputs": \["go version"\], "problemMatcher": "\$go" \}/);
  });

  it('the same inputs without go.sum (a module with no requirements); no go.mod, no Go jobs', async () => {
    const s = await suggestJobs(project({ 'go.mod': 'module m\n', 'a.go': 'package a\n' }));
    assert.deepEqual(s.jobs[0].inputs, ['**', '!**/*.md', '!docs/**']);
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

  it('a member path a shell or terminal could misread is left out, its control characters shown escaped', async () => {
    const s = await suggestJobs(project({ 'Cargo.toml': '[workspace]\nmembers = ["a b\\u001b[2J", "../up"]\n' }));
    assert.deepEqual(s.jobs[0].inputs, ['Cargo.toml']);
    assert.deepEqual(s.skipped.map((k) => k.reason), [
      'workspace member "a b\\u001b[2J" is not a plain folder path (globs other than a final /* are not read): not among the inputs',
      'workspace member "../up" is not a plain folder path (globs other than a final /* are not read): not among the inputs',
    ]);
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

  it('reads a value over many lines line by line: a multi-line string with brackets in an array, a comment holding a bracket, 50,000 items', () => {
    const t = readToml([
      '[project]', 'dependencies = [', '  """first', '  ] [ not the end', '  """, # ] nor this', ...Array.from({ length: 50_000 }, (_v, i) => `  "d${i}",`), ']', 'name = "after"',
    ].join('\n'));
    assert.deepEqual(t.unread, []);
    const deps = t.tables.get('project')!.get('dependencies') as string[];
    assert.equal(deps.length, 50_000);
    assert.deepEqual([deps[0], deps[49_999]], ['d0', 'd49999']);
    assert.equal(t.tables.get('project')!.get('name'), 'after');
  });

  it('says which lines it could not read rather than guessing', () => {
    const t = readToml('a = "open\n= 1\nb = [1,\n');
    assert.deepEqual(t.unread, [1, 2, 3]);
  });
});

describe('zero configuration beyond npm: Python', () => {
  const inputs = ['**', '!**/*.md', '!**/*.rst', '!doc/**', '!docs/**', '!documentation/**'];

  it('pyproject.toml with pytest in an extra, src layout and [tool.ruff]: pytest and ruff from .venv, a setup that installs the project with that extra', async () => {
    const s = await suggestJobs(project({
      'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\n\n[project]\nname = "p"\ndependencies = []\n\n[project.optional-dependencies]\ntest = [\n  "pytest>=7",\n  "ruff",\n]\n\n[tool.ruff]\nline-length = 100\n',
      'src/p/__init__.py': '', 'tests/test_p.py': '',
    }));
    assert.deepEqual(s.jobs, [
      { name: 'python.test', run: 'PYTHONPATH=src .venv/bin/python -m pytest', inputs, toolInputs: ['python3 --version'], from: "pytest in pyproject.toml's requirements (pytest)" },
      { name: 'python.ruff', run: 'PYTHONPATH=src .venv/bin/python -m ruff check .', inputs, toolInputs: ['python3 --version'], from: '[tool.ruff] in pyproject.toml (ruff)' },
    ]);
    assert.deepEqual(s.setup, { run: "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'", inputs: ['pyproject.toml'], toolInputs: ['python3 --version'], upgrade: 'a Python upgrade', from: 'pyproject.toml' });
    assert.match(s.text, /changes \(a Python upgrade\)/);
    assert.equal(readBack(s).length, 2);
  });

  it('pytest-cov is not pytest; [tool:pytest] in setup.cfg is, and pytest is installed beside the project when no requirement names it', async () => {
    const s = await suggestJobs(project({ 'setup.cfg': '[metadata]\nname = p\n[options.extras_require]\ntest = pytest-cov\n[tool:pytest]\naddopts = -q\n[flake8]\nmax-line-length = 100\n', 'setup.py': 'from setuptools import setup\nsetup()\n' }));
    assert.deepEqual(s.jobs.map((j) => [j.run, j.from]), [
      ['.venv/bin/python -m pytest', '[tool:pytest] in setup.cfg (pytest)'],
      ['.venv/bin/python -m flake8 --extend-exclude .venv,doc,docs,documentation', '[flake8] in setup.cfg (flake8)'],
    ]);
    assert.equal(s.setup?.run, 'python3 -m venv .venv && .venv/bin/pip install -e . pytest flake8');
    assert.deepEqual(s.setup?.inputs, ['setup.cfg', 'setup.py']);
  });

  it('uv.lock: uv sync keyed on it, extras too, a tool no requirement names through uv pip (uv\'s environment has no pip); poetry.lock: poetry install into .venv; mypy from [tool.mypy] and a poetry dev group', async () => {
    const uv = await suggestJobs(project({ 'pyproject.toml': '[project]\nname = "p"\n[dependency-groups]\ndev = ["pytest"]\n', 'uv.lock': '' }));
    assert.deepEqual(uv.setup && [uv.setup.run, uv.setup.inputs, uv.setup.from], ['uv sync --all-extras', ['uv.lock', 'pyproject.toml'], 'uv.lock']);
    const ruff = await suggestJobs(project({ 'pyproject.toml': '[project]\nname = "p"\n[dependency-groups]\ndev = ["pytest"]\n[tool.ruff]\n', 'uv.lock': '' }));
    assert.equal(ruff.setup?.run, 'uv sync --all-extras && uv pip install ruff');
    const poetry = await suggestJobs(project({ 'pyproject.toml': '[tool.poetry]\nname = "p"\n[tool.poetry.group.dev.dependencies]\npytest = "^8"\nmypy = "*"\n[tool.mypy]\nstrict = true\n', 'poetry.lock': '' }));
    assert.deepEqual(poetry.setup && [poetry.setup.run, poetry.setup.inputs], ['POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --all-extras', ['poetry.lock', 'pyproject.toml']]);
    assert.deepEqual(poetry.jobs.map((j) => j.name), ['python.test', 'python.mypy']);
  });

  it('no pytest declared: unittest over tests/ (from inside it when it is not a package); nothing to run: no job, with the reason', async () => {
    const s = await suggestJobs(project({ 'pyproject.toml': '[project]\nname = "p"\n', 'tests/test_a.py': '' }));
    assert.deepEqual(s.jobs.map((j) => [j.run, j.from]), [['.venv/bin/python -m unittest discover -s tests', 'the tests folder, no pytest declared (unittest)']]);
    assert.equal(s.setup?.run, 'python3 -m venv .venv');
    const none = await suggestJobs(project({ 'tox.ini': '[tox]\nenvlist = py3\n' }));
    assert.deepEqual([none.jobs, none.setup], [[], undefined]);
    assert.deepEqual(none.skipped, [{ file: 'tox.ini', reason: 'a Python project without pytest, a tests or test folder, or ruff, flake8 or mypy configured: no job suggested' }]);
  });

  it('beside an npm setup (one per configuration) each Python job makes its environment itself', async () => {
    const s = await suggestJobs(project({ 'package.json': JSON.stringify({ scripts: { test: 'node --test' } }), 'package-lock.json': '{}', 'pytest.ini': '[pytest]\n' }));
    assert.equal(s.setup?.run, 'npm ci');
    assert.deepEqual(s.jobs.map((j) => j.run), ['npm run test', 'python3 -m venv .venv && .venv/bin/pip install pytest && .venv/bin/python -m pytest']);
  });

  it('a pyproject.toml line it cannot read is said, not guessed at', async () => {
    const s = await suggestJobs(project({ 'pyproject.toml': '[project]\ndependencies = ["pytest\n', 'test/test_a.py': '' }));
    assert.deepEqual(s.skipped, [{ file: 'pyproject.toml', reason: 'line 2 could not be read: what they declare is not used' }]);
    assert.equal(s.jobs[0].run, '.venv/bin/python -m unittest discover -s test');
  });
});
