// Reads a job's runtime inputs (keys/runtimeInputs.ts): the variables from the environment, the commands run
// as a job's would be (the same environment, its \`env\`, a process group killed on timeout).
import { createHash } from 'node:crypto';
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { plain } from '../../shared/format';
import type { RuntimeDeclaration, RuntimeProbe, RuntimeValues } from '../keys/runtimeInputs';
import { jobEnvironment } from './environment';
import { runJobProcess } from './process';

/** How long a tool's command may run, and how much of its output is kept as is (more is kept as its digest). */
export const TOOL_TIMEOUT_MS = 30_000;
const SHOWN_OUTPUT = 400;

export interface RuntimeProbeOptions {
  /** Where the commands run (the repository's folder). */
  readonly cwd: string;
  /** The environment the variables are read from, and the commands inherit (as a job would). */
  readonly environment: NodeJS.ProcessEnv;
  /**
   * How long a command's output is reused (ms; default: for the life of the probe, as one command-line run
   * needs): the editor, which lives for days, asks again after this.
   */
  readonly reuseMs?: number;
}

/** Reads the variables and runs the commands, each command once (per environment) while its output is reused. */
export class ProcessRuntimeProbe implements RuntimeProbe {
  private readonly outputs = new Map<string, { at: number; output: Promise<string> }>();

  constructor(private readonly options: RuntimeProbeOptions) {}

  /** The values of what `d` declares; undefined when it declares nothing (its key is then as before). */
  async valuesOf(d: RuntimeDeclaration): Promise<RuntimeValues | undefined> {
    if (!d.envInputs?.length && !d.toolInputs?.length) { return undefined; }
    const env: Record<string, string | null> = {};
    // A variable the job sets itself (`env`) is that value, whatever the caller's environment says.
    // A value's digest, never the value: a key.json is pushed to the team's remote, and a variable may hold a token.
    for (const name of [...d.envInputs ?? []].sort()) {
      const value = d.env[name] ?? this.options.environment[name];
      env[name] = value === undefined ? null : `sha256:${createHash('sha256').update(value).digest('hex')}`;
    }
    const tools: Record<string, string> = {};
    for (const command of [...d.toolInputs ?? []].sort()) { tools[command] = await this.run(command, d); }
    return { env, tools };
  }

  private run(command: string, d: RuntimeDeclaration): Promise<string> {
    const env = jobEnvironment(this.options.environment, d.env, { job: 'toolInputs', commit: '', key: '', run: `tool-${process.pid}`, ceiling: this.options.cwd });
    const id = JSON.stringify([command, Object.entries(d.env).sort()]);
    const known = this.outputs.get(id);
    const reuse = this.options.reuseMs ?? Infinity;
    if (known && Date.now() - known.at < reuse) { return known.output; }
    const own = ownNodeVersion(command, this.options.cwd, env);
    const output = own !== undefined ? Promise.resolve(own) : runTool(command, this.options.cwd, env, d.who);
    // A failure is said each time, never remembered as a value (nor does it drop a newer run's output).
    output.catch(() => { if (this.outputs.get(id)?.output === output) { this.outputs.delete(id); } });
    this.outputs.set(id, { at: Date.now(), output });
    return output;
  }
}

/**
 * What `node --version` (or `node -v`) prints, known without starting it, when the `node` that the shell would
 * start is the very executable running this: a Node prints the version built into it, which is this process's
 * `process.version` (the one command `init` declares for every npm project, so that a cached build starts no
 * process). Undefined — the command is run — for any other command, on Windows, and whenever the shell might
 * start something else or fail: PATH unset, the first `node` on PATH another file (a wrapper, another version,
 * a `node` in node_modules/.bin), functions exported to a bash (`BASH_FUNC_…`), a NODE_OPTIONS other than this
 * process's (Node checks it before printing its version and refuses a bad one; this process's was accepted by
 * this very executable), no directory to run in.
 */
export function ownNodeVersion(command: string, cwd: string, env: Readonly<Record<string, string>>): string | undefined {
  if (process.platform === 'win32' || !/^node[ \t]+(--version|-v)$/.test(command.trim())) { return undefined; }
  if (env.PATH === undefined || (env.NODE_OPTIONS ?? '') !== (process.env.NODE_OPTIONS ?? '') || Object.keys(env).some((k) => k.startsWith('BASH_FUNC_'))) { return undefined; }
  try {
    if (!fs.statSync(cwd).isDirectory()) { return undefined; }
    const found = firstOnPath('node', env.PATH, cwd);
    return found !== undefined && fs.realpathSync(found) === fs.realpathSync(process.execPath) ? process.version : undefined;
  } catch {
    return undefined;
  }
}

/** The file a POSIX shell runs for `name`: the first executable regular file along PATH (an empty entry: `cwd`). */
function firstOnPath(name: string, pathVariable: string, cwd: string): string | undefined {
  for (const dir of pathVariable.split(':')) {
    const file = path.resolve(cwd, dir, name);
    try {
      if (!fs.statSync(file).isFile()) { continue; }
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here (or not executable): the shell looks on
    }
  }
  return undefined;
}

/** The command's output (stdout and stderr, trailing space trimmed), or its digest when long. */
async function runTool(command: string, cwd: string, env: Record<string, string>, who: string): Promise<string> {
  let text = '';
  try {
    await runJobProcess({ command, cwd, env, timeoutMs: TOOL_TIMEOUT_MS, onOutput: (t) => { if (text.length < 1024 * 1024) { text += t; } } });
  } catch (e) {
    // The command's own words (it may print anything): neutralised before a terminal or a tree label shows them.
    const said = plain(text.trim().split('\n').slice(-3).join(' / '));
    throw new DataKitError('ToolInputFailed', `toolInputs "${command}" of ${who} failed (${(e as Error).message})${said ? `: ${said}` : ''}; its output is part of the key, so nothing was built`, { job: who });
  }
  const out = text.replace(/\s+$/, '');
  return out.length <= SHOWN_OUTPUT ? out : `sha256:${createHash('sha256').update(out).digest('hex')}`;
}
