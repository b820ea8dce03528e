import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { problemRoots } from '../../src/jobs/jobProblems';
import { normalizeJob, parseConfig, type ConfigError } from '../../src/jobs/config/config';
import { matchLogInWorker, matchWithWorkerFile } from '../../src/jobs/problems/matchInWorker';
import { matchLog, type Finding, type MatchOptions } from '../../src/jobs/problems/matchLog';
import { BUILTIN_NAMES, resolveMatcher, type MatcherSpec } from '../../src/jobs/problems/problemMatchers';
import { DataKitError } from '../../src/shared/errors';
import { tempRoot } from '../fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILD = '/home/u/.cache/datakit-ci/repo-1a2b/build/3f9c';
const WORKING = '/home/u/src/app';
const E = '\x1b';

/** Line and column of the first `needle`, counted independently of the parser. */
function at(text: string, needle: string): { line: number; column: number } {
  const lines = text.slice(0, text.indexOf(needle)).split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

const match = (text: string, spec: MatcherSpec | undefined, options: MatchOptions = {}): Finding[] =>
  matchLog(text, resolveMatcher(spec), { roots: [BUILD, WORKING], ...options }).findings;

describe('the built-in matchers', () => {
  it('knows the matchers VS Code and the extensions it ships define, and $gcc', () => {
    assert.deepEqual(BUILTIN_NAMES, ['$tsc', '$tsc-watch', '$gulp-tsc', '$eslint-compact', '$eslint-stylish', '$go', '$msCompile', '$lessCompile', '$lessc', '$jshint', '$jshint-stylish', '$gcc']);
  });

  it('$tsc: plain output, relative and absolute paths; a path outside the checkout and the working copy is dropped', () => {
    const log = [
      '> tsc -p .',
      'src/index.ts(4,7): error TS2322: Type \'string\' is not assignable to type \'number\'.',
      `${BUILD}/src/util.ts(12,1): warning TS6133: 'x' is declared but its value is never read.`,
      `${WORKING}/test/a.test.ts(1,20): error TS2307: Cannot find module './b' or its corresponding type declarations.`,
      '/usr/lib/node_modules/typescript/lib/lib.dom.d.ts(9,1): error TS2300: Duplicate identifier \'x\'.',
      '../outside.ts(1,1): error TS1005: \';\' expected.',
      'Found 4 errors.',
    ].join('\n');
    assert.deepEqual(match(log, '$tsc'), [
      { file: 'src/index.ts', line: 4, column: 7, severity: 'error', message: 'Type \'string\' is not assignable to type \'number\'.', code: '2322' },
      { file: 'src/util.ts', line: 12, column: 1, severity: 'warning', message: '\'x\' is declared but its value is never read.', code: '6133' },
      { file: 'test/a.test.ts', line: 1, column: 20, severity: 'error', message: 'Cannot find module \'./b\' or its corresponding type declarations.', code: '2307' },
    ]);
  });

  it('$tsc: the coloured --pretty output, escape sequences stripped', () => {
    const log = [
      `${E}[96msrc/index.ts${E}[0m:${E}[93m4${E}[0m:${E}[93m7${E}[0m - ${E}[91merror${E}[0m${E}[90m TS2322: ${E}[0mType 'string' is not assignable to type 'number'.`,
      '',
      `${E}[7m4${E}[0m const n: number = 'x';`,
      `${E}[7m ${E}[0m ${E}[91m      ~${E}[0m`,
      '',
      `${E}[96m${BUILD}/src/b.ts${E}[0m:${E}[93m2${E}[0m:${E}[93m1${E}[0m - ${E}[91merror${E}[0m${E}[90m TS1005: ${E}[0m';' expected.\r`,
      '',
      `Found 2 errors in 2 files.`,
    ].join('\n');
    assert.deepEqual(match(log, '$tsc'), [
      { file: 'src/index.ts', line: 4, column: 7, severity: 'error', message: 'Type \'string\' is not assignable to type \'number\'.', code: '2322' },
      { file: 'src/b.ts', line: 2, column: 1, severity: 'error', message: '\';\' expected.', code: '1005' },
    ]);
  });

  it('$eslint-stylish: a file line, then each problem of it (a looping pattern)', () => {
    const log = [
      '',
      `${BUILD}/src/a.js`,
      '  1:10  error    Missing semicolon             semi',
      '  2:1   warning  Unexpected console statement  no-console',
      '',
      `${E}[4m${BUILD}/src/lib/b.js${E}[24m`,
      `  ${E}[2m3:5${E}[22m  ${E}[31merror${E}[39m  'x' is not defined  ${E}[2mno-undef${E}[22m`,
      '',
      '✖ 3 problems (2 errors, 1 warning)',
      '  1 error and 0 warnings potentially fixable with the `--fix` option.',
    ].join('\n');
    assert.deepEqual(match(log, '$eslint-stylish'), [
      { file: 'src/a.js', line: 1, column: 10, severity: 'error', message: 'Missing semicolon', code: 'semi' },
      { file: 'src/a.js', line: 2, column: 1, severity: 'warning', message: 'Unexpected console statement', code: 'no-console' },
      { file: 'src/lib/b.js', line: 3, column: 5, severity: 'error', message: '\'x\' is not defined', code: 'no-undef' },
    ]);
  });

  it('$eslint-compact', () => {
    const log = [
      `${BUILD}/src/a.js: line 1, col 10, Error - Missing semicolon. (semi)`,
      `${BUILD}/src/a.js: line 2, col 1, Warning - Unexpected console statement. (no-console)`,
      '',
      '2 problems',
    ].join('\n');
    assert.deepEqual(match(log, '$eslint-compact'), [
      { file: 'src/a.js', line: 1, column: 10, severity: 'error', message: 'Missing semicolon.', code: 'semi' },
      { file: 'src/a.js', line: 2, column: 1, severity: 'warning', message: 'Unexpected console statement.', code: 'no-console' },
    ]);
  });

  it('$gcc: errors and warnings (a fatal error is an error), not the notes nor the context lines', () => {
    const log = [
      `${BUILD}/src/main.c: In function ‘main’:`,
      `${BUILD}/src/main.c:5:3: error: ‘x’ undeclared (first use in this function)`,
      '    5 |   x = 1;',
      '      |   ^',
      `${BUILD}/src/main.c:5:3: note: each undeclared identifier is reported only once for each function it appears in`,
      'src/util.c:9:12: warning: unused variable ‘y’ [-Wunused-variable]',
      'src/util.h:2:10: fatal error: missing.h: No such file or directory',
      'compilation terminated.',
    ].join('\n');
    assert.deepEqual(match(log, '$gcc'), [
      { file: 'src/main.c', line: 5, column: 3, severity: 'error', message: '‘x’ undeclared (first use in this function)' },
      { file: 'src/util.c', line: 9, column: 12, severity: 'warning', message: 'unused variable ‘y’ [-Wunused-variable]' },
      { file: 'src/util.h', line: 2, column: 10, severity: 'error', message: 'missing.h: No such file or directory' },
    ]);
  });

  it('$go: build errors and test failures, the column optional, errors by default', () => {
    const log = [
      '# example.com/app',
      './main.go:12:2: undefined: foo',
      './util/x.go:3:8: "os" imported and not used',
      '--- FAIL: TestAdd (0.00s)',
      '    main_test.go:8: expected 1, got 2',
      'FAIL',
    ].join('\n');
    assert.deepEqual(match(log, '$go'), [
      { file: 'main.go', line: 12, column: 2, severity: 'error', message: 'undefined: foo' },
      { file: 'util/x.go', line: 3, column: 8, severity: 'error', message: '"os" imported and not used' },
      { file: 'main_test.go', line: 8, column: 1, severity: 'error', message: 'expected 1, got 2' },
    ]);
  });

  it('$msCompile: Windows paths under a root, a location with an end', () => {
    const log = [
      '  1>C:\\src\\app\\Program.cs(12,17): error CS0103: The name \'x\' does not exist in the current context [C:\\src\\app\\app.csproj]',
      'c:\\src\\app\\Lib\\A.cs(3,1,3,9): warning CS0168: The variable \'e\' is declared but never used',
    ].join('\r\n');
    assert.deepEqual(match(log, '$msCompile', { roots: ['C:\\src\\app\\'] }), [
      { file: 'Program.cs', line: 12, column: 17, severity: 'error', message: 'The name \'x\' does not exist in the current context [C:\\src\\app\\app.csproj]', code: 'CS0103' },
      { file: 'Lib/A.cs', line: 3, column: 1, endLine: 3, endColumn: 9, severity: 'warning', message: 'The variable \'e\' is declared but never used', code: 'CS0168' },
    ]);
  });

  it('a list of matchers: each line goes to the first that matches', () => {
    const log = 'src/a.ts(1,2): error TS1005: \';\' expected.\n./main.go:3:4: undefined: x\n';
    assert.deepEqual(match(log, ['$tsc', '$go']).map((f) => [f.file, f.line, f.column]), [['src/a.ts', 1, 2], ['main.go', 3, 4]]);
    assert.deepEqual(match(log, []), []);
  });
});

describe('a declared matcher', () => {
  it('reads several lines, its last pattern looping, with the matcher\'s severity and a folder prefix', () => {
    const spec: MatcherSpec = {
      owner: 'lint', severity: 'warning', fileLocation: ['relative', '${workspaceFolder}/docs'],
      pattern: [
        { regexp: '^FILE (.+)$', file: 1 },
        { regexp: '^\\s+L(\\d+) C(\\d+): (?:(E|W) )?(.*)$', line: 1, column: 2, severity: 3, message: 4, loop: true },
      ],
    };
    const log = ['FILE guide.md', '  L3 C4: line too long', '  L9 C1: E broken link', 'done', '  L5 C5: not after a FILE line', 'FILE ../README.md', '  L1 C1: no title'].join('\n');
    assert.deepEqual(match(log, spec), [
      { file: 'docs/guide.md', line: 3, column: 4, severity: 'warning', message: 'line too long' },
      { file: 'docs/guide.md', line: 9, column: 1, severity: 'error', message: 'broken link' },
      { file: 'README.md', line: 1, column: 1, severity: 'warning', message: 'no title' },
    ]);
  });

  it('defaults a lone pattern\'s groups as VS Code does (file 1, line 2, column 3, message the whole match), and a file-wide kind', () => {
    assert.deepEqual(match('a/b.txt:7:2 bad\n', { pattern: { regexp: '^(\\S+):(\\d+):(\\d+) \\w+$' } }), [
      { file: 'a/b.txt', line: 7, column: 2, severity: 'error', message: 'a/b.txt:7:2 bad' },
    ]);
    assert.deepEqual(match('missing licence header: src/x.ts\n', { pattern: { regexp: '^(.*): (\\S+)$', kind: 'file', file: 2, message: 1 } }), [
      { file: 'src/x.ts', line: 1, column: 1, severity: 'error', message: 'missing licence header' },
    ]);
  });

  it('is refused by resolveMatcher when it is not valid', () => {
    assert.throws(() => resolveMatcher('$mocha'), (e: unknown) => DataKitError.is(e, 'InvalidProblemMatcher') && e.message.startsWith('Unknown problem matcher "$mocha": the known ones are $tsc, '));
    assert.throws(() => resolveMatcher({ pattern: { regexp: '(' } }), (e: unknown) => DataKitError.is(e, 'InvalidProblemMatcher'));
    assert.throws(() => resolveMatcher({ pattern: [{ regexp: 'a', file: 1 }] }), /must capture at least a "file" and a "message"/);
  });
});

describe('where a log says its command ran', () => {
  it('takes the build\'s `In <folder>` line as a root: a result built on another machine maps its absolute paths', () => {
    const log = [
      '[2026-01-02 03:04:05] In /home/runner/.cache/datakit-ci/app-1a2b/work/9f8e',
      '[2026-01-02 03:04:05] Running: npx eslint .',
      '/home/runner/.cache/datakit-ci/app-1a2b/work/9f8e/lib/x.js',
      '  15:9  error  \'y\' is assigned a value but never used  no-unused-vars',
    ].join('\n');
    assert.deepEqual(matchLog(log, resolveMatcher('$eslint-stylish'), { roots: [WORKING] }).findings, [
      { file: 'lib/x.js', line: 15, column: 9, severity: 'error', message: '\'y\' is assigned a value but never used', code: 'no-unused-vars' },
    ]);
    // Without that line, a folder of another machine is no root: dropped.
    assert.deepEqual(matchLog(log.split('\n').slice(1).join('\n'), resolveMatcher('$eslint-stylish'), { roots: [WORKING] }).findings, []);
  });
});

describe('the roots of a log\'s paths', () => {
  const tmp = tempRoot('roots');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('are the working copy and each checkout, also by their real paths when a symbolic link is on the way (a tool prints the real one)', async () => {
    const real = path.join(tmp, 'real');
    fs.mkdirSync(path.join(real, 'work', '85a0'), { recursive: true });
    fs.mkdirSync(path.join(real, 'work', '85a0.lock'));
    fs.mkdirSync(path.join(tmp, 'copy'));
    fs.symlinkSync(real, path.join(tmp, 'linked'));
    fs.symlinkSync(path.join(tmp, 'copy'), path.join(tmp, 'linked-copy'));
    const roots = await problemRoots(path.join(tmp, 'linked'), path.join(tmp, 'linked-copy'));
    assert.deepEqual(roots, [path.join(tmp, 'linked-copy'), path.join(tmp, 'copy'), path.join(tmp, 'linked', 'work', '85a0'), path.join(real, 'work', '85a0')]);
    assert.deepEqual(await problemRoots(real, undefined), [path.join(real, 'work', '85a0')]);
    // ESLint's real output, printed in the checkout's real folder, read with the job's roots.
    const tools = path.join(ROOT, 'test', 'fixtures', 'tools');
    const captured = JSON.parse(fs.readFileSync(path.join(tools, 'manifest.json'), 'utf8')).projects.eslint.dir as string;
    const log = fs.readFileSync(path.join(tools, 'eslint-stylish.log'), 'utf8').replaceAll(captured, path.join(real, 'work', '85a0'));
    const files = new Set(['src/app/main.js', 'src/lib/math.js']);
    assert.deepEqual(matchLog(log, resolveMatcher(undefined), { roots, files }).findings.map((f) => `${f.file}:${f.line}`), ['src/app/main.js:3', 'src/app/main.js:4', 'src/lib/math.js:3', 'src/lib/math.js:4']);
  });
});

describe('the default matcher (a job that declares none)', () => {
  const files = new Set(['src/a.c', 'src/a.cs', 'src/main.rs']);
  const log = [
    'src/a.c:3:5: error: expected \';\' before \'}\' token',
    'src/a.cs(12,5): warning CS0168: The variable \'e\' is declared but never used',
    'foo:12 hello',
    'lib/gone.c:1:1: error: not a file of the commit',
    '12:30:45 Starting the build',
    `${BUILD}/src/a.c:8: note: declared here`,
    'src/a.c:9 something odd',
    '   --> src/main.rs:4:9',
    'see http://example.com:8080/src/a.c:3',
    '/etc/src/a.c:1:1: error: outside the repository',
  ].join('\n');

  it('keeps a finding whose end is before its start, without that end (a range VS Code could not draw)', () => {
    assert.deepEqual(match('src/a.cs(3,1,0,0): error CS1: backwards\nsrc/a.cs(4,2,5,7): error CS2: forwards', undefined, { files }), [
      { file: 'src/a.cs', line: 3, column: 1, severity: 'error', message: 'backwards', code: 'CS1' },
      { file: 'src/a.cs', line: 4, column: 2, endLine: 5, endColumn: 7, severity: 'error', message: 'forwards', code: 'CS2' },
    ]);
  });

  it('finds path:line[:column] and path(line,column) lines about files of the commit only (rustc\'s --> only after its header)', () => {
    assert.deepEqual(match(log, undefined, { files }), [
      { file: 'src/a.c', line: 3, column: 5, severity: 'error', message: 'expected \';\' before \'}\' token' },
      { file: 'src/a.cs', line: 12, column: 5, severity: 'warning', message: 'The variable \'e\' is declared but never used', code: 'CS0168' },
      { file: 'src/a.c', line: 8, column: 1, severity: 'info', message: 'declared here' },
      { file: 'src/a.c', line: 9, column: 1, severity: 'warning', message: 'something odd' },
    ]);
  });

  it('finds nothing without the commit\'s files', () => {
    assert.deepEqual(matchLog(log, resolveMatcher(undefined), { roots: [BUILD] }), { findings: [], total: 0 });
  });

  it('takes the word that opens the message for the severity, else the job\'s result: an error when it failed', () => {
    const lines = 'src/a.c:2 compile error here\nsrc/a.c:3: fatal error: no such file\nsrc/a.c:4: note: here\n';
    assert.deepEqual(match(lines, undefined, { files }).map((f) => f.severity), ['warning', 'error', 'info']);
    assert.deepEqual(match(lines, undefined, { files, failed: true }).map((f) => f.severity), ['error', 'error', 'info']);
  });
});

describe('the cap', () => {
  it('keeps the first 1000 findings and counts them all; max changes it', () => {
    const log = Array.from({ length: 1500 }, (_, i) => `src/f${i % 7}.ts(${i + 1},1): error TS2304: Cannot find name 'x${i}'.`).join('\n');
    const all = matchLog(log, resolveMatcher('$tsc'));
    assert.equal(all.total, 1500);
    assert.equal(all.findings.length, 1000);
    assert.deepEqual(all.findings[999], { file: 'src/f5.ts', line: 1000, column: 1, severity: 'error', message: 'Cannot find name \'x999\'.', code: '2304' });
    const few = matchLog(log, resolveMatcher('$tsc'), { max: 2 });
    assert.deepEqual({ total: few.total, lines: few.findings.map((f) => f.line) }, { total: 1500, lines: [1, 2] });
  });
});

describe('problemMatcher in .datakit-ci.json', () => {
  const errorsOf = (text: string): Pick<ConfigError, 'line' | 'column' | 'length' | 'message'>[] => {
    const result = parseConfig(text);
    assert.equal(result.ok, false);
    return result.ok ? [] : result.errors.map(({ line, column, length, message }) => ({ line, column, length, message }));
  };

  it('is read as written', () => {
    const spec = { owner: 'x', pattern: [{ regexp: '^(.*)$', file: 1 }, { regexp: '^ (\\d+) (.*)$', line: 1, message: 2, loop: true }] };
    const result = parseConfig(JSON.stringify({ jobs: { a: { run: 'make', problemMatcher: '$gcc' }, b: { run: 'lint', problemMatcher: spec }, c: { run: 'x' } } }));
    assert.ok(result.ok);
    assert.deepEqual(result.config.jobs.map((j) => j.problemMatcher), ['$gcc', spec, undefined]);
  });

  it('an unknown name is an error at the value, listing the known names', () => {
    const text = '{\n  "jobs": {\n    "test": { "run": "npm test", "problemMatcher": "$mocha" }\n  }\n}\n';
    assert.deepEqual(errorsOf(text), [
      { ...at(text, '"$mocha"'), length: 8, message: `Job "test": Unknown problem matcher "$mocha": the known ones are ${BUILTIN_NAMES.join(', ')}` },
    ]);
  });

  it('a regexp that is not a JavaScript regular expression is an error at the regexp', () => {
    const text = '{\n  "jobs": {\n    "lint": {\n      "run": "lint",\n      "problemMatcher": {\n        "pattern": [{ "regexp": "^(.*)$", "file": 1 },\n                    { "regexp": "^\\\\s+(\\\\d+:(.*)$", "line": 1, "message": 2 }]\n      }\n    }\n  }\n}\n';
    assert.deepEqual(errorsOf(text), [
      { ...at(text, '"^\\\\s+('), length: 18, message: 'Job "lint": "regexp" is not a valid regular expression: Invalid regular expression: /^\\s+(\\d+:(.*)$/: Unterminated group' },
    ]);
  });

  it('other mistakes are said where they are, instead of the schema\'s errors', () => {
    const text = '{"jobs": {"a": {"run": "x", "problemMatcher": [5, {"pattern": {"regexp": "x", "line": -1}, "colour": 1}]}}}';
    assert.deepEqual(errorsOf(text), [
      { ...at(text, '5,'), length: 1, message: 'Job "a": "problemMatcher" must be the name of a matcher such as "$tsc", a matcher object, or an array of them' },
      { ...at(text, '-1'), length: 2, message: 'Job "a": "line" must be the number of a group (0 for the whole match)' },
      { ...at(text, '1}]'), length: 1, message: 'Job "a": Unknown field "colour" in the problem matcher' },
    ]);
  });

  it('does not change the key: two definitions differing only by their matcher normalise alike', () => {
    const jobs = ['"$tsc"', '{ "pattern": { "regexp": "^(.*):(\\\\d+): (.*)$", "file": 1, "line": 2, "message": 3 } }', '[]', undefined].map((m) => {
      const result = parseConfig(`{"jobs": {"build": {"run": "tsc -p .", "inputs": ["src"]${m === undefined ? '' : `, "problemMatcher": ${m}`}}}}`);
      assert.ok(result.ok);
      return result.config.jobs[0];
    });
    assert.notDeepEqual(jobs[0], jobs[3]);
    assert.deepEqual(new Set(jobs.map(normalizeJob)).size, 1);
  });
});

describe('matching in a worker thread', () => {
  const log = [
    `${E}[96msrc/index.ts${E}[0m:${E}[93m4${E}[0m:${E}[93m7${E}[0m - ${E}[91merror${E}[0m${E}[90m TS2322: ${E}[0mType 'string' is not assignable to type 'number'.`,
    ...Array.from({ length: 1200 }, (_, i) => `${BUILD}/src/f${i % 3}.ts(${i + 1},2): error TS2304: Cannot find name 'é${i}'.`),
  ].join('\n');
  const options = { roots: [BUILD], files: new Set(['src/index.ts']), max: 1100 };

  it('gives what matching on this thread gives, from out/ and from the dist/ bundle', async () => {
    const here = matchLog(log, resolveMatcher('$tsc'), options);
    assert.equal(here.total, 1201);
    assert.deepEqual(await matchLogInWorker(log, '$tsc', options), here);
    assert.deepEqual(await matchWithWorkerFile(path.join(ROOT, 'dist', 'matchWorker.js'), log, '$tsc', options), here);
    const defaults = matchLog(log, resolveMatcher(undefined), options);
    assert.equal(defaults.total, 1);
    assert.deepEqual(await matchLogInWorker(log, undefined, options), defaults);
  });

  it('rejects a bad matcher before starting a worker, and says a worker that fails', async () => {
    await assert.rejects(matchLogInWorker(log, '$nope'), (e: unknown) => DataKitError.is(e, 'InvalidProblemMatcher'));
    await assert.rejects(matchWithWorkerFile(path.join(ROOT, 'dist', 'no-such-worker.js'), log, '$tsc', {}), (e: unknown) => DataKitError.is(e, 'MatchFailed'));
  });

  it('stops on abort', async () => {
    const before = new AbortController();
    before.abort();
    await assert.rejects(matchLogInWorker(log, '$tsc', {}, before.signal), (e: unknown) => DataKitError.is(e, 'Cancelled'));
    const during = new AbortController();
    const big = `${'x'.repeat(200)}\n`.repeat(100_000);
    const running = matchLogInWorker(big, '$tsc', {}, during.signal);
    setImmediate(() => during.abort());
    await assert.rejects(running, (e: unknown) => DataKitError.is(e, 'Cancelled'));
    // The aborted call's worker is gone; the next call gets another.
    assert.deepEqual(await matchLogInWorker(log, '$tsc', options), matchLog(log, resolveMatcher('$tsc'), options));
  });
});
