// `init` on a monorepo whose packages import each other's built files: the suggested jobs build as suggested
// (each package's jobs need the builds of the packages it depends on, a build's outputs are its package's
// built files), the repository's own build tool is an input of the jobs that run it, and packages that depend
// on each other give no cycle.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';
import { suggestJobs } from '../../src/jobs/suggest/suggest';

const tmp = tempRoot('suggest-graph');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache'), npm_config_cache: path.join(tmp, 'npm-cache') };

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/**
 * core ← util ← app, each built by the repository's own tools/build.mjs into dist/ (main: dist/index.js);
 * app's test imports util, which imports core: from their built files only.
 */
function monorepo(dir: string): string {
  const pkg = (name: string, deps: string[], test?: string): string => json({
    name: `@m/${name}`, version: '1.0.0', main: 'dist/index.js',
    scripts: { build: 'node ../../tools/build.mjs', ...(test ? { test } : {}) },
    dependencies: Object.fromEntries(deps.map((d) => [`@m/${d}`, '1.0.0'])),
  });
  repo(dir, {
    commit: false,
    files: {
      'package.json': json({ name: 'm', private: true, workspaces: ['packages/*'] }),
      '.gitignore': 'node_modules\ndist\n',
      // Copies src/ to dist/: the build every package runs.
      'tools/build.mjs': "import fs from 'node:fs';\nfs.cpSync('src', 'dist', { recursive: true });\n",
      'packages/core/package.json': pkg('core', []),
      'packages/core/src/index.js': "exports.core = () => 'core';\n",
      'packages/util/package.json': pkg('util', ['core']),
      'packages/util/src/index.js': "const { core } = require('@m/core');\nexports.util = () => `util+${core()}`;\n",
      'packages/app/package.json': pkg('app', ['util'], 'node --test'),
      'packages/app/src/index.js': "const { util } = require('@m/util');\nexports.app = () => `app+${util()}`;\n",
      'packages/app/app.test.js': "const test = require('node:test');\nconst assert = require('node:assert');\nconst { app } = require('./src/index.js');\ntest('app', () => assert.strictEqual(app(), 'app+util+core'));\n",
    },
  });
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: CLI_ENV, stdio: 'pipe' });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'monorepo');
  return dir;
}

