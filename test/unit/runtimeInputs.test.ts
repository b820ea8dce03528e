// Toolchains in the key: a job's `toolInputs` (a command whose output is part of the key) and `envInputs` (a
// variable whose value is) make a cached success give way when the tool or the variable changes, and only then.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot } from '../fixtures';
import { RepoJobs } from '../../src/jobs/repoJobs';
import { DataKitError } from '../../src/shared/errors';
import { parseConfig } from '../../src/jobs/config/config';
import { jobDirName } from '../../src/jobs/run/checkout';

const tmp = tempRoot('runtime-inputs');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

let n = 0;
const dirFor = (): string => path.join(tmp, `r${n++}`);

/** A folder holding `mycc`, a "compiler" whose `--version` says `version`; put first on PATH. */
function toolchain(version: string): string {
  const bin = path.join(tmp, `bin${n++}`);
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'mycc'), `#!/bin/sh\necho "mycc ${version}"\n`, { mode: 0o755 });
  return bin;
}

/** Sets `mycc --version` of the folder to say `version` (an upgrade in place, as a package manager does). */
function upgrade(bin: string, version: string): void {
  fs.writeFileSync(path.join(bin, 'mycc'), `#!/bin/sh\necho "mycc ${version}"\n`, { mode: 0o755 });
}

const withPath = (bin: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...CLI_ENV, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...more });

/** `build` in `dir`; the job's line (`✔ compile  built now …` or `… cached`). */
function build(dir: string, env: NodeJS.ProcessEnv, code = 0): string {
  const r = runCli(dir, ['build'], env);
  assert.equal(r.code, code, r.out + r.err);
  return r.out;
}

