import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import {
  DEFAULT_TIMEOUT, jobNameProblem, loadConfigSchema, normalizeJob, parseConfig, pathProblem, type ConfigError, type JobDefinition,
} from '../../src/jobs/config/config';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../src/jobs/config/duration';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CORPUS = path.join(ROOT, 'test/fixtures/configs');

/** Line and column of an offset, counted independently of the parser. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const lines = text.slice(0, offset).split(/\r\n|\r|\n/);
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function errorsOf(text: string): ConfigError[] {
  const result = parseConfig(text);
  assert.equal(result.ok, false, 'a broken file yields no config');
  return result.ok ? [] : result.errors;
}

describe('the corpus of .datakit-ci.json files', () => {
  const files = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.jsonc')).sort();

  it('has at least 15 broken files and some good ones, each with its expectation', () => {
    const expectations = files.map((f) => JSON.parse(fs.readFileSync(path.join(CORPUS, f.replace(/\.jsonc$/, '.expected.json')), 'utf8')));
    assert.ok(expectations.filter((e) => e.errors).length >= 15);
    assert.ok(expectations.filter((e) => e.jobs).length >= 2);
  });

  for (const file of files) {
    it(file, () => {
      const text = fs.readFileSync(path.join(CORPUS, file), 'utf8');
      const expected = JSON.parse(fs.readFileSync(path.join(CORPUS, file.replace(/\.jsonc$/, '.expected.json')), 'utf8'));
      const result = parseConfig(text);
      if (expected.errors) {
        assert.equal(result.ok, false);
        const errors = result.ok ? [] : result.errors;
        assert.deepEqual(errors.map(({ line, column, length, message }) => ({ line, column, length, message })), expected.errors);
        for (const e of errors) {
          assert.deepEqual(lineColumn(text, e.offset), { line: e.line, column: e.column });
        }
      } else {
        assert.equal(result.ok, true);
        assert.deepEqual(result.ok && result.config.jobs, expected.jobs);
      }
    });
  }
});

describe('parseConfig', () => {
  it('reads the example of the design, with comments and trailing commas, in file order', () => {
    const result = parseConfig(`{
      // the jobs
      "jobs": {
        "test":  { "run": "npm test", "env": { "CI": "1" } },
        "build": { "run": "npm ci && npm run build", "inputs": ["src", "package.json"], "outputs": ["dist/**"], "timeout": "10m" },
      },
    }`);
    assert.ok(result.ok);
    assert.deepEqual(result.config.jobs, [
      { name: 'test', run: 'npm test', outputs: [], env: { CI: '1' }, timeoutMs: 1_800_000, timeout: DEFAULT_TIMEOUT, clean: false, needs: [], setup: false },
      {
        name: 'build', run: 'npm ci && npm run build', inputs: ['src', 'package.json'], outputs: ['dist/**'], env: {},
        timeoutMs: 600_000, timeout: '10m', clean: false, needs: [], setup: false,
      },
    ]);
    assert.equal(result.config.setup, undefined);
    // Where each input is written, for messages about it.
    assert.deepEqual(result.config.positions.build.inputs.map((p) => [p.line, p.column]), [[5, 65], [5, 72]]);
  });

  it('reads a setup, needs and "setup": false, with globs and exclusions among the inputs', () => {
    const result = parseConfig(JSON.stringify({
      setup: { run: 'npm ci', inputs: ['package.json', 'package-lock.json', 'packages/*/package.json'] },
      jobs: {
        build: { run: 'npm run build', inputs: ['src/**/*.ts', '!src/**/*.test.ts'], outputs: ['dist', 'bin/tool'] },
        test: { run: 'npm test', needs: ['build', 'build'] },
        docs: { run: 'echo docs', setup: false },
      },
    }));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.config.setup, { run: 'npm ci', inputs: ['package.json', 'package-lock.json', 'packages/*/package.json'], env: {}, timeoutMs: 1_800_000, timeout: '30m' });
    assert.deepEqual(result.config.jobs.map((j) => [j.name, j.needs, j.setup]), [['build', [], true], ['test', ['build'], true], ['docs', [], false]]);
    assert.deepEqual(result.config.jobs[0].inputs, ['src/**/*.ts', '!src/**/*.test.ts']);
  });

  it('refuses a need that is unknown, the job itself, or part of a cycle, where it is written', () => {
    const text = '{"jobs": {"a": {"run": "x", "needs": ["b"]}, "b": {"run": "y", "needs": ["c", "nope"]}, "c": {"run": "z", "needs": ["a"]}, "d": {"run": "w", "needs": ["d"]}}}';
    assert.deepEqual(errorsOf(text).map((e) => [e.message, text.slice(e.offset, e.offset + e.length)]), [
      ['Job "b" needs "nope", which is not a job of this file', '"nope"'],
      ['Job "c" needs "a": a cycle (a → b → c → a)', '"a"'],
      ['Job "d" cannot need itself', '"d"'],
    ]);
  });

  it('checks the setup as a job: it needs "run", and its inputs, env and timeout follow the same rules', () => {
    const text = '{"setup": {"inputs": ["../x", "!"], "timeout": "0s"}, "jobs": {}}';
    assert.deepEqual(errorsOf(text).map((e) => [e.message, text.slice(e.offset, e.offset + e.length)]), [
      ['The setup needs "run"', '"setup"'],
      ['Input "../x" must not contain ".."', '"../x"'],
      ['Input "!" excludes nothing: write what to exclude after "!"', '"!"'],
      ['"timeout" must be longer than 0s', '"0s"'],
    ]);
  });

  it('points an unknown field at its key, and a missing "run" at the job\'s name', () => {
    const text = '{"jobs": {"build": {"rnu": "make"}}}';
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => [e.message, text.slice(e.offset, e.offset + e.length)]), [
      ['Job "build" needs "run"', '"build"'],
      ['Unknown field "rnu" in job "build"', '"rnu"'],
    ]);
  });

  it('points a duplicate job at its second name, and a bad path at the path', () => {
    const text = '{"jobs": {"a": {"run": "x", "inputs": ["../up"]}, "a": {"run": "y"}}}';
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => [e.message, e.offset, text.slice(e.offset, e.offset + e.length)]), [
      ['Input "../up" must not contain ".."', 39, '"../up"'],
      ['Duplicate job "a"', 50, '"a"'],
    ]);
  });

  it('reports an empty file at its start, with no length', () => {
    assert.deepEqual(errorsOf(''), [
      { message: 'The file is empty: it must be a JSON object with "jobs"', line: 1, column: 1, offset: 0, length: 0 },
    ]);
    assert.equal(errorsOf('  \n').length, 1);
  });

  it('refuses a file nested thousands of levels deep before parsing it, at the first level too many', () => {
    const text = `{"jobs": {"a": {"run": "x", "env": ${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`;
    // Three objects, then the 30th "[" is the 33rd level.
    const offset = text.indexOf('[') + 29;
    assert.deepEqual(errorsOf(text), [{ message: 'The file nests deeper than 32 levels', line: 1, column: offset + 1, offset, length: 1 }]);
  });

  it('refuses control characters in paths, NUL in "run" and "env", and commands the system cannot take', () => {
    const big = 'x'.repeat(128 * 1024);
    const text = JSON.stringify({ jobs: {
      a: { run: 'echo\u0000', inputs: ['src\nlib', 'ok'], outputs: ['dist\r'] },
      b: { run: big },
      c: { run: 'true', env: { 'A\u0000B': '1', C: 'x\u0000', D: big } },
      d: { run: 'y'.repeat(100_000), env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'v'.repeat(100_000)])) },
    } });
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((e) => e.message), [
      '"run" must not contain a NUL character',
      'Input "src\\u000alib" contains a control character (a newline, a tab, NUL…)',
      'Output "dist\\u000d" contains a control character (a newline, a tab, NUL…)',
      `"run" is ${128 * 1024} bytes; the system takes at most 131071 in one command (put a long script in a file)`,
      'Environment variable name "A\\u0000B" must not be empty, nor contain "=" or a NUL character',
      'Environment variable "C" must not contain a NUL character',
      `Environment variable "D" is ${128 * 1024 + 2} bytes; the system takes at most 131071 in one variable`,
      'Job "d": its "run" and "env" take 1100040 bytes, more than the 1048576 a command may have',
    ]);
    for (const e of errors) { assert.ok(e.line >= 1 && e.column >= 1 && e.offset >= 0 && e.offset < text.length, e.message); }
  });

  it('accepts an empty set of jobs and a "$schema"', () => {
    assert.deepEqual(parseConfig('{"$schema": "x.json", "jobs": {}}'), { ok: true, config: { jobs: [], positions: {} } });
  });
});

