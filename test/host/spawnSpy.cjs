// Preloaded (NODE_OPTIONS=--require) into the processes of the untrusted run: records every process that
// the process starts, with the stack that started it, so the suite can prove the extension started none.
const cp = require('child_process');
const calls = [];
globalThis.__datakitCiSpawns = calls;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = cp[name];
  cp[name] = function (...args) {
    calls.push({ fn: name, command: String(args[0]), stack: new Error().stack });
    return original.apply(this, args);
  };
}
