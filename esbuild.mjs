// Bundles the extension, the command-line tool and the engine's public API (CommonJS, `vscode` external).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

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
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', plugins: [separateIsomorphicGit] },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, plugins: [separateIsomorphicGit] },
  { entryPoints: ['src/api/engine.ts'], outfile: 'dist/engine.js', plugins: [separateIsomorphicGit] },
  { entryPoints: ['src/store/isomorphicGitBundle.ts'], outfile: 'dist/isomorphic-git.js' },
];

if (watch) {
  for (const e of entries) { await (await esbuild.context({ ...common, ...e })).watch(); }
  console.log('esbuild: watching');
} else {
  await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
}