describe('init on a monorepo', () => {
  it('suggests jobs that build as suggested: needs from the workspace graph, outputs from main, the repository\'s build tool an input', async () => {
    const dir = monorepo(path.join(tmp, 'm1'));
    const s = await suggestJobs(dir);
    const byName = Object.fromEntries(s.jobs.map((j) => [j.name, j]));
    assert.deepEqual(byName['core.build']!.outputs, ['packages/core/dist/']);
    assert.deepEqual([byName['core.build']!.needs, byName['util.build']!.needs, byName['app.build']!.needs, byName['app.test']!.needs],
      [undefined, ['core.build'], ['util.build'], ['util.build', 'app.build']]);
    assert.ok(byName['util.build']!.inputs!.includes('tools/build.mjs'), JSON.stringify(byName['util.build']!.inputs));

    const init = runCli(dir, ['init'], CLI_ENV);
    assert.equal(init.code, 0, init.out + init.err);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'jobs');
    const first = runCli(dir, ['build'], CLI_ENV);
    assert.equal(first.code, 0, `the suggested jobs build with no edit: ${first.out}${first.err}`);
    assert.match(first.out, /^4 jobs: 4 built, 0 cached$/m);

    // The build tool every package runs is an input: changing it builds them again (turbo would not see it).
    write(dir, { 'tools/build.mjs': "import fs from 'node:fs';\nfs.cpSync('src', 'dist', { recursive: true });\nconsole.log('built');\n" });
    git(dir, 'commit', '-qam', 'the build tool changes');
    const second = runCli(dir, ['build'], CLI_ENV);
    assert.equal(second.code, 0, second.out + second.err);
    assert.match(second.out, /^4 jobs: 4 built, 0 cached$/m);
  });

  it('a micromark-shaped monorepo builds as suggested: its build tool, a workspace package run by its command\'s name, is an input, and a build\'s outputs are the built files at the package\'s root that exports names', async () => {
    const dir = path.join(tmp, 'm4');
    // As micromark's packages: dev/ holds the sources, the build writes index.js and lib/ beside it (ignored),
    // and exports sends `development` to dev/ and everything else to the built index.js.
    const pkg = (name: string, deps: string[]): string => json({
      name: `@m/${name}`, version: '1.0.0', exports: { development: './dev/index.js', default: './index.js' },
      files: ['dev/', 'lib/', 'index.js'], scripts: { build: 'm-build' },
      dependencies: Object.fromEntries(deps.map((d) => [`@m/${d}`, '1.0.0'])),
    });
    // The build tool loads each dependency's built index.js (as micromark-build's babel plugins do), then builds.
    const builder = (note: string): string => [
      '#!/usr/bin/env node', "const fs = require('node:fs');", "const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));",
      "for (const d of Object.keys(pkg.dependencies ?? {})) { require(require.resolve(d, { paths: [process.cwd()] })); }",
      "fs.cpSync('dev/index.js', 'index.js');", "fs.cpSync('dev/lib', 'lib', { recursive: true });", `console.log('${note}');`, '',
    ].join('\n');
    repo(dir, {
      commit: false,
      files: {
        'package.json': json({ name: 'm', private: true, workspaces: ['tools/builder', 'packages/*'] }),
        '.gitignore': 'node_modules\npackages/*/index.js\npackages/*/lib/\n',
        'tools/builder/package.json': json({ name: '@m/builder', version: '1.0.0', bin: { 'm-build': 'index.js' } }),
        'tools/builder/index.js': builder('built by builder 1'),
        'packages/core/package.json': pkg('core', []),
        'packages/core/dev/index.js': "exports.core = require('./lib/core.js').core;\n",
        'packages/core/dev/lib/core.js': "exports.core = () => 'core';\n",
        'packages/util/package.json': pkg('util', ['core']),
        'packages/util/dev/index.js': "exports.util = require('./lib/util.js').util;\n",
        'packages/util/dev/lib/util.js': "exports.util = () => `util+${require('@m/core').core()}`;\n",
      },
    });
    fs.chmodSync(path.join(dir, 'tools/builder/index.js'), 0o755);
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: CLI_ENV, stdio: 'pipe' });
    const s = await suggestJobs(dir);
    const byName = Object.fromEntries(s.jobs.map((j) => [j.name, j]));
    assert.deepEqual(s.jobs.map((j) => j.name), ['core.build', 'util.build']);
    assert.deepEqual(byName['core.build']!.outputs, ['packages/core/dev/', 'packages/core/lib/', 'packages/core/index.js']);
    assert.deepEqual(byName['util.build']!.needs, ['core.build']);
    for (const job of ['core.build', 'util.build']) { assert.ok(byName[job]!.inputs!.includes('tools/builder'), `${job}: ${JSON.stringify(byName[job]!.inputs)}`); }

    assert.equal(runCli(dir, ['init'], CLI_ENV).code, 0);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'monorepo');
    const first = runCli(dir, ['build'], CLI_ENV);
    assert.equal(first.code, 0, `the suggested jobs build with no edit: ${first.out}${first.err}${runCli(dir, ['log', 'util.build'], CLI_ENV).out}`);
    assert.match(first.out, /^2 jobs: 2 built, 0 cached$/m);

    // The build tool every package runs changes: both build again (turbo would answer from its cache).
    write(dir, { 'tools/builder/index.js': builder('built by builder 2') });
    git(dir, 'commit', '-qam', 'the build tool changes');
    const second = runCli(dir, ['build'], CLI_ENV);
    assert.equal(second.code, 0, second.out + second.err);
    assert.match(second.out, /^2 jobs: 2 built, 0 cached$/m, 'both builds ran again: no stale "success cached"');
    assert.match(runCli(dir, ['log', 'util.build'], CLI_ENV).out, /built by builder 2/);
  });

  it('packages that depend on each other: their builds need not one another, and it is said', async () => {
    const dir = path.join(tmp, 'm2');
    repo(dir, {
      files: {
        'package.json': json({ private: true, workspaces: ['packages/*'] }),
        'package-lock.json': '{}',
        'packages/a/package.json': json({ name: 'a', scripts: { build: 'true' }, dependencies: { b: '1' } }),
        'packages/b/package.json': json({ name: 'b', scripts: { build: 'true' }, dependencies: { a: '1' } }),
        'packages/c/package.json': json({ name: 'c', scripts: { build: 'true' }, dependencies: { a: '1' } }),
      },
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(s.jobs.filter((j) => j.name.endsWith('.build')).map((j) => [j.name, j.needs ?? []]), [['a.build', []], ['b.build', []], ['c.build', ['a.build']]]);
    assert.ok(s.skipped.some((k) => /the packages of a\.build, b\.build depend on each other/.test(k.reason)), JSON.stringify(s.skipped));
  });

  it('a tsconfig.json nested 100,000 levels deep is skipped and said, never a stack overflow', async () => {
    const dir = path.join(tmp, 'm3');
    repo(dir, {
      files: {
        'package.json': json({ private: true, workspaces: ['packages/*'] }),
        'package-lock.json': '{}',
        'packages/a/package.json': json({ name: 'a', scripts: { build: 'tsc' } }),
        'packages/a/tsconfig.json': '{"compilerOptions":' + '['.repeat(100_000),
        'packages/b/package.json': json({ name: 'b', scripts: { build: 'true' }, dependencies: { a: '1' } }),
      },
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(s.jobs.map((j) => j.name), ['a.build', 'b.build']);
    assert.ok(s.skipped.some((k) => k.file === 'packages/a/tsconfig.json' && /nested deeper than 64 levels/.test(k.reason)), JSON.stringify(s.skipped));
  });
});
