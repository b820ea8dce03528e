// The wording and position of .datakit-ci.json's errors: jsonc-parser's syntax errors and ajv's schema errors
// become sentences that name the job and field, at a 1-based line and column.
import type { ErrorObject } from 'ajv';
import { printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { JOB_NAME_CHARS, jobNameProblem } from './configChecks';
import { nodeAt, property } from './jsonTree';

export interface ConfigError {
  readonly message: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units (as VS Code counts). */
  readonly column: number;
  /** 0-based offset into the text. */
  readonly offset: number;
  readonly length: number;
  /**
   * What an editor's JSON service also reports on its own when the file is open (a syntax error, a key
   * written twice); absent for what only DataKit CI checks (the schema's rules, commands, needs…); `machine`:
   * not in the file but on this machine (a command of a job's toolInputs failed here).
   */
  readonly origin?: 'syntax' | 'duplicate' | 'machine';
}

const DURATION_MESSAGE = '"timeout" must be a duration such as "90s", "10m" or "1h30m"';

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'Invalid symbol',
  InvalidNumberFormat: 'Invalid number',
  PropertyNameExpected: 'Expected a property name in double quotes',
  ValueExpected: 'Expected a value',
  ColonExpected: 'Expected ":"',
  CommaExpected: 'Expected ","',
  CloseBraceExpected: 'Expected "}"',
  CloseBracketExpected: 'Expected "]"',
  EndOfFileExpected: 'Expected the end of the file',
  InvalidCommentToken: 'Invalid comment',
  UnexpectedEndOfComment: 'Unterminated comment',
  UnexpectedEndOfString: 'Unterminated string',
  UnexpectedEndOfNumber: 'Unterminated number',
  InvalidUnicode: 'Invalid unicode escape',
  InvalidEscapeCharacter: 'Invalid escape character',
  InvalidCharacter: 'Invalid character in string',
};

/** A syntax error of jsonc-parser, as a sentence. */
export function syntaxMessage(e: ParseError): string {
  const code = printParseErrorCode(e.error);
  return SYNTAX_MESSAGES[code] ?? code;
}

/**
 * Where an error of the value of `base` (at path `prefix` in the file) points, and what it says; a job name
 * that fails the schema is told the rule, `jobNamePattern`.
 */
export function describeSchemaError(base: Node, prefix: string[], e: ErrorObject): { node: Node; message: string; object: Node } | undefined {
  const relative = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = [...prefix, ...relative];
  const node = nodeAt(base, relative);
  const described = node && describeAt(node, at, e);
  return described && { ...described, object: node };
}

