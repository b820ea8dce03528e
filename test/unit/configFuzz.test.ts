// Fuzzing .datakit-ci.json: ≥ 500 mutated files from a fixed seed, each of which must give either jobs that
// hold every rule or errors with positions — never an exception, a stack trace, or a job that cannot run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { jobNameProblem, MAX_TIMEOUT_MS, parseConfig, pathProblem } from '../../src/jobs/config/config';
import { createScanner, SyntaxKind } from 'jsonc-parser';
import { MAX_ARG_BYTES, tooDeep } from '../../src/jobs/config/configChecks';
import { ENV, git, repo, runCli, tempRoot } from '../fixtures';

const CASES = 600;
const SEED = 0x5eed_da7a;

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASES = [
  '{\n  // jobs\n  "jobs": {\n    "build": { "run": "make", "inputs": ["src", "Makefile"], "outputs": ["dist/**"], "timeout": "10m" },\n    "test": { "run": "make test", "env": { "CI": "1" }, "clean": true },\n  },\n}\n',
  '{"$schema": "./s.json", "jobs": {"lint": {"run": "npx eslint ."}}}',
  '{"jobs": {"a": {"run": "true", "inputs": ["x/y/"], "env": {"K": "v"}}, "b": {"run": "false", "timeout": "1h30m"}}}',
];

const PIECES = ['{', '}', '[', ']', '"', ',', ':', '\\', '/', '//', '/*', '*/', '\n', '\r', '\0', '\u2028', '\t', ' ', 'é', '\ud83d', '..', '.lock',
  'null', 'true', '1e999', '-0', '"run"', '"inputs"', '"env"', '"jobs"', '"timeout"', '"clean"', '"outputs"', '"__proto__"', '"constructor"'];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function randomValue(r: Rand, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 5 : 8));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 1e6) - 5e5;
    case 3: return Array.from({ length: Math.floor(r() * 6) }, () => pick(r, PIECES)).join('');
    case 4: return pick(r, ['10m', '0s', '99999h', '1d', '', 'src', '../x', 'a\nb', 'x'.repeat(140_000), 'dist/**', 'C:/x', 'a\\b']);
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    case 6: return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [pick(r, ['run', 'inputs', 'env', 'x', 'A=B', '', 'a..b', 'B']), randomValue(r, depth + 1)]));
    default:
      // Deep nesting, past the limit or just under it: a marker, expanded after stringifying (see `deep`).
      return `@@deep${pick(r, [31, 33, 200, 10_000])}@@`;
  }
}

function deep(text: string): string {
  return text.replace(/"@@deep(\d+)@@"/g, (_, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
}

/** One mutation of a text: an edit of its characters, or a value replaced in its structure. */
function mutate(r: Rand, text: string): string {
  const at = Math.floor(r() * (text.length + 1));
  switch (Math.floor(r() * 6)) {
    case 0: return text.slice(0, at) + pick(r, PIECES) + text.slice(at);
    case 1: return text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 8));
    case 2: return text.slice(0, at) + text.slice(at, at + 10) + text.slice(at);
    case 3: return text.slice(0, at);
    default: {
      let value: { jobs?: Record<string, Record<string, unknown>> };
      try {
        value = JSON.parse(text) as typeof value;
      } catch {
        return text + pick(r, PIECES);
      }
      const jobs = value.jobs && typeof value.jobs === 'object' ? value.jobs : (value.jobs = {});
      const names = Object.keys(jobs);
      if (names.length === 0 || r() < 0.2) {
        jobs[pick(r, ['new', 'a..b', 'x.lock', 'end.', 'Up', '-x', 'ok-1', 'a'.repeat(70), '__proto__'])] = { run: 'true' };
      } else {
        const job = jobs[pick(r, names)];
        if (job && typeof job === 'object') {
          job[pick(r, ['run', 'inputs', 'outputs', 'env', 'timeout', 'clean', 'unknown'])] = randomValue(r);
        } else {
          jobs[pick(r, names)] = randomValue(r) as Record<string, unknown>;
        }
      }
      try {
        return deep(JSON.stringify(value, null, r() < 0.5 ? 2 : undefined));
      } catch {
        return text + pick(r, PIECES); // already nested too deep for JSON.stringify itself
      }
    }
  }
}

/** Everything a good result must hold: every job can run as written. */
function assertRunnable(jobs: readonly { name: string; run: string; inputs?: string[]; outputs: string[]; env: Record<string, string>; timeoutMs: number }[]): void {
  for (const j of jobs) {
    assert.equal(jobNameProblem(j.name), undefined, j.name);
    assert.ok(typeof j.run === 'string' && /\S/.test(j.run) && !j.run.includes('\0') && Buffer.byteLength(j.run) <= MAX_ARG_BYTES, 'run');
    for (const p of [...(j.inputs ?? []), ...j.outputs]) { assert.equal(pathProblem(p), undefined, p); }
    for (const [k, v] of Object.entries(j.env)) { assert.ok(k !== '' && !k.includes('=') && !k.includes('\0') && typeof v === 'string' && !v.includes('\0'), k); }
    assert.ok(j.timeoutMs > 0 && j.timeoutMs <= MAX_TIMEOUT_MS);
  }
}