describe('normalizeJob', () => {
  const job: JobDefinition = {
    name: 'build', run: 'make', inputs: ['src/', 'docs', 'src', 'a/b'], outputs: ['dist/**', 'out/*.o'],
    env: { ZED: '1', ALPHA: '2' }, timeoutMs: 600_000, timeout: '10m', clean: true, needs: [], setup: false,
  };

  it('writes sorted keys, sorted unique inputs without a trailing "/", and the timeout in milliseconds', () => {
    assert.equal(normalizeJob(job),
      '{"clean":true,"env":{"ALPHA":"2","ZED":"1"},"inputs":["a/b","docs","src"],"name":"build","needs":[],' +
      `"outputs":["dist/**","out/*.o"],"platform":"${process.platform}-${process.arch}","run":"make","setup":false,"timeoutMs":600000}`);
  });

  it('keys the OS and architecture, unless the job is portable ("portable": true in the file)', () => {
    assert.equal(JSON.parse(normalizeJob({ ...job, portable: true })).platform, null);
    const parsed = parseConfig('{"jobs": {"lint": {"run": "x", "portable": true}, "test": {"run": "x"}}}');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.jobs.map((j) => JSON.parse(normalizeJob(j)).platform), [null, `${process.platform}-${process.arch}`]);
    assert.equal(parseConfig('{"jobs": {"lint": {"run": "x", "portable": "yes"}}}').ok, false, 'a boolean, checked by the schema');
  });

  it('does not depend on the order of keys, of env variables or of inputs, nor on how the timeout is written', () => {
    const shuffled: JobDefinition = {
      clean: true, timeout: '600s', timeoutMs: 600_000, env: { ALPHA: '2', ZED: '1' }, outputs: ['dist/**', 'out/*.o'],
      inputs: ['a/b', 'src', 'docs', 'src/'], run: 'make', name: 'build', setup: false, needs: [],
    };
    assert.equal(normalizeJob(shuffled), normalizeJob(job));
  });

  it('is the same for the same job written two ways in a file', () => {
    const a = parseConfig('{"jobs": {"t": {"run": "x", "env": {"A": "1", "B": "2"}, "inputs": ["b", "a/"]}}}');
    const b = parseConfig('{"jobs": {"t": {"inputs": ["a", "b", "a"], "env": {"B": "2", "A": "1"}, "timeout": "30m", "clean": false, "run": "x"}}}');
    assert.ok(a.ok && b.ok);
    assert.equal(normalizeJob(a.config.jobs[0]), normalizeJob(b.config.jobs[0]));
  });

  it('marks the whole tree as null inputs, distinct from any list, and keeps outputs in order', () => {
    const whole = { ...job, inputs: undefined };
    assert.equal(JSON.parse(normalizeJob(whole)).inputs, null);
    assert.notEqual(normalizeJob({ ...job, outputs: ['out/*.o', 'dist/**'] }), normalizeJob(job));
  });
});