function describeAt(node: Node, at: string[], e: ErrorObject): { node: Node; message: string } | undefined {
  const where = at[0] === 'jobs' && at.length >= 2 ? `job "${at[1]}"` : at[0] === 'setup' ? 'the setup' : undefined;
  const field = at.length === 3 && at[0] === 'jobs' ? at[2] : at.length === 2 && at[0] === 'setup' ? at[1] : undefined;
  const keyOf = (name: string): Node => property(node, name)?.children?.[0] ?? node;
  if (at[0] === 'jobs' && at[2] === 'problemMatcher') {
    return undefined; // checkProblemMatchers says precisely what is wrong, where
  }
  switch (e.keyword) {
    case 'type':
      return { node, message: typeMessage(at) };
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      if (at.length === 2 && at[0] === 'jobs' && node.parent?.children?.[0]) {
        return { node: node.parent.children[0], message: `Job "${at[1]}" needs "${missing}"` };
      }
      if (at.length === 1 && at[0] === 'setup' && node.parent?.children?.[0]) {
        return { node: node.parent.children[0], message: `The setup needs "${missing}"` };
      }
      return { node: { ...node, length: 1 }, message: `The configuration needs "${missing}"` };
    }
    case 'additionalProperties': {
      const name = (e.params as { additionalProperty: string }).additionalProperty;
      return { node: keyOf(name), message: where ? `Unknown field "${name}" in ${where}` : `Unknown field "${name}"` };
    }
    case 'pattern': {
      if (e.propertyName !== undefined) {
        const key = keyOf(e.propertyName);
        return at.length === 1
          ? jobNameMessage(key, e.propertyName)
          : { node: key, message: `Environment variable name "${e.propertyName}" must not be empty, nor contain "=" or a NUL character` };
      }
      if (field === 'timeout') {
        return { node, message: DURATION_MESSAGE };
      }
      if (field === 'run') {
        return { node, message: '"run" must not be empty' };
      }
      if (at[at.length - 2] === 'envInputs') {
        return { node, message: `${JSON.stringify(node.value)} in "envInputs"${where ? ` of ${where}` : ''} is not an environment variable's name: letters, digits and "_", not starting with a digit` };
      }
      if (at[at.length - 2] === 'toolInputs') {
        return { node, message: `A command of "toolInputs"${where ? ` of ${where}` : ''} must not be empty` };
      }
      return undefined; // input and output paths: checkJobs says precisely what is wrong
    }
    case 'minItems':
      return { node, message: '"inputs" must list at least one path (leave it out for the whole tree)' };
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(' or ');
      return { node, message: `"${at[at.length - 1]}"${where ? ` of ${where}` : ''} must be ${allowed}` };
    }
    case 'propertyNames':
      return undefined; // reported through the inner "pattern" error, which names the property
    case 'uniqueItems': {
      const repeated = node.children?.[(e.params as { i: number }).i] ?? node;
      return { node: repeated, message: `"${at[at.length - 1]}"${where ? ` of ${where}` : ''} lists ${JSON.stringify(repeated.value)} twice` };
    }
    default:
      return { node, message: `${e.instancePath || 'The configuration'} ${e.message ?? 'is invalid'}` };
  }
}

/** The schema's name pattern failed: the characters are wrong, or git's ref rules (said by configChecks). */
function jobNameMessage(key: Node, name: string): { node: Node; message: string } | undefined {
  const problem = jobNameProblem(name);
  if (problem === undefined || JOB_NAME_CHARS.test(name)) { return undefined; }
  return { node: key, message: `Job name "${name}" is not allowed: ${problem}` };
}

function typeMessage(at: string[]): string {
  if (at.length === 0) {
    return 'The configuration must be a JSON object with "jobs"';
  }
  if (at.length === 1) {
    return at[0] === 'jobs' ? '"jobs" must be an object of jobs by name'
      : at[0] === 'setup' ? '"setup" must be an object with "run"' : `"${at[0]}" must be a string`;
  }
  // A field of a job (jobs/<name>/<field>/…) or of the setup (setup/<field>/…).
  const rest = at[0] === 'setup' ? at.slice(1) : at.slice(2);
  if (rest.length === 0) {
    return `Job "${at[1]}" must be an object`;
  }
  const messages: Record<string, string> = {
    run: '"run" must be a string',
    inputs: '"inputs" must be an array of paths and glob patterns',
    outputs: '"outputs" must be an array of paths and glob patterns',
    env: '"env" must be an object of strings',
    timeout: DURATION_MESSAGE,
    clean: '"clean" must be true or false',
    needs: '"needs" must be an array of job names',
    setup: '"setup" must be true or false',
  };
  if (rest.length === 1) {
    return messages[rest[0]] ?? `"${rest[0]}" has the wrong type`;
  }
  const each: Record<string, string> = { inputs: 'Each input must be a string', outputs: 'Each output must be a string', needs: 'Each job in "needs" must be a name' };
  return rest[0] === 'env' ? `Environment variable "${rest[1]}" must be a string` : each[rest[0]] ?? `"${rest[0]}" has the wrong type`;
}

/** Offset → 1-based line and column; `\n`, `\r\n` and `\r` end a line. */
export function positions(text: string): (offset: number) => { line: number; column: number } {
  // Where each line starts (after \r\n, \r or \n): one pass over the characters, with no match object per line.
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) { starts.push(i + 1); }
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}
