// The default matcher (a job without a `problemMatcher`) over the real output of the tools people run, as
// test/fixtures/tools/capture.mjs captured it: for each log, the exact problems. What a tool reports is taken
// from the manifest's deliberate mistakes (file and line; a tool may point at another column of the line) and
// from what the tool really says about them (the README: not every tool reports every mistake).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { matchLog, type Finding } from '../../src/jobs/problems/matchLog';
import { resolveMatcher } from '../../src/jobs/problems/problemMatchers';

const TOOLS = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'tools');

interface Mistake { file: string; line: number; column: number; severity: string; what: string }
interface Project { dir: string; files: { path: string; content: string }[]; mistakes: Mistake[] }
interface Capture { file: string; tool: string; exitCode: number; project: string }
interface Manifest { projects: Record<string, Project>; captures: Capture[] }

const manifest = JSON.parse(fs.readFileSync(path.join(TOOLS, 'manifest.json'), 'utf8')) as Manifest;

/** What the default matcher finds in a captured log, read as the job that printed it (in its project, with its exit code). */
function findingsOf(capture: Capture): Finding[] {
  const project = manifest.projects[capture.project];
  const text = fs.readFileSync(path.join(TOOLS, capture.file), 'utf8');
  const options = { roots: [project.dir], files: new Set(project.files.map((f) => f.path)), failed: capture.exitCode !== 0 };
  return matchLog(text, resolveMatcher(undefined), options).findings;
}

const f = (file: string, line: number, column: number, severity: Finding['severity'], message: string, code?: string): Finding =>
  ({ file, line, column, severity, message, ...(code === undefined ? {} : { code }) });

const ESLINT_STYLISH = [
  f('src/app/main.js', 3, 5, 'warning', '\'scores\' is never reassigned. Use \'const\' instead', 'prefer-const'),
  f('src/app/main.js', 4, 30, 'error', '\'totl\' is not defined', 'no-undef'),
  f('src/lib/math.js', 3, 9, 'error', '\'unused\' is assigned a value but never used', 'no-unused-vars'),
  f('src/lib/math.js', 4, 21, 'warning', 'Expected \'===\' and instead saw \'==\'', 'eqeqeq'),
];
// The compact formatter ends its messages with a full stop.
const ESLINT_COMPACT = ESLINT_STYLISH.map((x) => ({ ...x, message: `${x.message}.` }));
// tsc prints the first line of a message on the problem's line, its details indented under it.
const TSC = [
  f('src/app/main.ts', 4, 19, 'error', 'Argument of type \'{ name: string; age: string; }\' is not assignable to parameter of type \'User\'.', 'TS2345'),
  f('src/lib/user.ts', 7, 25, 'error', 'Property \'nme\' does not exist on type \'User\'. Did you mean \'name\'?', 'TS2551'),
];
// The first frame inside the repository: the assertion's call (`.equal`, column 10), and `new RangeError` in src.
const NODE_TAP = [
  f('test/math.test.js', 6, 10, 'error', 'AssertionError: Expected values to be strictly equal:\n4 !== 5'),
  f('src/lib/math.js', 7, 11, 'error', 'RangeError: division by zero'),
];
// The spec reporter says each failure twice (again under "failing tests"): once each here.
const NODE_SPEC = [
  f('test/math.test.js', 6, 10, 'error', 'AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n4 !== 5'),
  f('src/lib/math.js', 7, 11, 'error', 'RangeError [Error]: division by zero'),
];
const JEST = [
  f('test/math.test.js', 4, 21, 'error', 'expect(received).toBe(expected) // Object.is equality\nExpected: 5\nReceived: 4'),
  f('src/lib/math.js', 7, 11, 'error', 'RangeError: division by zero'),
];
// vitest points at the test file's line even for the error thrown in src/ (its only frame).
const VITEST = [
  f('test/math.test.js', 5, 21, 'error', 'AssertionError: expected 4 to be 5 // Object.is equality\n- Expected\n+ Received\n- 5\n+ 4'),
  f('test/math.test.js', 9, 16, 'error', 'RangeError: division by zero'),
];
const MOCHA = [
  f('test/math.test.js', 6, 12, 'error', 'AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n4 !== 5\n+ expected - actual\n-4\n+5'),
  f('src/lib/math.js', 7, 11, 'error', 'RangeError: division by zero'),
];
// pytest names no column; its message is the `E` lines under the exception's name.
const PYTEST = [
  f('tests/unit/test_ops.py', 5, 1, 'error', 'AssertionError: assert 4 == 5\n+  where 4 = add(2, 2)'),
  f('src/calc/ops.py', 6, 1, 'error', 'ZeroDivisionError: division by zero'),
];
const GCC_UTIL = [
  f('src/lib/util.c', 9, 27, 'error', '‘hihg’ undeclared (first use in this function); did you mean ‘high’?'),
  f('src/lib/util.c', 9, 27, 'info', 'each undeclared identifier is reported only once for each function it appears in'),
  f('src/lib/util.c', 5, 9, 'warning', 'unused variable ‘unused’ [-Wunused-variable]'),
  // Not one of the mistakes: gcc says the missing return that follows from the error.
  f('src/lib/util.c', 10, 1, 'warning', 'control reaches end of non-void function [-Wreturn-type]'),
];
const GCC = [f('src/main.c', 4, 14, 'warning', 'unused parameter ‘argc’ [-Wunused-parameter]'), ...GCC_UTIL];
// clang stops warning about the unused variable after the error in the same function.
const CLANG = [
  f('src/main.c', 4, 14, 'warning', 'unused parameter \'argc\' [-Wunused-parameter]'),
  f('src/lib/util.c', 9, 27, 'error', 'use of undeclared identifier \'hihg\'; did you mean \'high\'?'),
  f('src/lib/util.c', 3, 35, 'info', '\'high\' declared here'),
];
// Go says no severity: the job failed, so they are errors. A panic's frames have no column.
const GO_TEST = [
  f('internal/calc/calc_test.go', 7, 1, 'error', 'Add(2, 2) = 4, want 5'),
  f('internal/calc/calc.go', 8, 1, 'error', 'runtime error: integer divide by zero'),
];
const CARGO_BUILD = [
  f('src/geometry/area.rs', 2, 21, 'error', 'mismatched types', 'E0308'),
  f('src/geometry/area.rs', 3, 5, 'error', 'mismatched types', 'E0308'),
];
const CLIPPY = [
  f('src/geometry/area.rs', 2, 5, 'error', 'approximate value of `f{32, 64}::consts::PI` found'),
  f('src/geometry/area.rs', 6, 5, 'warning', 'unneeded `return` statement'),
  f('src/geometry/area.rs', 5, 24, 'warning', 'writing `&Vec` instead of `&[_]` involves a new object where a slice will do'),
];
const CARGO_TEST = [f('src/text/mod.rs', 20, 9, 'error', 'assertion `left == right` failed\nleft: 1\nright: 0')];

