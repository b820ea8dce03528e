// .datakit-ci.json: JSON with comments, validated by schemas/datakit-ci.schema.json (the same schema VS Code
// uses for completion), then checked for what a schema cannot say well (configChecks.ts). Every error
// carries its position; a file with any error yields no jobs at all.
import type { ErrorObject } from 'ajv';
import { parseTree, stripComments, type Node, type ParseError } from 'jsonc-parser';
import { checkDuplicates, checkJobs, checkNeeds, checkProblemMatchers, MAX_DEPTH, shown, tooDeep, trimSlash } from './configChecks';
import { describeSchemaError, positions, syntaxMessage, type ConfigError } from './configErrors';
import { schemaErrors } from './configSchema';
import { parseDuration } from './duration';
import { property, toValue } from './jsonTree';
import type { MatcherSpec } from '../problems/problemMatchers';

export type { ConfigError } from './configErrors';
export { jobNameProblem, MAX_TIMEOUT_MS, pathProblem } from './configChecks';
export { loadConfigSchema, SCHEMA_FILE } from './configSchema';

export const CONFIG_FILE = '.datakit-ci.json';
export const DEFAULT_TIMEOUT = '30m';

export interface JobDefinition {
  readonly name: string;
  readonly run: string;
  /**
   * Plain paths and globs (`!` excludes) as written, without a trailing `/` and without repeats; absent:
   * the whole tree.
   */
  readonly inputs?: string[];
  readonly outputs: string[];
  readonly env: Record<string, string>;
  /** Environment variables whose values are part of the key, as written (absent: none). */
  readonly envInputs?: string[];
  /** Commands whose output is part of the key (`node --version`), as written (absent: none). */
  readonly toolInputs?: string[];
  readonly timeoutMs: number;
  /** As written, or `DEFAULT_TIMEOUT`. */
  readonly timeout: string;
  readonly clean: boolean;
  /** The jobs that must succeed first, in the order written (empty when none). */
  readonly needs: string[];
  /** Whether the job starts with the top-level setup's products (always false when there is no setup). */
  readonly setup: boolean;
  /** Its result holds on any OS and architecture (`"portable": true`): they are left out of its key. */
  readonly portable?: boolean;
  /**
   * How its log becomes problems (problemMatchers.ts), as written; absent: the default matcher. Presentation
   * only: not part of the key (normalizeJob leaves it out).
   */
  readonly problemMatcher?: MatcherSpec;
  /**
   * `marked`: stderr is read apart and shown in the error colour in the log (the order between the two streams
   * is then approximate); absent: merged in write order. Presentation only: not part of the key.
   */
  readonly stderr?: 'marked';
}

/** The top-level `setup`: installs dependencies once per key of its own inputs. */
export interface SetupDefinition {
  readonly run: string;
  readonly inputs?: string[];
  readonly env: Record<string, string>;
  readonly envInputs?: string[];
  readonly toolInputs?: string[];
  readonly timeoutMs: number;
  readonly timeout: string;
}

/** Where something is written in the file (1-based line and column, 0-based offset). */
export interface Position {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
}

/** Where each job's parts are written, for messages about them (e.g. an input that matches nothing). */
export interface JobPositions {
  readonly name: Position;
  readonly inputs: Position[];
  readonly outputs: Position[];
}

