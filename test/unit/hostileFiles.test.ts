// A hostile repository's files that are not files: links to /dev/zero and /dev/urandom, FIFOs, a package.json
// nested 100,000 levels deep, folder names holding escape sequences. `init`, `status` and `build` must end
// promptly with a clear warning naming the file, and print what the repository named without letting the
// terminal act on it. Each command line runs in a child with a time limit, so that a regression hangs nothing:
// it fails, bounded.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { jsonTooDeep, parseJsonBounded } from '../../src/shared/json';
import { readRegularFile, readRegularFileSync } from '../../src/shared/regularFile';
import { CLI, ENV, git, repo, tempRoot } from '../fixtures';

const tmp = tempRoot('hostile');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

/** Far beyond what these commands take, even on a loaded machine; a read of /dev/zero would outlast it. */
const LIMIT_MS = 60_000;

/** The command line in `cwd`, killed (and the test failed) if it outlasts LIMIT_MS. */
function cli(cwd: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: CLI_ENV, encoding: 'utf8', timeout: LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  assert.equal(r.signal, null, `datakit-ci ${args.join(' ')} was killed after ${LIMIT_MS} ms (it did not end by itself): ${r.stderr?.slice(0, 500)}`);
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let n = 0;
const project = (files: Record<string, string>, commit = false): string => repo(path.join(tmp, `r${n++}`), { files, commit: commit ? 'one' : false });
const MAKEFILE = 'test:\n\ttrue\n';

describe('a file that is not a regular file is never read', () => {
  it('readRegularFile refuses a FIFO without a writer at once, and a link to /dev/zero, naming what each is', async () => {
    const dir = path.join(tmp, `f${n++}`);
    fs.mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero'));
    fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(2049));
    assert.throws(() => readRegularFileSync(path.join(dir, 'fifo'), { maxBytes: 1024, name: 'fifo' }),
      { code: 'NotRegularFile', message: 'fifo is a named pipe (FIFO), not a regular file: it was not read' });
    await assert.rejects(readRegularFile(path.join(dir, 'zero'), { maxBytes: 1024, name: 'zero' }),
      { code: 'NotRegularFile', message: 'zero is a symbolic link to a character device, not a regular file: it was not read' });
    await assert.rejects(readRegularFile(path.join(dir, 'big'), { maxBytes: 2048, name: 'big' }),
      { code: 'NotRegularFile', message: 'big is larger than 2048 bytes: not read' });
    assert.equal(readRegularFileSync(path.join(dir, 'none'), { maxBytes: 1 }), undefined);
    // A file read whole, at and under the cap, whatever its size.
    fs.writeFileSync(path.join(dir, 'exact'), Buffer.alloc(2048, 7));
    assert.deepEqual(readRegularFileSync(path.join(dir, 'exact'), { maxBytes: 2048 }), Buffer.alloc(2048, 7));
    assert.deepEqual(await readRegularFile(path.join(dir, 'exact'), { maxBytes: 2048 }), Buffer.alloc(2048, 7));
    fs.writeFileSync(path.join(dir, 'empty'), '');
    assert.equal((await readRegularFile(path.join(dir, 'empty'), { maxBytes: 2048 }))!.length, 0);
  });

  const cases: ReadonlyArray<readonly [string, string, (dir: string) => void, string]> = [
    ['package.json → /dev/zero', 'package.json', (d) => fs.symlinkSync('/dev/zero', path.join(d, 'package.json')), 'a symbolic link to a character device'],
    ['a workspace package.json → /dev/urandom', 'packages/a/package.json', (d) => {
      fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ workspaces: ['packages/*'], scripts: { lint: 'true' } }));
      fs.mkdirSync(path.join(d, 'packages', 'a'), { recursive: true });
      fs.symlinkSync('/dev/urandom', path.join(d, 'packages', 'a', 'package.json'));
    }, 'a symbolic link to a character device'],
    ['pnpm-workspace.yaml, a FIFO', 'pnpm-workspace.yaml', (d) => {
      fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ scripts: { lint: 'true' } }));
      execFileSync('mkfifo', [path.join(d, 'pnpm-workspace.yaml')]);
    }, 'a named pipe (FIFO)'],
    ['package.json → a FIFO', 'package.json', (d) => {
      execFileSync('mkfifo', [path.join(d, 'pipe')]);
      fs.symlinkSync('pipe', path.join(d, 'package.json'));
    }, 'a symbolic link to a named pipe (FIFO)'],
  ];
  for (const [title, file, make, what] of cases) {
    it(`init with ${title} ends at once, says so naming the file, and suggests the rest`, () => {
      const dir = project({ Makefile: MAKEFILE });
      make(dir);
      const r = cli(dir, 'init', '--print');
      assert.equal(r.code, 0, r.err);
      assert.ok(r.err.includes(`  ${file}: is ${what}, not a regular file: not read\n`), r.err);
      assert.match(r.out, /"test": \{ "run": "make test" \}/);
    });
  }

  it('a Makefile that links to /dev/zero is skipped, said, and init ends with nothing to suggest', () => {
    const dir = project({});
    fs.symlinkSync('/dev/zero', path.join(dir, 'Makefile'));
    const r = cli(dir, 'init');
    assert.equal(r.code, 2);
    assert.ok(r.err.includes('  Makefile: is a symbolic link to a character device, not a regular file: not read\n'), r.err);
  });

  it('status and build with a committed .datakit-ci.json whose working copy links to /dev/zero: the commit\'s runs, and a warning says why', () => {
    const dir = project({ '.datakit-ci.json': JSON.stringify({ jobs: { ok: { run: 'true' } } }) }, true);
    fs.rmSync(path.join(dir, '.datakit-ci.json'));
    fs.symlinkSync('/dev/zero', path.join(dir, '.datakit-ci.json'));
    const head = git(dir, 'rev-parse', '--short=7', 'HEAD');
    const warning = `datakit-ci: warning: .datakit-ci.json is a symbolic link to a character device, not a regular file: it was not read; the one committed at ${head} is what runs\n`;
    const s = cli(dir, 'status');
    assert.equal(s.code, 0, s.err);
    assert.ok(s.err.includes(warning), s.err);
    const b = cli(dir, 'build');
    assert.equal(b.code, 0, b.err);
    assert.ok(b.err.includes(warning), b.err);
    assert.match(b.out, /ok/);
    // The working tree's own configuration is that link: building the working tree is refused, saying why.
    const w = cli(dir, 'build', '--worktree');
    assert.equal(w.code, 2, w.err);
    assert.ok(w.err.includes('datakit-ci: .datakit-ci.json is a symbolic link to a character device, not a regular file: it was not read\n'), w.err);
  });

  it('--config naming a FIFO, for one commit or a range, is refused at once (exit 2), never waited on', () => {
    const dir = project({ '.datakit-ci.json': JSON.stringify({ jobs: { ok: { run: 'true' } } }) }, true);
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'two');
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const said = 'datakit-ci: --config pipe is a named pipe (FIFO), not a regular file: it was not read\n';
    assert.deepEqual(cli(dir, 'status', '--config', 'pipe'), { code: 2, out: '', err: said });
    assert.deepEqual(cli(dir, 'status', '--range', 'HEAD~1..HEAD', '--config', 'pipe'), { code: 2, out: '', err: said });
  });
});

