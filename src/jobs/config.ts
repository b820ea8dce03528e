// .datakit-ci.json: JSON with comments, validated by schemas/datakit-ci.schema.json (the same schema VS Code
// uses for completion), then checked for what a schema cannot say well (configChecks.ts). Every error
// carries its position; a file with any error yields no jobs at all.
import type { ErrorObject } from 'ajv';
import { parseTree, stripComments, type Node, type ParseError } from 'jsonc-parser';
import { checkDuplicates, checkJobs, MAX_DEPTH, shown, tooDeep, trimSlash } from './configChecks';
import { describeSchemaError, positions, syntaxMessage, type ConfigError } from './configErrors';
import { schemaErrors } from './configSchema';
import { parseDuration } from './duration';
import { property, toValue } from './jsonTree';

export type { ConfigError } from './configErrors';
export { jobNameProblem, MAX_TIMEOUT_MS, pathProblem } from './configChecks';
export { loadConfigSchema, SCHEMA_FILE } from './configSchema';

export const CONFIG_FILE = '.datakit-ci.json';
export const DEFAULT_TIMEOUT = '30m';

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
    errors.push({ message: shown(message), ...at(offset), offset, length });
  };
  // Parsing and validating recurse: a file nested thousands of levels deep is refused before either.
  const deep = tooDeep(text);
  if (deep !== undefined) {
    report(deep, 1, `The file nests deeper than ${MAX_DEPTH} levels`);
    return { ok: false, errors };
  }
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
        const found = describeSchemaError(base, prefix, e);
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