/**
 * Each log's problems, and which of its project's mistakes (by index in the manifest) the tool reports: each of
 * those is among the problems at its file and line, or at the place given when the tool reports it elsewhere.
 */
const EXPECTED: Record<string, { findings: Finding[]; reports: (number | [number, string, number])[] }> = {
  'eslint-stylish.log': { findings: ESLINT_STYLISH, reports: [0, 1, 2, 3] },
  'eslint-stylish-color.log': { findings: ESLINT_STYLISH, reports: [0, 1, 2, 3] },
  // ESLint 9's own error: it has no compact formatter.
  'eslint-compact.log': { findings: [], reports: [] },
  'eslint-compact-package.log': { findings: ESLINT_COMPACT, reports: [0, 1, 2, 3] },
  'tsc-default.log': { findings: TSC, reports: [0, 1] },
  'tsc-pretty.log': { findings: TSC, reports: [0, 1] },
  'node-test-default.log': { findings: NODE_TAP, reports: [0, 1] },
  'node-test-spec.log': { findings: NODE_SPEC, reports: [0, 1] },
  'node-test-spec-color.log': { findings: NODE_SPEC, reports: [0, 1] },
  'jest-default.log': { findings: JEST, reports: [0, 1] },
  'jest-color.log': { findings: JEST, reports: [0, 1] },
  'jest-no-color.log': { findings: JEST, reports: [0, 1] },
  'vitest-default.log': { findings: VITEST, reports: [0, [1, 'test/math.test.js', 9]] },
  'vitest-color.log': { findings: VITEST, reports: [0, [1, 'test/math.test.js', 9]] },
  'vitest-no-color.log': { findings: VITEST, reports: [0, [1, 'test/math.test.js', 9]] },
  'mocha-default.log': { findings: MOCHA, reports: [0, 1] },
  'mocha-color.log': { findings: MOCHA, reports: [0, 1] },
  'pytest-default.log': { findings: PYTEST, reports: [0, 1] },
  'pytest-color.log': { findings: PYTEST, reports: [0, 1] },
  'pytest-debian.log': { findings: PYTEST, reports: [0, 1] },
  // The last frame inside the repository: where the exception was raised.
  'python-traceback.log': { findings: [f('src/lib/config.py', 4, 1, 'error', 'ValueError: port out of range: 70000')], reports: [0] },
  'gcc-default.log': { findings: GCC, reports: [0, 1, 2] },
  'gcc-color.log': { findings: GCC, reports: [0, 1, 2] },
  'clang-default.log': { findings: CLANG, reports: [0, 2] },
  'clang-color.log': { findings: CLANG, reports: [0, 2] },
  'make-default.log': { findings: GCC, reports: [0, 1, 2] },
  // Only src/lib is built, and cc's paths there are relative to the directory make entered.
  'make-recursive.log': { findings: GCC_UTIL, reports: [1, 2] },
  'go-build.log': {
    findings: [
      f('internal/lib/double.go', 3, 8, 'error', 'imported and not used: "strconv"'),
      f('internal/lib/double.go', 6, 9, 'error', 'cannot use n * 2 (value of type int) as type string in return statement'),
    ],
    reports: [0, 1],
  },
  'go-vet.log': { findings: [f('internal/report/report.go', 6, 9, 'error', 'fmt.Sprintf format %s has arg count of wrong type int')], reports: [0] },
  'go-test.log': { findings: GO_TEST, reports: [0, 1] },
  'go-test-v.log': { findings: GO_TEST, reports: [0, 1] },
  'cargo-build.log': { findings: CARGO_BUILD, reports: [0, 1] },
  'cargo-build-color.log': { findings: CARGO_BUILD, reports: [0, 1] },
  'cargo-clippy.log': { findings: CLIPPY, reports: [0, 1, 2] },
  'cargo-clippy-color.log': { findings: CLIPPY, reports: [0, 1, 2] },
  // cargo test stops after the first test target that fails: tests/api.rs, which panics in src, does not run.
  'cargo-test.log': { findings: CARGO_TEST, reports: [0] },
  'cargo-test-color.log': { findings: CARGO_TEST, reports: [0] },
  'cargo-test-backtrace.log': { findings: CARGO_TEST, reports: [0] },
  'cargo-test-no-fail-fast.log': { findings: [...CARGO_TEST, f('src/text/mod.rs', 6, 7, 'error', 'end byte index 10 is out of bounds of `abc`')], reports: [0, 1] },
};