describe('deep nesting and names with escape sequences', () => {
  it('a package.json nested 100,000 levels deep and never closed is skipped with where, not a stack overflow', () => {
    const dir = project({ 'package.json': '{"a":'.repeat(100_000), Makefile: MAKEFILE });
    const r = cli(dir, 'init', '--print');
    assert.equal(r.code, 0, r.err);
    assert.ok(r.err.includes('  package.json: is nested deeper than 64 levels (at line 1, column 321): not read\n'), r.err);
    assert.doesNotMatch(r.err, /internal error|call stack/);
  });

  it('a key.json nested 100,000 levels deep (a fetched result is whoever made it\'s) is a clear error, and what reads it afterwards cannot overflow', () => {
    const deep = `{"digest":"d","job":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.throws(() => JSON.stringify(JSON.parse(deep)), RangeError, 'what explain does with a record would overflow');
    assert.throws(() => parseJsonBounded(deep, 'key.json', 'CorruptResult'),
      { code: 'CorruptResult', message: 'key.json is nested deeper than 64 levels (at line 1, column 84)' });
    // Brackets inside strings are text, not nesting.
    const text = { a: `${'['.repeat(1000)}\\"${'{'.repeat(1000)}` };
    assert.deepEqual(parseJsonBounded(JSON.stringify(text), 'x', 'CorruptResult'), text);
  });

  it('the nesting bound says what a scan of every character says, on 3,000 texts of brackets, quotes and backslashes (strings closed or left open)', () => {
    /** The scan jsonTooDeep made before it read the brackets off with regular expressions first. */
    const scan = (text: string, max: number): number | undefined => {
      let depth = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === '"') {
          for (i++; i < text.length && text[i] !== '"'; i++) { if (text[i] === '\\') { i++; } }
        } else if (c === '[' || c === '{') {
          if (++depth > max) { return i; }
        } else if (c === ']' || c === '}') {
          depth = Math.max(0, depth - 1);
        }
      }
      return undefined;
    };
    let seed = 21;
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const alphabet = ['[', '{', ']', '}', '"', '\\', 'a', ' ', ','];
    let deep = 0;
    for (let t = 0; t < 3000; t++) {
      const text = Array.from({ length: random(120) }, () => alphabet[random(alphabet.length)]).join('');
      const max = random(12);
      const expected = scan(text, max);
      if (expected !== undefined) { deep++; }
      assert.equal(jsonTooDeep(text, max), expected, `${JSON.stringify(text)} with a bound of ${max}`);
    }
    assert.ok(deep > 300 && deep < 2700, `both outcomes are tried (${deep} too deep)`);
  });

  it('status on a branch whose name holds a bidirectional override and a C1 control shows them, never acting on the terminal', () => {
    const dir = project({ '.datakit-ci.json': JSON.stringify({ jobs: { ok: { run: 'true' } } }) }, true);
    git(dir, 'checkout', '-q', '-b', 'fix\u202egnp.exe\u009b2J');
    const r = cli(dir, 'status');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split('\n')[0]!.replace(/ @ [0-9a-f]{7}$/, ''), 'fix\\u202egnp.exe\\u009b2J');
  });

  it('a workspace folder named with escape sequences is printed with them shown, never acting on the terminal', () => {
    const evil = 'x\x1b]0;owned\x07\x1b[2J\x9bA';
    const dir = project({ 'package.json': JSON.stringify({ workspaces: ['packages/*'], scripts: { lint: 'true' } }),
      [`packages/${evil}/package.json`]: JSON.stringify({ name: 'x', scripts: { test: 'true' } }) });
    const r = cli(dir, 'init', '--print');
    assert.equal(r.code, 0, r.err);
    assert.ok(![...'\x1b\x07\x9b'].some((c) => r.err.includes(c)), 'no escape, bell or one-byte CSI reaches the terminal');
    assert.ok(r.err.includes('  packages/x\\u001b]0;owned\\u0007\\u001b[2J\\u009bA/package.json: its folder\'s name holds characters a shell would need quoted\n'), r.err);
  });
});

describe('files that make a reader do more than once the work of their size', () => {
  it('init reads a CMakeLists.txt and a setup.cfg of 2,000,000 blank lines, and a pyproject.toml list of 200,000 lines, and ends by itself', () => {
    const blank = '\n'.repeat(2_000_000);
    const dir = project({
      'CMakeLists.txt': `${blank}project(p)\nenable_testing()\n`,
      'setup.cfg': `${blank}[tool:pytest]\n`,
      'pyproject.toml': `[project]\nname = "p"\ndependencies = [\n${'  "d",\n'.repeat(200_000)}]\n`,
      'tests/test_a.py': '',
    });
    const r = cli(dir, 'init', '--print');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /"cmake\.test"/);
    assert.match(r.out, /"python\.test"/);
  });
});