export interface Config {
  /** In file order. */
  readonly jobs: JobDefinition[];
  readonly setup?: SetupDefinition;
  /** By job name; `setup` under the key `""`. */
  readonly positions: Readonly<Record<string, JobPositions>>;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

export function parseConfig(text: string): ConfigResult {
  const errors: ConfigError[] = [];
  const at = positions(text);
  const report = (offset: number, length: number, message: string, origin?: ConfigError['origin']): void => {
    errors.push({ message: shown(message), ...at(offset), offset, length, ...(origin ? { origin } : {}) });
  };
  // Parsing and validating recurse: a file nested thousands of levels deep is refused before either.
  const deep = tooDeep(text);
  if (deep !== undefined) {
    report(deep, 1, `The file nests deeper than ${MAX_DEPTH} levels`);
    return { ok: false, errors };
  }
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { allowTrailingComma: true, disallowComments: false });
  /** The file's value, validated against the schema; what the jobs are read from once nothing is wrong. */
  let rootValue: unknown;
  if (!root && stripComments(text).trim() === '') {
    report(0, 0, 'The file is empty: it must be a JSON object with "jobs"');
    return { ok: false, errors };
  }
  for (const e of syntax) {
    report(e.offset, e.length, syntaxMessage(e), 'syntax');
  }
  if (root) {
    const describeAll = (errs: ErrorObject[], base: Node, prefix: string[]): void => {
      for (const e of errs) {
        const found = describeSchemaError(base, prefix, e);
        // An object cut short by a syntax error is not also missing what it may have held.
        const cut = found && e.keyword === 'required' && syntax.some((s) => s.offset >= found.object.offset && s.offset <= found.object.offset + found.object.length);
        if (found && !cut) {
          report(found.node.offset, found.node.length, found.message);
        }
      }
    };
    rootValue = toValue(root);
    describeAll(schemaErrors('', rootValue), root, []);
    // A job shadowed by a later one of the same name is not in the value validated above: check it alone.
    const jobs = property(root, 'jobs')?.children?.[1];
    const props = jobs?.type === 'object' ? jobs.children ?? [] : [];
    // Where each name is last: one pass, not a look through every later job for each job.
    const last = new Map(props.map((prop, i) => [prop.children?.[0].value, i]));
    props.forEach((prop, i) => {
      const [key, value] = prop.children ?? [];
      if (value && last.get(key.value) !== i) {
        describeAll(schemaErrors('#/definitions/job', toValue(value)), value, ['jobs', key.value as string]);
      }
    });
    checkDuplicates(root, [], (offset, length, message) => report(offset, length, message, 'duplicate'));
    checkJobs(root, report);
    checkNeeds(root, report);
    checkProblemMatchers(root, report);
  }
  if (errors.length > 0) {
    const unique = new Map(errors.map((e) => [`${e.offset}:${e.message}`, e]));
    return { ok: false, errors: [...unique.values()].sort((a, b) => a.offset - b.offset) };
  }
  return { ok: true, config: readConfig(root as Node, rootValue as RawRoot, at) };
}

/**
 * The canonical JSON of a definition, for the cache key: sorted keys, defaults filled, inputs sorted and
 * without repeats or trailing `/`. Outputs and needs keep their order (negations may depend on it). The
 * problem matcher is left out: it only reads the log, so changing it must reuse the result.
 */
export function normalizeJob(job: JobDefinition): string {
  return JSON.stringify({
    clean: job.clean, env: sortedEnv(job.env), inputs: sortedInputs(job.inputs), name: job.name, needs: [...job.needs],
    outputs: [...job.outputs], platform: job.portable ? null : PLATFORM, run: job.run, setup: job.setup, timeoutMs: job.timeoutMs,
    ...runtimeFields(job),
  });
}

/**
 * The declared runtime inputs, sorted, only when declared: a job that declares none keeps the key it had
 * before they existed. (Their values are in the key too: see keys/runtimeInputs.ts.)
 */
function runtimeFields(d: { envInputs?: string[]; toolInputs?: string[] }): { envInputs?: string[]; toolInputs?: string[] } {
  return {
    ...(d.envInputs?.length ? { envInputs: [...new Set(d.envInputs)].sort(byCodeUnit) } : {}),
    ...(d.toolInputs?.length ? { toolInputs: [...new Set(d.toolInputs)].sort(byCodeUnit) } : {}),
  };
}

/**
 * The OS and architecture a result was built on, part of every key (a job's unless it is `portable`; the
 * setup's always: installed dependencies hold native code): results shared through a remote by a Linux CI
 * are not reused on a Mac.
 */
export const PLATFORM = `${process.platform}-${process.arch}`;

/** The canonical JSON of the setup, for its key (see normalizeJob). */
export function normalizeSetup(setup: SetupDefinition): string {
  return JSON.stringify({ env: sortedEnv(setup.env), inputs: sortedInputs(setup.inputs), platform: PLATFORM, run: setup.run, timeoutMs: setup.timeoutMs, ...runtimeFields(setup) });
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => byCodeUnit(a, b)));
}