function casesOf(count: number): string[] {
  const r = prng(SEED);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = pick(r, BASES);
    for (let m = 1 + Math.floor(r() * 3); m > 0; m--) { text = mutate(r, text); }
    out.push(text);
  }
  return out;
}

describe('fuzzed .datakit-ci.json files (fixed seed)', () => {
  const cases = casesOf(CASES);

  it(`gives jobs that can run, or errors with positions, for each of ${CASES} files; never an exception`, () => {
    let good = 0;
    for (const [i, text] of cases.entries()) {
      let result: ReturnType<typeof parseConfig>;
      try {
        result = parseConfig(text);
      } catch (e) {
        assert.fail(`case ${i} threw ${(e as Error).stack}\n${JSON.stringify(text.slice(0, 300))}`);
      }
      if (result.ok) {
        good++;
        assertRunnable(result.config.jobs);
        continue;
      }
      assert.ok(result.errors.length > 0, `case ${i}`);
      let last = -1;
      for (const e of result.errors) {
        assert.ok(Number.isInteger(e.line) && e.line >= 1 && Number.isInteger(e.column) && e.column >= 1, `case ${i}: ${JSON.stringify(e)}`);
        assert.ok(e.offset >= 0 && e.offset <= text.length && e.offset >= last, `case ${i}: offsets in order`);
        assert.ok(e.message.length > 0 && !/undefined|\[object|NaN/.test(e.message) && !/[\n\r\0]/.test(e.message), `case ${i}: ${e.message}`);
        last = e.offset;
      }
    }
    // The mutations reach both sides.
    assert.ok(good >= 30 && good <= CASES - 300, `${good} good files`);
  });

  const tmp = tempRoot('fuzz');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds a file nested too deep where jsonc-parser\'s own tokens say so, for each of the files and of nests of pieces', () => {
    // The depth check reads the text a character at a time; jsonc-parser's scanner is what the parse that follows reads.
    const byScanner = (text: string, max: number): number | undefined => {
      const scanner = createScanner(text, false);
      let depth = 0;
      for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
        if (token === SyntaxKind.OpenBraceToken || token === SyntaxKind.OpenBracketToken) {
          if (++depth > max) { return scanner.getTokenOffset(); }
        } else if (token === SyntaxKind.CloseBraceToken || token === SyntaxKind.CloseBracketToken) {
          depth = Math.max(0, depth - 1);
        }
      }
      return undefined;
    };
    const r = prng(SEED ^ 0xdee9);
    const texts: string[] = [];
    for (let i = 0; i < CASES; i++) {
      texts.push(mutate(r, pick(r, BASES)));
      let nest = '';
      for (let n = Math.floor(r() * 60); n > 0; n--) { nest += pick(r, [...PIECES, '{', '[', '{', '[', '"a\\"', '\\u{', '/*{*/', '//[\n']); }
      texts.push(nest);
    }
    let deep = 0;
    for (const text of texts) {
      for (const max of [1, 3, 32]) {
        const expected = byScanner(text, max);
        if (expected !== undefined) { deep++; }
        assert.equal(tooDeep(text, max), expected, `${JSON.stringify(text)} at depth ${max}`);
      }
    }
    assert.ok(deep > CASES / 2, `many of them are too deep for a small bound (${deep})`);
  });

  it('through the command line, a sample of them: exit 2 with positions for a broken file, never a stack trace', () => {
    const env = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };
    const dir = repo(path.join(tmp, 'repo'), { commit: false });
    for (const [i, text] of cases.entries()) {
      if (i % 30 !== 0) { continue; }
      fs.writeFileSync(path.join(dir, '.datakit-ci.json'), text);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-qm', `case ${i}`, '--allow-empty');
      const r = runCli(dir, ['status', '--json'], env);
      assert.doesNotMatch(r.err, /\n\s+at /, `case ${i}: a stack trace`);
      if (parseConfig(text).ok) {
        assert.equal(r.code, 0, `case ${i}: ${r.err}`);
        assert.ok(JSON.parse(r.out).jobs.every((j: { state: string }) => j.state === 'not built'));
      } else {
        assert.equal(r.code, 2, `case ${i}: ${r.err}`);
        assert.match(r.err, /^\.datakit-ci\.json:\d+:\d+: /m);
      }
    }
  });
});
