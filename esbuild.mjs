// Bundles the extension, the command-line tool and the engine's public API (CommonJS, `vscode` external).
import * as esbuild from 'esbuild';
import fs from 'node:fs/promises';
import path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// jsonc-parser's modules have no side effects, which its package.json does not declare: said here, the
// formatter it does not need to parse is left out, with the tables of strings it builds when loaded (400 KB
// allocated by every command's start, measured with V8's sampling heap profiler).
const pureJsoncParser = {
  name: 'pure-jsonc-parser',
  setup(build) {
    build.onResolve({ filter: /^(jsonc-parser|\.\/.*)$/ }, async (args) => {
      if (args.pluginData === 'pure' || !(args.path === 'jsonc-parser' || args.importer.includes(`${path.sep}jsonc-parser${path.sep}`))) { return undefined; }
      const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'pure' });
      return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, sideEffects: false };
    });
  },
};

// lru-cache picks its clock when loaded: `typeof performance`, which makes Node load perf_hooks (and its
// observers and timers, ~1 ms of every command's start) although only a cache with a ttl ever asks the time.
// Here the clock asks for `performance` on its first use. The build fails if lru-cache stops saying it so.
const lazyLruCacheClock = {
  name: 'lazy-lru-cache-clock',
  setup(build) {
    build.onLoad({ filter: /[\\/]lru-cache[\\/]dist[\\/]esm[\\/]node[\\/]index\.min\.js$/ }, async (args) => {
      const text = await fs.readFile(args.path, 'utf8');
      const eager = 'typeof performance=="object"&&performance&&typeof performance.now=="function"?performance:Date';
      if (text.split(eager).length !== 2) { return { errors: [{ text: `lru-cache no longer picks its clock as ${eager}: see lazyLruCacheClock in esbuild.mjs` }] }; }
      return { contents: text.replace(eager, '{now:()=>performance.now()}'), loader: 'js' };
    });
  },
};

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  // jsonc-parser's default (UMD) build requires its files dynamically; its ESM build bundles.
  mainFields: ['module', 'main'],
  sourcemap: !production,
  // Always minified: a command's start is mostly parsing its bundle (the source maps keep it debuggable).
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  plugins: [pureJsoncParser, lazyLruCacheClock],
};

// isomorphic-git (550 KB with what it brings) is only needed to write results: it gets a bundle of its own,
// required when the first result is written, so that reading (a cached build, a status) never parses it.
const separateIsomorphicGit = {
  name: 'separate-isomorphic-git',
  setup(build) {
    build.onResolve({ filter: /^isomorphic-git$/ }, () => ({ path: './isomorphic-git.js', external: true }));
  },
};

const entries = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [pureJsoncParser, lazyLruCacheClock, separateIsomorphicGit] },
  // dist/cli.js starts dist/cli-main.js with V8's code cache (see src/cli/loader.ts).
  { entryPoints: ['src/cli/loader.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // Without keepNames: it names each function by a property write where it is made, closures included, on every
  // call of the function that makes them (a few ms of a cached build of 50 jobs, more per job); nothing of
  // ours reads a function's name, and a stack trace's positions are mapped back by dist/cli-main.js.map.
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.js', plugins: [pureJsoncParser, lazyLruCacheClock, separateIsomorphicGit], keepNames: false },
  { entryPoints: ['src/api/engine.ts'], outfile: 'dist/engine.js', plugins: [pureJsoncParser, lazyLruCacheClock, separateIsomorphicGit] },
  { entryPoints: ['src/store/git/isomorphicGitBundle.ts'], outfile: 'dist/isomorphic-git.js' },
  // The worker thread that matches a log's problems: src/jobs/problems/matchInWorker.ts starts `${__dirname}/matchWorker.js`,
  // which is dist/ for every bundle above.
  { entryPoints: ['src/jobs/problems/matchWorker.ts'], outfile: 'dist/matchWorker.js' },
];

if (watch) {
  for (const e of entries) { await (await esbuild.context({ ...common, ...e })).watch(); }
  console.log('esbuild: watching');
} else {
  await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
}