describe('durations', () => {
  it('parses hours, minutes, seconds and milliseconds in that order', () => {
    const cases: [string, number | undefined][] = [
      ['90s', 90_000], ['10m', 600_000], ['2h', 7_200_000], ['1h30m', 5_400_000], ['1h0m5s', 3_605_000],
      ['500ms', 500], ['10ms', 10], ['1m30s250ms', 90_250], ['0s', 0],
      ['', undefined], ['10', undefined], ['1m1h', undefined], ['1.5h', undefined], [' 1m', undefined], ['1d', undefined],
      ['-1s', undefined], ['1H', undefined], ['99999999999999999999h', undefined],
    ];
    assert.deepEqual(cases.map(([s]) => [s, parseDuration(s)]), cases);
  });

  it('formats the shortest form that reads back; below a second in milliseconds; nothing as 0s', () => {
    const cases: [number, string][] = [
      [90_000, '1m30s'], [600_000, '10m'], [7_200_000, '2h'], [5_400_000, '1h30m'], [3_605_000, '1h5s'],
      [1_000, '1s'], [1_999, '1s'], [300, '300ms'], [0.5, '0s'], [0, '0s'], [-5, '0s'], [Number.NaN, '0s'],
    ];
    assert.deepEqual(cases.map(([ms]) => [ms, formatDuration(ms)]), cases);
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 86_399_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});

describe('the JSON schema', () => {
  const schema = loadConfigSchema() as {
    definitions: { path: { pattern: string }; job: { properties: { timeout: { pattern: string } } } };
    properties: { jobs: { propertyNames: { pattern: string } } };
  };

  it('is what the validator in src/jobs/config/configValidator.generated.ts was generated from (npm run gen:validator)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'generate-validator.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('compiles as draft-07 in strict mode, knowing only VS Code\'s extra keywords', () => {
    const ajv = new Ajv({ strict: true });
    ajv.addVocabulary(['markdownDescription', 'defaultSnippets', 'patternErrorMessage', 'enumDescriptions']);
    assert.ok(ajv.compile(schema));
    assert.equal((schema as { $schema?: string }).$schema, 'http://json-schema.org/draft-07/schema#');
  });

  it('has the same job name and duration patterns as the code', () => {
    // One rule: the schema's pattern (for the editor) accepts exactly the names the code accepts.
    const name = new RegExp(schema.properties.jobs.propertyNames.pattern, 'u');
    for (const n of ['build', 'a', 'a.b', 'a-b_c', '0', 'x'.repeat(64), 'x'.repeat(65), 'a..b', 'x.lock', 'x.lock.y', 'a.', 'A', '-a', '.a', 'a b', 'a/b', 'a@{b', '']) {
      assert.equal(name.test(n), jobNameProblem(n) === undefined, n);
    }
    const timeout = new RegExp(schema.definitions.job.properties.timeout.pattern, 'u');
    for (const s of ['90s', '1h30m', '1h2m3s4ms', '5ms', '', 'h', '1m1h', '10 m', '1.5s', '1s1s']) {
      assert.equal(timeout.test(s), DURATION_PATTERN.test(s), s);
    }
  });

  it('accepts exactly the paths that pathProblem accepts', () => {
    const pattern = new RegExp(schema.definitions.path.pattern, 'u');
    const samples = ['src', 'src/', 'a/b/c', 'dist/**', '**/*.js', '...', '.github', 'a..b', 'C:', 'C:/x', 'C:\\x', 'c:d',
      '', '/', '/a', 'a//b', 'a//', '..', '../a', 'a/..', 'a/../b', '.', './a', 'a/.', 'a\\b', ' ',
      '.git', '.git/', '.git/**', 'a/.git', 'a/.GIT/b', '.Git', '.gitignore', 'a.git', '.github/x', 'x/.git.d'];
    for (const p of samples) {
      assert.equal(pattern.test(p), pathProblem(p) === undefined, p);
    }
  });
});