describe('the default matcher over the captured tools\' output', () => {
  it('has an expectation for every captured log, and the manifest lists them all', () => {
    const logs = fs.readdirSync(TOOLS).filter((n) => n.endsWith('.log')).sort();
    assert.deepEqual(manifest.captures.map((c) => c.file).sort(), logs);
    assert.deepEqual(Object.keys(EXPECTED).sort(), logs);
  });

  for (const capture of manifest.captures) {
    const expected = EXPECTED[capture.file];
    it(`${capture.file}: ${expected.findings.length} problems, each mistake ${capture.tool} reports at its file and line`, () => {
      const found = findingsOf(capture);
      assert.deepEqual(found, expected.findings);
      const mistakes = manifest.projects[capture.project].mistakes;
      for (const r of expected.reports) {
        const [file, line] = typeof r === 'number' ? [mistakes[r].file, mistakes[r].line] : [r[1], r[2]];
        assert.ok(found.some((x) => x.file === file && x.line === line), `${capture.file}: mistake ${JSON.stringify(typeof r === 'number' ? mistakes[r].what : r)} at ${file}:${line}`);
      }
    });
  }
});

describe('the default matcher\'s rules', () => {
  const capture = (file: string): Capture => manifest.captures.find((c) => c.file === file)!;
  const read = (file: string, options: { roots?: string[]; files?: Set<string>; failed?: boolean; text?: (t: string) => string } = {}): { findings: Finding[]; total: number } => {
    const c = capture(file);
    const project = manifest.projects[c.project];
    const text = fs.readFileSync(path.join(TOOLS, file), 'utf8');
    return matchLog(options.text ? options.text(text) : text, resolveMatcher(undefined), {
      roots: options.roots ?? [project.dir], files: options.files ?? new Set(project.files.map((p) => p.path)), failed: options.failed ?? c.exitCode !== 0,
    });
  };
  const severities = (r: { findings: Finding[] }): string[] => r.findings.map((x) => `${x.file}:${x.line} ${x.severity}`);

  it('a passing job\'s path:line lines are warnings and a failing job\'s are errors; a line\'s own word wins either way', () => {
    assert.deepEqual(severities(read('go-vet.log', { failed: false })), ['internal/report/report.go:6 warning']);
    assert.deepEqual(severities(read('go-vet.log', { failed: true })), ['internal/report/report.go:6 error']);
    assert.deepEqual(severities(read('go-test.log', { failed: false })), ['internal/calc/calc_test.go:7 warning', 'internal/calc/calc.go:8 warning']);
    const words = ['src/main.c:4 warning', 'src/lib/util.c:9 error', 'src/lib/util.c:9 info', 'src/lib/util.c:5 warning', 'src/lib/util.c:10 warning'];
    assert.deepEqual(severities(read('gcc-default.log', { failed: false })), words);
    assert.deepEqual(severities(read('gcc-default.log', { failed: true })), words);
  });

  it('counts a problem said again in the same log once (the whole log twice gives the same problems)', () => {
    for (const file of ['node-test-spec.log', 'vitest-default.log', 'cargo-clippy.log', 'pytest-default.log', 'eslint-stylish.log']) {
      const once = read(file);
      assert.deepEqual(read(file, { text: (t) => `${t}\n${t}` }), once, file);
    }
  });

  it('maps file:// URLs and the paths of a result built on another machine by the build\'s `In <folder>` line', () => {
    const dir = manifest.projects['node-test'].dir;
    assert.deepEqual(read('node-test-spec.log', { roots: [] }).findings, []);
    assert.deepEqual(read('node-test-spec.log', { roots: [], text: (t) => `[2026-12-07 02:14:00] In ${dir}\n${t}` }).findings, NODE_SPEC);
    assert.deepEqual(read('node-test-default.log', { roots: [], text: (t) => `[2026-12-07 02:14:00] In ${dir}\n${t}` }).findings, NODE_TAP);
  });

  it('reads a base name alone (go test) as the one file of the commit with that name, and as none when two have it', () => {
    const files = new Set(manifest.projects['go-test'].files.map((p) => p.path));
    assert.deepEqual(read('go-test.log', { files }).findings.map((x) => x.file), ['internal/calc/calc_test.go', 'internal/calc/calc.go']);
    files.add('internal/other/calc_test.go');
    assert.deepEqual(read('go-test.log', { files }).findings.map((x) => x.file), ['internal/calc/calc.go']);
  });

  it('finds nothing about files that are not the commit\'s, nor without the commit\'s files', () => {
    assert.deepEqual(read('gcc-default.log', { files: new Set(['src/main.c']) }).findings.map((x) => x.file), ['src/main.c']);
    assert.deepEqual(matchLog(fs.readFileSync(path.join(TOOLS, 'gcc-default.log'), 'utf8'), resolveMatcher(undefined), { roots: [manifest.projects.c.dir] }), { findings: [], total: 0 });
  });

  it('neutralises control characters of a message: a tab is a blank, any other one a replacement character', () => {
    const r = read('go-vet.log', { text: (t) => t.replace('fmt.Sprintf format', 'fmt.Sprintf\tformat\x07\x08') });
    assert.equal(r.findings[0].message, 'fmt.Sprintf format\ufffd\ufffd %s has arg count of wrong type int');
  });

  it('a line of the build between two of the tool\'s ends what the first began (an ESLint file line, a panic)', () => {
    const between = (t: string, after: string): string => t.replace(after, `${after}\n[2026-12-07 02:14:00] Running: next`);
    assert.deepEqual(read('eslint-stylish.log', { text: (t) => between(t, 'src/lib/math.js') }).findings.map((x) => x.file), ['src/app/main.js', 'src/app/main.js']);
    assert.deepEqual(read('go-test.log', { text: (t) => between(t, 'goroutine 19 [running]:') }).findings.map((x) => x.file), ['internal/calc/calc_test.go']);
  });
});
