// dist/cli.js: starts the command line from dist/cli-main.js with V8's code cache. Most of a fully cached
// run is Node starting and compiling the bundle; the cache keeps the compiled code (and the functions the
// run that wrote it compiled lazily) in the user's cache directory, next to the build directories, so that a
// later run compiles nothing. Each command has its own, written after each of its first three runs that ran
// no job (each holds what the runs before compiled and what it compiled itself; a build that ran jobs compiled
// what only such builds need, which every cached build would then deserialise), then left alone: writing one
// costs a few ms. A cache that V8 rejects (another Node, another bundle) is written anew; one that cannot be
// written is simply not used. Only Node's built-in modules are used here, and the one file that says where the
// cache directory is (itself made of built-ins only).
import { createHash } from 'node:crypto';
import fs = require('node:fs');
import Module = require('node:module');
import path = require('node:path');
import vm = require('node:vm');
import { cacheBaseDir } from '../jobs/platform/cacheDir';

interface MainModule {
  main(argv: string[]): Promise<number>;
  /** Whether what this run compiled should be kept (false: a run that ran jobs; the next run writes the generation). */
  compiledCodeWorthKeeping?(): boolean;
}

/** How many times a command's cache is written: after its first runs, each adding what that run compiled. */
const GENERATIONS = 3;

function load(file: string, command: string): MainModule {
  const source = fs.readFileSync(file, 'utf8');
  // Named by the bundle's size and time and Node's version (V8 checks the source itself, and rejects a
  // cache made for other code): no hashing of the bundle on every start.
  const st = fs.statSync(file);
  const id = createHash('sha1').update(`${process.version}\0${st.size}\0${st.mtimeMs}\0${file}`).digest('hex').slice(0, 16);
  const dir = path.join(cacheBaseDir(), 'code-cache');
  const prefix = `cli-${id}-${command}-`;
  let generation = 0;
  let cachedData: Buffer | undefined;
  for (let g = GENERATIONS; g >= 1 && !cachedData; g--) {
    try { cachedData = fs.readFileSync(path.join(dir, `${prefix}${g}.bin`)); generation = g; } catch { /* not this one */ }
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected || generation < GENERATIONS) {
    const next = !cachedData || script.cachedDataRejected ? 1 : generation + 1;
    // After this run: the cache then holds what the run compiled, not only the top level.
    process.once('exit', () => {
      if ((mod.exports as MainModule).compiledCodeWorthKeeping?.() === false) { return; }
      try {
        fs.mkdirSync(dir, { recursive: true });
        const cacheFile = path.join(dir, `${prefix}${next}.bin`);
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
        // This command's earlier generations, and the caches of earlier bundles (another version, another
        // build), are of no use any more; other commands' caches of this bundle are theirs.
        for (const old of fs.readdirSync(dir)) {
          const anotherCommands = old.startsWith(`cli-${id}-`) && !old.startsWith(prefix);
          if (old.startsWith('cli-') && old !== path.basename(cacheFile) && !anotherCommands && !old.endsWith('.tmp')) { fs.rmSync(path.join(dir, old), { force: true }); }
        }
      } catch {
        // a read-only or full disk: the next run compiles again
      }
    });
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports as MainModule;
}

// The command's name (`build`, `status`…) names its cache; anything else shares one.
const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2]! : 'other';
load(path.join(__dirname, 'cli-main.js'), command).main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  // No input may show a user a stack trace: this is a bug of ours, said as such (DATAKIT_CI_DEBUG=1 shows where).
  const where = process.env.DATAKIT_CI_DEBUG ? `\n${(e as Error)?.stack ?? ''}` : '';
  process.stderr.write(`datakit-ci: internal error: ${e instanceof Error ? e.message : String(e)} (please report it; DATAKIT_CI_DEBUG=1 shows where)${where}\n`);
  process.exitCode = 2;
});