describe('runtime inputs in the key', () => {
  it('a job whose toolInputs output changes (a compiler upgraded) builds again; unchanged, it stays cached; Explain says what changed', () => {
    const bin = toolchain('1.0');
    const dir = repo(dirFor(), { jobs: { compile: { run: 'mycc --version > used.txt && cat used.txt', toolInputs: ['mycc --version'] }, docs: { run: 'true' } } });
    const env = withPath(bin);
    assert.match(build(dir, env), /^✔ compile {2}built now/m);
    assert.match(build(dir, env), /^compile\s+success\s+cached/m, 'the same tool: a hit');
    upgrade(bin, '2.0');
    const after = build(dir, env);
    assert.match(after, /^✔ compile {2}built now/m, 'the upgraded tool: built again');
    assert.match(after, /^docs\s+success\s+cached/m, 'a job that declares no tool keeps its result');
    assert.match(build(dir, env), /^compile\s+success\s+cached/m);

    const explained = runCli(dir, ['explain', 'compile'], env);
    assert.equal(explained.code, 0, explained.err);
    assert.match(explained.out, /^ {2}tool "mycc --version" +mycc 1\.0 → mycc 2\.0$/m);
    assert.match(explained.out, /^Runtime inputs \(envInputs, toolInputs\):\n {2}tool "mycc --version" +mycc 2\.0$/m);
    const json = JSON.parse(runCli(dir, ['explain', 'compile', '--json'], env).out);
    assert.deepEqual(json.runtime, [{ of: 'job', kind: 'tool', name: 'mycc --version', value: 'mycc 2.0' }]);
    assert.deepEqual(json.keyJson.runtime, { env: {}, tools: { 'mycc --version': 'mycc 2.0' } });
  });

  it('a job whose envInputs variable changes value, or becomes unset, builds again; the same value is a hit', () => {
    const dir = repo(dirFor(), { jobs: { bundle: { run: 'echo "mode=$BUNDLE_MODE"', envInputs: ['BUNDLE_MODE'] } } });
    const mode = (v: string | undefined): NodeJS.ProcessEnv => {
      const env = { ...CLI_ENV, BUNDLE_MODE: v };
      if (v === undefined) { delete env.BUNDLE_MODE; }
      return env;
    };
    assert.match(build(dir, mode('development')), /^✔ bundle {2}built now/m);
    assert.match(build(dir, mode('development')), /^bundle\s+success\s+cached/m);
    assert.match(build(dir, mode('production')), /^✔ bundle {2}built now/m);
    assert.match(build(dir, mode(undefined)), /^✔ bundle {2}built now/m, 'unset is a value of its own');
    assert.match(build(dir, mode('development')), /^bundle\s+success\s+cached/m, 'back to a value built before: its result');
    const log = runCli(dir, ['log', 'bundle'], mode('development'));
    assert.match(log.out, /mode=development/);
    // The key records a digest of the value, never the value: key.json is pushed, and a variable may be a secret.
    const explained = JSON.parse(runCli(dir, ['explain', 'bundle', '--json'], mode('development')).out);
    assert.match(explained.keyJson.runtime.env.BUNDLE_MODE, /^sha256:[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(explained).includes('development'), 'the value is nowhere in what explain shows');
  });

  it('a toolInputs command that fails is an error that names it, and no job runs', () => {
    const dir = repo(dirFor(), { jobs: { compile: { run: 'touch ran.txt', toolInputs: ['no-such-compiler --version'] } } });
    const r = runCli(dir, ['build'], CLI_ENV);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /toolInputs "no-such-compiler --version" of job "compile" failed \(Command exited with code 127\).*not found.*nothing was built/);
    // This repository's build directories (`<folder>-<digest>`; other tests' repositories have a compile job too).
    const checkouts = fs.readdirSync(path.join(tmp, 'cache')).filter((d) => d.startsWith(`${path.basename(dir)}-`)).map((d) => path.join(tmp, 'cache', d, 'work', jobDirName('compile')));
    assert.deepEqual(checkouts.filter((c) => fs.existsSync(c)), [], 'no checkout of the job was made, so it never ran');
  });

  it('a failing toolInputs command is its job\'s configuration error at the job\'s name, in status as in build; an untrusted workspace never runs one', async () => {
    const marker = path.join(tmp, `ran-${n}`);
    const dir = repo(dirFor(), { jobs: { ok: { run: 'true' }, compile: { run: 'true', toolInputs: [`touch ${marker}; exit 3`] } } });
    const status = runCli(dir, ['status'], CLI_ENV);
    assert.equal(status.code, 2, status.out + status.err);
    assert.match(status.err, /^\.datakit-ci\.json:1:\d+: toolInputs "touch .*; exit 3" of job "compile" failed \(Command exited with code 3\)/m);
    assert.match(status.err, /has 1 error; nothing was run/);
    fs.rmSync(marker);
    const untrusted = await RepoJobs.open({ dir, cacheDir: path.join(tmp, 'cache'), trusted: false });
    try {
      await assert.rejects(untrusted.jobsAt(git(dir, 'rev-parse', 'HEAD')), (e: unknown) => DataKitError.is(e, 'Untrusted'));
    } finally {
      untrusted.dispose();
    }
    assert.equal(fs.existsSync(marker), false, 'the command never ran in the untrusted workspace');
  });

  it('what a failing toolInputs command printed reaches the terminal neutralised: no escape sequence acts on it', () => {
    const dir = repo(dirFor(), { jobs: { compile: { run: 'true', toolInputs: ["printf '\\033]0;owned\\007\\033[2Jboom'; exit 4"] } } });
    const r = runCli(dir, ['build'], CLI_ENV);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /failed \(Command exited with code 4\): \ufffd\]0;owned\ufffd\ufffd\[2Jboom;/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.err, /[\u001b\u0007]/);
  });

  it('the setup\'s toolInputs are in the setup\'s key: upgrading the runtime installs again and every job using the setup builds again', () => {
    const bin = toolchain('20.1');
    const dir = repo(dirFor(), { config: { setup: { run: 'mycc --version > installed.txt', toolInputs: ['mycc --version'] }, jobs: { test: { run: 'cat installed.txt' } } } });
    const env = withPath(bin);
    build(dir, env);
    assert.match(build(dir, env), /^test\s+success\s+cached/m);
    upgrade(bin, '22.0');
    assert.match(build(dir, env), /^✔ test {2}built now/m);
    assert.match(runCli(dir, ['log', 'test'], env).out, /mycc 22\.0/, 'the job ran with what the new setup installed');
  });

  it('node --version of the Node running the command line is its version; a node on PATH that is another file is run (and its upgrade rebuilds); a NODE_OPTIONS of the job\'s own is run too', () => {
    const own = path.join(tmp, `bin${n++}`);
    fs.mkdirSync(own);
    fs.symlinkSync(process.execPath, path.join(own, 'node'));
    const dir = repo(dirFor(), { jobs: { compile: { run: 'true', toolInputs: ['node --version'] } } });
    const explained = (env: NodeJS.ProcessEnv): unknown => JSON.parse(runCli(dir, ['explain', 'compile', '--json'], env).out).runtime;
    const ownEnv = withPath(own);
    assert.match(build(dir, ownEnv), /^✔ compile {2}built now/m);
    assert.deepEqual(explained(ownEnv), [{ of: 'job', kind: 'tool', name: 'node --version', value: process.version }]);
    assert.equal(execFileSync(process.execPath, ['--version'], { encoding: 'utf8' }).trim(), process.version, 'what the command prints');

    // A wrapper named node first on PATH (nvm's shims, a node in node_modules/.bin): what it prints is the key's.
    const wrapper = path.join(tmp, `bin${n++}`);
    fs.mkdirSync(wrapper);
    fs.writeFileSync(path.join(wrapper, 'node'), '#!/bin/sh\necho v99.0.0\n', { mode: 0o755 });
    const wrapped = { ...withPath(wrapper), PATH: `${wrapper}${path.delimiter}${own}${path.delimiter}${process.env.PATH}` };
    assert.match(build(dir, wrapped), /^✔ compile {2}built now/m, 'another node: built again');
    assert.deepEqual(explained(wrapped), [{ of: 'job', kind: 'tool', name: 'node --version', value: 'v99.0.0' }]);
    assert.match(build(dir, ownEnv), /^compile\s+success\s+cached/m, 'this Node again: the first result');

    // A job's own NODE_OPTIONS that Node refuses: the command runs, and fails as it would by hand.
    const refused = repo(dirFor(), { jobs: { compile: { run: 'true', env: { NODE_OPTIONS: '--no-such-option' }, toolInputs: ['node --version'] } } });
    const r = runCli(refused, ['build'], ownEnv);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /toolInputs "node --version" of job "compile" failed \(Command exited with code 9\).*--no-such-option is not allowed in NODE_OPTIONS/);
  });

  it('envInputs and toolInputs are checked by the schema at their line: a variable name that is not one, a repeated command', () => {
    const r = parseConfig('{\n  "jobs": {\n    "a": { "run": "true", "envInputs": ["NOT-A-NAME"], "toolInputs": ["node -v", "node -v"] }\n  }\n}\n');
    assert.equal(r.ok, false);
    if (r.ok) { return; }
    assert.deepEqual(r.errors.map((e) => [e.line, e.column, e.message]), [
      [3, 41, '"NOT-A-NAME" in "envInputs" of job "a" is not an environment variable\'s name: letters, digits and "_", not starting with a digit'],
      [3, 71, '"toolInputs" of job "a" lists "node -v" twice'],
    ]);
  });
});
