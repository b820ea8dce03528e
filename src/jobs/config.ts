// .datakit-ci.json: JSON with comments, validated by schemas/datakit-ci.schema.json (the same schema VS Code
// uses for completion), then checked for what a schema cannot say well: duplicate keys, path mistakes,
// timeout range. Every error carries its position; a file with any error yields no jobs at all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseTree, stripComments, type Node, type ParseError } from 'jsonc-parser';
import { DataKitError } from '../shared/errors';
import { describeSchemaError, positions, syntaxMessage, type ConfigError } from './configErrors';
import { DURATION_PATTERN, parseDuration } from './duration';
import { property, toValue } from './jsonTree';

export type { ConfigError } from './configErrors';

export const CONFIG_FILE = '.datakit-ci.json';
export const SCHEMA_FILE = 'schemas/datakit-ci.schema.json';
export const DEFAULT_TIMEOUT = '30m';
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface JobDefinition {
  readonly name: string;
  readonly run: string;
  /** Repository paths as written, without a trailing `/` and without repeats; absent: the whole tree. */
  readonly inputs?: string[];
  readonly outputs: string[];
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** As written, or `DEFAULT_TIMEOUT`. */
  readonly timeout: string;
  readonly clean: boolean;
}

export interface Config {
  /** In file order. */
  readonly jobs: JobDefinition[];
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

export function parseConfig(text: string): ConfigResult {
  const errors: ConfigError[] = [];
  const at = positions(text);
  const report = (offset: number, length: number, message: string): void => {
    errors.push({ message, ...at(offset), offset, length });
  };
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { allowTrailingComma: true, disallowComments: false });
  if (!root && stripComments(text).trim() === '') {
    report(0, 0, 'The file is empty: it must be a JSON object with "jobs"');
    return { ok: false, errors };
  }
  for (const e of syntax) {
    report(e.offset, e.length, syntaxMessage(e));
  }
  if (root) {
    const describeAll = (errs: ErrorObject[], base: Node, prefix: string[]): void => {
      for (const e of errs) {
        const found = describeSchemaError(base, prefix, e, JOB_NAME_PATTERN);
        // An object cut short by a syntax error is not also missing what it may have held.
        const cut = found && e.keyword === 'required' && syntax.some((s) => s.offset >= found.object.offset && s.offset <= found.object.offset + found.object.length);
        if (found && !cut) {
          report(found.node.offset, found.node.length, found.message);
        }
      }
    };
    describeAll(schemaErrors('', toValue(root)), root, []);
    // A job shadowed by a later one of the same name is not in the value validated above: check it alone.
    const jobs = property(root, 'jobs')?.children?.[1];
    const props = jobs?.type === 'object' ? jobs.children ?? [] : [];
    props.forEach((prop, i) => {
      const [key, value] = prop.children ?? [];
      if (value && props.slice(i + 1).some((later) => later.children?.[0].value === key.value)) {
        describeAll(schemaErrors('#/definitions/job', toValue(value)), value, ['jobs', key.value as string]);
      }
    });
    checkDuplicates(root, [], report);
    checkJobs(root, report);
  }
  if (errors.length > 0) {
    const unique = new Map(errors.map((e) => [`${e.offset}:${e.message}`, e]));
    return { ok: false, errors: [...unique.values()].sort((a, b) => a.offset - b.offset) };
  }
  return { ok: true, config: { jobs: readJobs(root as Node) } };
}

/**
 * The canonical JSON of a definition, for the cache key: sorted keys, defaults filled, inputs sorted and
 * without repeats or trailing `/`. Outputs keep their order (negated globs may depend on it).
 */
export function normalizeJob(job: JobDefinition): string {
  const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const env = Object.fromEntries(Object.entries(job.env).sort(([a], [b]) => byCodeUnit(a, b)));
  const inputs = job.inputs ? [...new Set(job.inputs.map(trimSlash))].sort(byCodeUnit) : null;
  return JSON.stringify({
    clean: job.clean, env, inputs, name: job.name, outputs: [...job.outputs], run: job.run, timeoutMs: job.timeoutMs,
  });
}

/** Why `p` is not a valid input or output path, or `undefined` if it is (the schema's `path` pattern). */
export function pathProblem(p: string): string | undefined {
  if (p === '') {
    return 'is empty';
  }
  if (p.includes('\\')) {
    return 'must separate its parts with "/", not "\\"';
  }
  if (p.startsWith('/') || /^[A-Za-z]:(\/|$)/.test(p)) {
    return 'must be relative to the repository root';
  }
  const segments = trimSlash(p).split('/');
  if (segments.includes('')) {
    return 'has an empty part ("//")';
  }
  if (segments.includes('..')) {
    return 'must not contain ".."';
  }
  if (segments.includes('.')) {
    return 'must not contain "."';
  }
  return undefined;
}

