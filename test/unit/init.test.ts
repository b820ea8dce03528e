import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { suggestJobs } from '../../src/jobs/suggest/suggest';
import { ENV, git, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('init');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, CLI_ENV);

let n = 0;
/** A repository, no commit yet, whose package.json's test passes, with no dependency (so no lockfile is needed). */
const project = (files: Record<string, string> = { 'package.json': JSON.stringify({ name: 'tiny', scripts: { test: 'node -e "process.exit(0)"' } }) }): string =>
  repo(path.join(tmp, `r${n++}`), { files, commit: false });

describe('datakit-ci init', () => {
  it('writes .datakit-ci.json at the root (from a subfolder too), says what it found and the next step', async () => {
    const dir = project();
    fs.mkdirSync(path.join(dir, 'src'));
    const r = cli(path.join(dir, 'src'), 'init');
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.equal(r.out, [
      'wrote ../.datakit-ci.json with 1 job:',
      '  test  npm run test  package.json script "test"',
      'next: commit ../.datakit-ci.json (jobs are read from the commit being built), then `datakit-ci build`',
      '',
    ].join('\n'));
    assert.equal(fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8'), (await suggestJobs(dir)).text);
  });

  it('refuses to overwrite the file unless --force; --print writes to stdout and leaves the file alone', () => {
    const dir = project({ 'package.json': '{"scripts": {"lint": "eslint ."}, "devDependencies": {"eslint": "9"}}', 'package-lock.json': '{}' });
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'first');
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), '{ "jobs": {} }\n');
    const refused = cli(dir, 'init');
    assert.deepEqual(refused, { code: 2, out: '', err: 'datakit-ci: .datakit-ci.json already exists; `init --force` replaces it, `init --print` prints the suggestion instead\n' });
    assert.equal(fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8'), '{ "jobs": {} }\n');

    const printed = cli(dir, 'init', '--print');
    assert.equal(printed.code, 0);
    assert.match(printed.out, /^\/\/ Suggested by `datakit-ci init`/);
    assert.ok(printed.out.includes('  "setup": { "run": "npm ci", "inputs": ["package.json", "package-lock.json"], "toolInputs": ["node --version"] },\n'));
    // The script runs eslint: the job names its matcher.
    assert.ok(printed.out.includes('    "lint": { "run": "npm run lint", "problemMatcher": "$eslint-stylish" }\n'));
    assert.equal(printed.err, [
      'found 1 job and a setup:',
      '  (setup)  npm ci        chosen by package-lock.json',
      '  lint     npm run lint  package.json script "lint"',
      'next: `datakit-ci init` writes it to .datakit-ci.json',
      '',
    ].join('\n'));
    assert.equal(fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8'), '{ "jobs": {} }\n');

    const forced = cli(dir, 'init', '--force');
    assert.equal(forced.code, 0);
    assert.equal(fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8'), printed.out);
    assert.equal(forced.out.split('\n').at(-2), 'next: `datakit-ci build --worktree` tries the jobs on your working tree; commit .datakit-ci.json, then `datakit-ci build` builds them for HEAD');
  });

  it('never writes through a symbolic link in the file\'s place, even with --force', () => {
    const dir = project();
    const outside = path.join(tmp, 'outside.txt');
    fs.writeFileSync(outside, 'keep me\n');
    fs.symlinkSync(outside, path.join(dir, '.datakit-ci.json'));
    const r = cli(dir, 'init', '--force');
    assert.equal(r.code, 2);
    assert.match(r.err, /\.datakit-ci\.json is not a regular file \(a symbolic link\): init does not write through it/);
    assert.equal(fs.readFileSync(outside, 'utf8'), 'keep me\n');
    // A dangling one neither.
    fs.rmSync(outside);
    assert.equal(cli(dir, 'init').code, 2);
    assert.equal(fs.existsSync(outside), false);
  });

  it('finds nothing: exit 2 with what it skipped and why, and writes nothing', () => {
    const dir = project({ 'package.json': '{"scripts": {"start": "node ."}}', 'sub/package.json': '{' });
    const r = cli(dir, 'init');
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.equal(r.err, `datakit-ci: found no job to suggest in ${fs.realpathSync(dir)}: no build, typecheck, check, lint or test script in a package.json, no test or check target in a Makefile; write .datakit-ci.json by hand (see the README's "Declaring jobs")\n`);
    assert.equal(fs.existsSync(path.join(dir, '.datakit-ci.json')), false);

    const broken = project({ 'package.json': '{"scripts": ' });
    assert.equal(cli(broken, 'init').err.split('\n')[0], 'skipped:');
    assert.equal(cli(broken, 'init').err.split('\n')[1], '  package.json: is not valid JSON: Expected a value at line 1, column 13');
    assert.deepEqual(cli(tmp, 'init').code, 2, 'not a repository');
  });

  it('end to end: init, commit, build — the suggested job passes', () => {
    const dir = project();
    assert.equal(cli(dir, 'init').code, 0);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'jobs suggested by init');
    const b = cli(dir, 'build', '--json');
    assert.equal(b.code, 0, b.err);
    const jobs = JSON.parse(b.out).jobs as { job: string; state: string; cached: boolean }[];
    assert.deepEqual(jobs.map((j) => [j.job, j.state, j.cached]), [['test', 'success', false]]);
    assert.match(cli(dir, 'log', 'test').out, /process\.exit\(0\)/);
  });
});
