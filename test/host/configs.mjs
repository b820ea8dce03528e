// The extension-host suite's configurations: each is one extension host with its workspace, settings,
// trust and environment. Both runners use them: scripts/host/run-host-tests.mjs (code-server, here) and
// test/electron/runTest.ts (@vscode/test-electron, on a desktop). A configuration marked `optIn` (the
// benchmarks) runs only when named.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeHostFixture, makeRepo, makeWorkFixture, runCli } from '../fixtures/repo.mjs';

const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUIET = { 'datakitCi.automaticBuilds': false };

export const HOST_CONFIGS = [
  {
    name: 'trusted',
    settings: QUIET,
    setup(runDir) {
      const { dir } = makeHostFixture(path.join(runDir, 'ws', 'fixture'));
      return { folder: dir };
    },
  },
  {
    name: 'multi',
    settings: QUIET,
    setup(runDir) {
      const alpha = makeHostFixture(path.join(runDir, 'ws', 'alpha'), 'alpha').dir;
      const beta = makeHostFixture(path.join(runDir, 'ws', 'beta'), 'beta').dir;
      const workspace = path.join(runDir, 'ws', 'two.code-workspace');
      fs.writeFileSync(workspace, JSON.stringify({ folders: [{ path: alpha }, { path: beta }] }));
      return { workspace };
    },
  },
  {
    // Where the work is: the working tree above HEAD, and every commit of the branch.
    name: 'work',
    settings: { ...QUIET, 'datakitCi.targets': 'branch', 'datakitCi.buildWorkingTree': 'manual', 'datakitCi.maxResultsSize': 1 },
    setup(runDir) {
      return { folder: makeWorkFixture(path.join(runDir, 'ws', 'work')).dir };
    },
  },
  {
    // Workspace trust on and not granted; results saved beforehand by the command-line tool. A spy
    // preloaded into the extension host records every process it starts.
    name: 'untrusted',
    trust: true,
    // A save builds the working tree, and HEAD moves build HEAD: both must be refused here.
    settings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'never', 'datakitCi.buildWorkingTree': 'onSave', 'datakitCi.automaticBuilds': true },
    setup(runDir) {
      const dir = path.join(runDir, 'ws', 'untrusted');
      makeRepo(dir, [{ message: 'Initial commit', files: {
        'src/a.txt': 'a\n',
        '.datakit-ci.json': JSON.stringify({ jobs: { ok: { run: 'mkdir -p out && echo hi > out/x.txt', outputs: ['out/**'] }, bad: { run: 'exit 1' } } }),
      } }]);
      const cacheDir = path.join(runDir, 'build-cache');
      const built = runCli(dir, ['build'], { DATAKIT_CI_CACHE_DIR: cacheDir });
      if (built.code !== 0 && built.code !== 1) { throw new Error(`datakit-ci build ended with ${built.code}: ${built.err}`); } // 1: the job "bad" failed, as it should
      return { folder: dir, env: { NODE_OPTIONS: `--require ${path.join(PROJECT, 'test', 'host', 'spawnSpy.cjs')}` } };
    },
  },
  {
    name: 'bench',
    optIn: true,
    settings: QUIET,
    setup(runDir) {
      const { makeBenchFixture } = createRequire(import.meta.url)(path.join(PROJECT, 'out', 'test', 'host', 'bench', 'fixture.js'));
      const f = makeBenchFixture(path.join(runDir, 'ws'), path.join(PROJECT, 'dist', 'cli.js'), path.join(runDir, 'build-cache'));
      return { folder: f.folder, env: { DATAKIT_CI_BENCH_BASELINE: f.small, DATAKIT_CI_BENCH_BRANCH: f.branch } };
    },
  },
];