function trimSlash(p: string): string {
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

function readJobs(root: Node): JobDefinition[] {
  const jobs = property(root, 'jobs')?.children?.[1];
  return (jobs?.children ?? []).map((prop) => {
    const [key, value] = prop.children as [Node, Node];
    const raw = toValue(value) as { run: string; inputs?: string[]; outputs?: string[]; env?: Record<string, string>; timeout?: string; clean?: boolean };
    const timeout = raw.timeout ?? DEFAULT_TIMEOUT;
    return {
      name: key.value as string,
      run: raw.run,
      ...(raw.inputs ? { inputs: [...new Set(raw.inputs.map(trimSlash))] } : {}),
      outputs: raw.outputs ? [...raw.outputs] : [],
      env: Object.fromEntries(Object.entries(raw.env ?? {})),
      timeoutMs: parseDuration(timeout) as number,
      timeout,
      clean: raw.clean ?? false,
    };
  });
}

// ---- schema validation (configErrors turns ajv's errors into positions and sentences)

let ajv: Ajv | undefined;

/** Errors of `value` against the schema (`pointer` '') or a part of it (e.g. `#/definitions/job`). */
function schemaErrors(pointer: string, value: unknown): ErrorObject[] {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: true });
    // VS Code's own keywords for hover, completion and messages.
    ajv.addVocabulary(['markdownDescription', 'defaultSnippets', 'patternErrorMessage']);
    ajv.addSchema(loadConfigSchema(), 'config');
  }
  const validate = ajv.getSchema(`config${pointer}`) as ValidateFunction;
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** The schema, found next to the code whether it runs from `out/src/jobs` (tests) or from a `dist` bundle. */
export function loadConfigSchema(): object {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, SCHEMA_FILE);
    if (fs.existsSync(file)) {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as object;
    }
    if (path.dirname(dir) === dir) {
      throw new DataKitError('SchemaNotFound', `${SCHEMA_FILE} was not found above ${__dirname}`);
    }
  }
}

// ---- checks on the syntax tree

type Report = (offset: number, length: number, message: string) => void;

function checkDuplicates(node: Node, at: string[], report: Report): void {
  if (node.type === 'object') {
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const [key, value] = prop.children ?? [];
      const name = key.value as string;
      if (seen.has(name)) {
        const message = at.length === 0 ? `Duplicate field "${name}"`
          : at.length === 1 && at[0] === 'jobs' ? `Duplicate job "${name}"`
            : at.length === 2 && at[0] === 'jobs' ? `Duplicate field "${name}" in job "${at[1]}"`
              : at.length === 3 && at[2] === 'env' ? `Duplicate environment variable "${name}"`
                : `Duplicate key "${name}"`;
        report(key.offset, key.length, message);
      }
      seen.add(name);
      if (value) {
        checkDuplicates(value, [...at, name], report);
      }
    }
  } else if (node.type === 'array') {
    node.children?.forEach((child, i) => checkDuplicates(child, [...at, String(i)], report));
  }
}

/** Paths and timeouts of every job, duplicates included (each is an error of its own). */
function checkJobs(root: Node, report: Report): void {
  const jobs = property(root, 'jobs')?.children?.[1];
  for (const job of jobs?.type === 'object' ? jobs.children ?? [] : []) {
    const value = job.children?.[1];
    for (const field of value?.type === 'object' ? value.children ?? [] : []) {
      const [key, v] = field.children ?? [];
      if ((key.value === 'inputs' || key.value === 'outputs') && v?.type === 'array') {
        const what = key.value === 'inputs' ? 'Input' : 'Output';
        for (const item of v.children ?? []) {
          const problem = item.type === 'string' ? pathProblem(item.value as string) : undefined;
          if (problem) {
            report(item.offset, item.length, `${what} "${item.value as string}" ${problem}`);
          }
        }
      }
      if (key.value === 'timeout' && v?.type === 'string') {
        const ms = parseDuration(v.value as string);
        if (ms === 0) {
          report(v.offset, v.length, '"timeout" must be longer than 0s');
        } else if (ms === undefined ? DURATION_PATTERN.test(v.value as string) : ms > MAX_TIMEOUT_MS) {
          // (a well-formed duration too large for parseDuration is too long as well)
          report(v.offset, v.length, '"timeout" must be at most 24h');
        }
      }
    }
  }
}
