import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/jobs/config/config';
import { makeTargets, suggestJobs, type Suggestions } from '../../src/jobs/suggest/suggest';
import { scriptMatcher } from '../../src/jobs/suggest/suggestMatchers';
import { pnpmPackages } from '../../src/jobs/suggest/suggestWorkspaces';
import { repo, tempRoot } from '../fixtures';

const tmp = tempRoot('suggest');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A real repository (git init, no commit) holding these files; objects are written as JSON. */
const project = (files: Record<string, string | object>): string => repo(path.join(tmp, `r${n++}`), {
  files: Object.fromEntries(Object.entries(files).map(([f, content]) => [f, typeof content === 'string' ? content : JSON.stringify(content, null, 2)])),
  commit: false,
});

/** The jobs without their text, for exact comparison. */
function found(s: Suggestions): Omit<Suggestions, 'text'> {
  const { text: _text, ...rest } = s;
  return rest;
}

/** The jobs as parseConfig reads them back from the text. */
function roundTrip(s: Suggestions): { name: string; run: string; inputs?: string[]; outputs?: string[]; needs?: string[]; problemMatcher?: unknown }[] {
  const r = parseConfig(s.text);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  assert.deepEqual(r.config.setup && { run: r.config.setup.run, inputs: r.config.setup.inputs }, s.setup && { run: s.setup.run, inputs: s.setup.inputs });
  return r.config.jobs.map((j) => ({ name: j.name, run: j.run, ...(j.inputs ? { inputs: j.inputs } : {}), ...(j.outputs.length > 0 ? { outputs: j.outputs } : {}),
    ...(j.needs.length > 0 ? { needs: j.needs } : {}), ...(j.problemMatcher ? { problemMatcher: j.problemMatcher } : {}) }));
}