function sortedInputs(inputs: string[] | undefined): string[] | null {
  return inputs ? [...new Set(inputs.map(trimSlash))].sort(byCodeUnit) : null;
}

type RawRuntime = { envInputs?: string[]; toolInputs?: string[] };
type RawJob = RawRuntime & { run: string; inputs?: string[]; outputs?: string[]; env?: Record<string, string>; timeout?: string; clean?: boolean; needs?: string[]; setup?: boolean; portable?: boolean; problemMatcher?: MatcherSpec; stderr?: 'merged' | 'marked' };

/** `envInputs` and `toolInputs` as written (plain arrays: the syntax tree's have no prototype), when not empty. */
function declaredRuntime(raw: RawRuntime): { envInputs?: string[]; toolInputs?: string[] } {
  return {
    ...(raw.envInputs?.length ? { envInputs: [...raw.envInputs] } : {}),
    ...(raw.toolInputs?.length ? { toolInputs: [...raw.toolInputs] } : {}),
  };
}

/** The file's value as the schema passed it (prototype-less objects, no repeated key: both refused before). */
type RawRoot = { setup?: unknown; jobs?: Record<string, unknown> };

/** The definitions from the file's value (toValue of `root`, which only gives the positions). */
function readConfig(root: Node, value: RawRoot, at: (offset: number) => { line: number; column: number }): Config {
  // Written out, not spread: one for the name, each input and output of every job, on every build.
  const position = (n: Node): Position => {
    const { line, column } = at(n.offset);
    return { line, column, offset: n.offset, length: n.length };
  };
  const itemPositions = (value: Node | undefined, field: string): Position[] =>
    (property(value as Node, field)?.children?.[1]?.children ?? []).map(position);
  const setupNode = property(root, 'setup')?.children?.[1];
  const rawSetup = setupNode ? value.setup as RawRuntime & { run: string; inputs?: string[]; env?: Record<string, string>; timeout?: string } : undefined;
  const setup: SetupDefinition | undefined = rawSetup && {
    run: rawSetup.run,
    ...(rawSetup.inputs ? { inputs: [...new Set(rawSetup.inputs.map(trimSlash))] } : {}),
    env: Object.fromEntries(Object.entries(rawSetup.env ?? {})),
    ...declaredRuntime(rawSetup),
    timeoutMs: parseDuration(rawSetup.timeout ?? DEFAULT_TIMEOUT) as number,
    timeout: rawSetup.timeout ?? DEFAULT_TIMEOUT,
  };
  const positions: Record<string, JobPositions> = {};
  if (setupNode) {
    positions[''] = { name: position(property(root, 'setup')!.children![0]), inputs: itemPositions(setupNode, 'inputs'), outputs: [] };
  }
  const jobsNode = property(root, 'jobs')?.children?.[1];
  const jobs = (jobsNode?.children ?? []).map((prop): JobDefinition => {
    const [key, node] = prop.children as [Node, Node];
    const name = key.value as string;
    const raw = value.jobs![name] as RawJob;
    const timeout = raw.timeout ?? DEFAULT_TIMEOUT;
    positions[name] = { name: position(key), inputs: itemPositions(node, 'inputs'), outputs: itemPositions(node, 'outputs') };
    return {
      name,
      run: raw.run,
      ...(raw.inputs ? { inputs: [...new Set(raw.inputs.map(trimSlash))] } : {}),
      outputs: raw.outputs ? [...raw.outputs] : [],
      env: Object.fromEntries(Object.entries(raw.env ?? {})),
      ...declaredRuntime(raw),
      timeoutMs: parseDuration(timeout) as number,
      timeout,
      clean: raw.clean ?? false,
      needs: [...new Set(raw.needs ?? [])],
      setup: setup !== undefined && raw.setup !== false,
      ...(raw.portable ? { portable: true } : {}),
      // As plain JSON (the syntax tree's objects have no prototype).
      ...(raw.problemMatcher !== undefined ? { problemMatcher: JSON.parse(JSON.stringify(raw.problemMatcher)) as MatcherSpec } : {}),
      ...(raw.stderr === 'marked' ? { stderr: 'marked' as const } : {}),
    };
  });
  return { jobs, ...(setup ? { setup } : {}), positions };
}