describe('zero configuration: suggested jobs', () => {
  it('a single package: its build, lint and test scripts through npm, npm ci as the setup; tsc\'s and eslint\'s matchers', async () => {
    const dir = project({
      'package.json': { name: 'one', scripts: { start: 'node .', test: 'node --test', build: 'tsc', lint: 'eslint .' }, devDependencies: { typescript: '5' } },
      'package-lock.json': '{}',
      'tsconfig.json': '{}',
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(found(s), {
      jobs: [
        { name: 'build', run: 'npm run build', problemMatcher: '$tsc', from: 'package.json script "build"' },
        { name: 'lint', run: 'npm run lint', problemMatcher: '$eslint-stylish', from: 'package.json script "lint"' },
        { name: 'test', run: 'npm run test', from: 'package.json script "test"' },
      ],
      setup: { run: 'npm ci', inputs: ['package.json', 'package-lock.json'], toolInputs: ['node --version'], from: 'package-lock.json' },
      skipped: [],
    });
    assert.equal(s.text, [
      '// Suggested by `datakit-ci init` from the files of this repository: edit it freely. Jobs are read from the',
      '// commit being built, so commit this file (`datakit-ci build --worktree` tries it before you do). A job',
      '// without "inputs" depends on the whole tree; a workspace package\'s job, on its folder, the packages it',
      '// depends on, the lockfile and the shared configuration at the root.',
      '{',
      '  // Installs the dependencies once per distinct content of its inputs (as package-lock.json says).',
      '  // Again when the output of a command of "toolInputs" changes (a Node upgrade), and every job with it.',
      '  "setup": { "run": "npm ci", "inputs": ["package.json", "package-lock.json"], "toolInputs": ["node --version"] },',
      '  "jobs": {',
      '    // package.json script "build"',
      '    "build": { "run": "npm run build", "problemMatcher": "$tsc" },',
      '    // package.json script "lint"',
      '    "lint": { "run": "npm run lint", "problemMatcher": "$eslint-stylish" },',
      '    // package.json script "test"',
      '    "test": { "run": "npm run test" }',
      '  }',
      '}',
      '',
    ].join('\n'));
    assert.deepEqual(roundTrip(s), s.jobs.map(({ from: _from, ...j }) => j));
  });

  it('npm workspaces with a glob: each package with its folder, the packages it depends on, the lockfile and shared configuration', async () => {
    const dir = project({
      'package.json': { private: true, workspaces: ['packages/*', 'tools/missing-*'], scripts: { test: 'npm test --workspaces' } },
      'package-lock.json': '{}',
      '.npmrc': 'fund=false\n',
      'tsconfig.base.json': '{}',
      'README.md': '# x\n',
      'packages/core/package.json': { name: '@x/core', scripts: { build: 'tsc', test: 'node --test' } },
      'packages/app/package.json': { name: '@x/app', dependencies: { '@x/util': '1' }, scripts: { typecheck: 'tsc --noEmit', test: 'node --test' } },
      'packages/util/package.json': { name: '@x/util', dependencies: { '@x/core': '1', lodash: '4' }, scripts: { test: 'echo "Error: no test specified" && exit 1' } },
      'packages/notes/README.md': 'not a package\n',
      'packages/.hidden/package.json': { name: 'hidden', scripts: { test: 'x' } },
    });
    const s = await suggestJobs(dir);
    const shared = ['package-lock.json', 'tsconfig.base.json'];
    assert.deepEqual(found(s), {
      jobs: [
        { name: 'test', run: 'npm run test', from: 'package.json script "test"' },
        // app depends on util, which has no build, and through it on core: app's jobs need core's build.
        { name: 'app.typecheck', run: 'npm run typecheck -w packages/app', inputs: ['packages/app', 'packages/core', 'packages/util', ...shared], needs: ['core.build'], problemMatcher: '$tsc', from: 'packages/app/package.json script "typecheck"' },
        { name: 'app.test', run: 'npm run test -w packages/app', inputs: ['packages/app', 'packages/core', 'packages/util', ...shared], needs: ['core.build'], from: 'packages/app/package.json script "test"' },
        { name: 'core.build', run: 'npm run build -w packages/core', inputs: ['packages/core', ...shared], problemMatcher: '$tsc', from: 'packages/core/package.json script "build"' },
        { name: 'core.test', run: 'npm run test -w packages/core', inputs: ['packages/core', ...shared], needs: ['core.build'], from: 'packages/core/package.json script "test"' },
      ],
      setup: { run: 'npm ci', inputs: ['package.json', 'package-lock.json', 'packages/*/package.json', '.npmrc'], toolInputs: ['node --version'], from: 'package-lock.json' },
      skipped: [
        { file: 'package.json', reason: 'workspace pattern "tools/missing-*" matches no folder with a package.json' },
        { file: 'packages/util/package.json', reason: 'script "test" is the placeholder npm init writes, which always fails' },
        { file: 'packages/core/package.json', reason: 'core.build: no tsconfig.json "outDir", "main", "exports" or "files" says where the build writes, so the jobs that need it get none of its files (add "outputs")' },
      ],
    });
    assert.deepEqual(roundTrip(s), s.jobs.map(({ from: _from, ...j }) => j));
  });

  it('yarn workspaces as { packages }: `yarn workspace NAME`, folders named by their path when two share a name', async () => {
    const dir = project({
      'package.json': { private: true, workspaces: { packages: ['libs/**', '!libs/old/**'], nohoist: [] } },
      'yarn.lock': '# yarn lockfile v1\n',
      'libs/x/core/package.json': { name: 'x-core', scripts: { test: 'jest' } },
      'libs/y/core/package.json': { name: 'y-core', scripts: { test: 'jest', lint: 'eslint .' } },
      'libs/solo/package.json': { name: 'solo', scripts: { build: 'rollup -c' } },
      'libs/nameless/package.json': { scripts: { test: 'jest' } },
      'libs/old/legacy/package.json': { name: 'legacy', scripts: { test: 'jest' } },
      'libs/solo/node_modules/dep/package.json': { name: 'dep', scripts: { test: 'x' } },
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(found(s), {
      jobs: [
        { name: 'solo.build', run: 'yarn workspace solo run build', inputs: ['libs/solo', 'yarn.lock'], from: 'libs/solo/package.json script "build"' },
        { name: 'libs-x-core.test', run: 'yarn workspace x-core run test', inputs: ['libs/x/core', 'yarn.lock'], from: 'libs/x/core/package.json script "test"' },
        { name: 'libs-y-core.lint', run: 'yarn workspace y-core run lint', inputs: ['libs/y/core', 'yarn.lock'], problemMatcher: '$eslint-stylish', from: 'libs/y/core/package.json script "lint"' },
        { name: 'libs-y-core.test', run: 'yarn workspace y-core run test', inputs: ['libs/y/core', 'yarn.lock'], from: 'libs/y/core/package.json script "test"' },
      ],
      setup: { run: 'yarn install --frozen-lockfile', inputs: ['package.json', 'yarn.lock', 'libs/**/package.json', '!libs/old/**/package.json'], toolInputs: ['node --version'], from: 'yarn.lock' },
      skipped: [{ file: 'libs/nameless/package.json', reason: 'has no "name", which `yarn workspace` needs' }],
    });
    assert.deepEqual(roundTrip(s), s.jobs.map(({ from: _from, ...j }) => j));
  });

  it('a pnpm workspace from pnpm-workspace.yaml: `pnpm --dir`, pnpm install --frozen-lockfile; another lockfile is said to be unused', async () => {
    const dir = project({
      'package.json': { private: true, packageManager: 'pnpm@9.1.0', workspaces: ['ignored/*'], scripts: { lint: 'eslint .' } },
      'pnpm-workspace.yaml': "# the packages\npackages:\n  - 'apps/*' # the apps\n  - \"packages/*\"\n\ncatalog:\n  react: ^18\n",
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
      'package-lock.json': '{}',
      'apps/web/package.json': { name: 'web', scripts: { build: 'vite build', check: 'svelte-check' } },
      'packages/ui/package.json': { name: 'ui', scripts: { test: 'vitest run' } },
      'ignored/a/package.json': { name: 'a', scripts: { test: 'x' } },
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(found(s), {
      jobs: [
        { name: 'lint', run: 'pnpm run lint', problemMatcher: '$eslint-stylish', from: 'package.json script "lint"' },
        { name: 'web.build', run: 'pnpm --dir apps/web run build', inputs: ['apps/web', 'pnpm-lock.yaml'], from: 'apps/web/package.json script "build"' },
        { name: 'web.check', run: 'pnpm --dir apps/web run check', inputs: ['apps/web', 'pnpm-lock.yaml'], from: 'apps/web/package.json script "check"' },
        { name: 'ui.test', run: 'pnpm --dir packages/ui run test', inputs: ['packages/ui', 'pnpm-lock.yaml'], from: 'packages/ui/package.json script "test"' },
      ],
      setup: { run: 'pnpm install --frozen-lockfile', inputs: ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'apps/*/package.json', 'packages/*/package.json'], toolInputs: ['node --version'], from: 'pnpm-lock.yaml' },
      skipped: [{ file: 'package-lock.json', reason: 'not used: the setup installs with pnpm from pnpm-lock.yaml (npm would read this one)' }],
    });
    assert.deepEqual(roundTrip(s), s.jobs.map(({ from: _from, ...j }) => j));
  });

  it("reads pnpm-workspace.yaml's packages in block and flow style, and says when it cannot", () => {
    assert.deepEqual(pnpmPackages('packages:\n- a/*\n-   \'b\'\'s\'\n  # note\n  - "c/**" # deep\nonlyBuiltDependencies:\n  - esbuild\n'), ['a/*', "b's", 'c/**']);
    assert.deepEqual(pnpmPackages("packages: ['a/*', \"b\"] # two\n"), ['a/*', 'b']);
    assert.deepEqual(pnpmPackages('packages: []\n'), []);
    assert.equal(pnpmPackages('catalog:\n  react: 18\n'), undefined);
    assert.equal(pnpmPackages('packages: a/*\n'), undefined);
    assert.equal(pnpmPackages('packages:\n  - a: b\n  nested: x\n'), undefined);
  });

  it('a Makefile with test and check targets: make jobs, prefixed when a script took the name', async () => {
    const makefile = '# build\nCC := cc\nX ?= 1\n.PHONY: test check all\nall: lib\n\t$(CC) -o lib\ntest check:: all\n\t./run-tests\n%.o: %.c\n\techo\n';
    assert.deepEqual([...makeTargets(makefile)], ['.PHONY', 'all', 'test', 'check', '%.o']);
    const alone = await suggestJobs(project({ Makefile: makefile }));
    assert.deepEqual(found(alone), {
      jobs: [
        { name: 'test', run: 'make test', from: 'Makefile target "test"' },
        { name: 'check', run: 'make check', from: 'Makefile target "check"' },
      ],
      skipped: [],
    });
    assert.deepEqual(roundTrip(alone), [{ name: 'test', run: 'make test' }, { name: 'check', run: 'make check' }]);
    // GNU make reads GNUmakefile first.
    const both = await suggestJobs(project({ 'package.json': { scripts: { test: 'node t.js' } }, GNUmakefile: 'test check:\n\ttrue\n', Makefile: makefile }));
    assert.deepEqual(found(both), {
      jobs: [
        { name: 'test', run: 'npm run test', from: 'package.json script "test"' },
        { name: 'make-test', run: 'make test', from: 'GNUmakefile target "test"' },
        { name: 'make-check', run: 'make check', from: 'GNUmakefile target "check"' },
      ],
      skipped: [],
    });
  });

  it('skips what cannot be used, with the reason: invalid JSON, no lockfile, an empty script, a folder a shell would need quoted', async () => {
    const dir = project({
      'package.json': { workspaces: ['packages/*'], dependencies: { left: '1' }, scripts: { build: ' ', test: 'node t.js' } },
      'packages/broken/package.json': '{ "name": "broken",\n  "scripts": { "test": "x" },\n}\n',
      'packages/not-object/package.json': '[1]',
      'packages/with space/package.json': { name: 'spaced', scripts: { test: 'x' } },
      'packages/fine/package.json': { name: 'fine', scripts: { lint: 'eslint .' } },
    });
    const s = await suggestJobs(dir);
    assert.deepEqual(found(s), {
      jobs: [
        { name: 'test', run: 'npm run test', from: 'package.json script "test"' },
        { name: 'fine.lint', run: 'npm run lint -w packages/fine', inputs: ['packages/fine'], problemMatcher: '$eslint-stylish', from: 'packages/fine/package.json script "lint"' },
      ],
      // Without a lockfile, the dependencies are still installed once, keyed on the package.json files.
      setup: { run: 'npm install --no-audit --no-fund', inputs: ['package.json', 'packages/*/package.json'], toolInputs: ['node --version'], from: 'package.json (no lockfile)' },
      skipped: [
        { file: 'packages/broken/package.json', reason: 'is not valid JSON: Expected a property name in double quotes at line 3, column 1' },
        { file: 'packages/not-object/package.json', reason: 'is not a JSON object' },
        { file: 'package.json', reason: 'no lockfile (package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml): the setup runs `npm install --no-audit --no-fund`, installed again only when a package.json changes, so the versions it got may differ from a fresh install; commit a lockfile for a reproducible one' },
        { file: 'package.json', reason: 'script "build" is empty' },
        { file: 'packages/with space/package.json', reason: "its folder's name holds characters a shell would need quoted" },
      ],
    });
    assert.deepEqual(roundTrip(s), s.jobs.map(({ from: _from, ...j }) => j));

    // A lockfile of another manager than packageManager's is said once, as such.
    const mismatch = await suggestJobs(project({ 'package.json': { packageManager: 'yarn@4.1.0', scripts: { test: 'x' }, dependencies: { a: '1' } }, 'package-lock.json': '{}' }));
    assert.deepEqual(found(mismatch), {
      jobs: [{ name: 'test', run: 'yarn run test', from: 'package.json script "test"' }],
      skipped: [{ file: 'package.json', reason: '"packageManager" names yarn, whose lockfile is not there (found package-lock.json): no setup is suggested' }],
    });

    const invalidRoot = await suggestJobs(project({ 'package.json': '{"scripts": {"test": "x"}' }));
    assert.deepEqual(found(invalidRoot), { jobs: [], skipped: [{ file: 'package.json', reason: 'is not valid JSON: Expected "}" at line 1, column 26' }] });
    assert.ok(parseConfig(invalidRoot.text).ok, 'an empty suggestion is still a valid file');
  });

  it('names the matcher of what a script runs, from its words: eslint (stylish, or compact when asked), tsc, both, or none', () => {
    const cases: [string, string | string[] | undefined][] = [
      ['eslint .', '$eslint-stylish'], ['npx eslint . --max-warnings 0', '$eslint-stylish'], ['eslint -f stylish src', '$eslint-stylish'],
      ['eslint --format=compact .', '$eslint-compact'], ['eslint -f json -o out.json .', undefined], ['node_modules/.bin/eslint .', '$eslint-stylish'],
      ['tsc', '$tsc'], ['tsc -p .', '$tsc'], ['tsc --noEmit', '$tsc'], ['pnpm exec tsc -b', '$tsc'], ['npm exec -- tsc --noEmit', '$tsc'], ['cross-env NODE_ENV=ci tsc', '$tsc'],
      ['tsc --noEmit && eslint . && depcruise src', ['$tsc', '$eslint-stylish']], ['eslint . && tsc -p . && tsc -p test', ['$eslint-stylish', '$tsc']],
      ['vue-tsc --noEmit', undefined], ['tsc-alias', undefined], ['eslint-config-check', undefined], ['echo eslint', undefined],
      ['npm run lint', undefined], ['node --test', undefined], ['jest', undefined], ['', undefined],
    ];
    for (const [script, matcher] of cases) { assert.deepEqual(scriptMatcher(script), matcher, script); }
  });
});
