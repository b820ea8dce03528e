// What the schema cannot say well about .datakit-ci.json, checked on its syntax tree so that each mistake
// has a position: nesting, duplicate keys, job names (the same rule as git's ref names, since a job's name
// is part of its results' branch), paths, timeouts, and what the operating system can take as a command.
import type { Node } from 'jsonc-parser';
import { refNameProblem } from '../../store/git/names';
import { DURATION_PATTERN, parseDuration } from './duration';
import { nodeAt, property, toValue } from './jsonTree';
import { matcherSpecProblems } from '../problems/problemMatchers';

export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** A real configuration is a few levels deep; past this the file is refused before it is parsed. */
export const MAX_DEPTH = 32;
/** Linux takes at most 128 KiB (MAX_ARG_STRLEN, its NUL included) in one argument or environment entry. */
export const MAX_ARG_BYTES = 128 * 1024 - 1;
/** A job's command and variables together; the rest of the system's argument space (2 MiB at least) is the caller's environment's. */
export const MAX_COMMAND_BYTES = 1024 * 1024;

/** The characters of a job name, as the schema says them too. */
export const JOB_NAME_CHARS = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export type Report = (offset: number, length: number, message: string) => void;

/** Why `name` cannot be a job's name, or undefined: its characters, then git's ref-name rules. */
export function jobNameProblem(name: string): string | undefined {
  if (!JOB_NAME_CHARS.test(name)) {
    return 'use lower case letters, digits, ".", "_" and "-", starting with a letter or digit, up to 64 characters';
  }
  return refNameProblem(name);
}

/**
 * Where the text nests deeper than `max` levels (the offset of the brace or bracket past it), or undefined:
 * scanned without recursion, and read as jsonc-parser's scanner reads it (strings end at a quote or a line
 * break, a backslash takes the next character, `//` and `/*` comments), one character at a time: its tokens
 * cost twice the parse every configuration is read with (configChecks.test.ts compares the two).
 */
export function tooDeep(text: string, max = MAX_DEPTH): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) { // { [
      if (++depth > max) { return i; }
    } else if (c === 0x7d || c === 0x5d) { // } ]
      depth = Math.max(0, depth - 1);
    } else if (c === 0x22) { // a string: to its closing quote, or to the end of its line
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x22 || d === 0x0a || d === 0x0d) { break; }
        if (d === 0x5c) { i++; }
      }
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2f) { // a line comment
      for (i += 2; i < text.length && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d; i++) { /* skipped */ }
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) { // a block comment, maybe never closed
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    }
  }
  return undefined;
}

export function trimSlash(p: string): string {
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Why `p` is not a valid input or output path, or `undefined` if it is (the schema's `path` pattern). */
export function pathProblem(p: string): string | undefined {
  if (p === '') {
    return 'is empty';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) {
    return 'contains a control character (a newline, a tab, NUL…)';
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
  // The results repository refuses to save a `.git` (in any case), as git does: refused here, before anything runs.
  if (segments.some((s) => s.toLowerCase() === '.git')) {
    return 'must not name a ".git" folder (no commit and no saved result can hold one)';
  }
  return undefined;
}

export function checkDuplicates(node: Node, at: string[], report: Report): void {
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

/** A message as shown: what the file holds, control characters escaped so that it stays on one line. */
export function shown(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Job names, paths, timeouts, and what the system can run, of every job (duplicates included) and the setup. */
export function checkJobs(root: Node, report: Report): void {
  const setup = property(root, 'setup');
  if (setup?.children?.[1]?.type === 'object') {
    checkCommand(setup.children[1], setup.children[0], 'Setup', report);
  }
  const jobs = property(root, 'jobs')?.children?.[1];
  for (const job of jobs?.type === 'object' ? jobs.children ?? [] : []) {
    const [name, value] = job.children ?? [];
    const nameProblem = typeof name?.value === 'string' ? jobNameProblem(name.value) : undefined;
    // A name with the wrong characters is reported by the schema; git's rules are said here.
    if (nameProblem && JOB_NAME_CHARS.test(name.value as string)) {
      report(name.offset, name.length, `Job name "${name.value as string}" is not allowed: ${nameProblem} (a job's name is part of its results' git branch)`);
    }
    if (value?.type === 'object' && name) {
      checkCommand(value, name, `Job "${name.value as string}"`, report);
    }
  }
}

/** The fields a job and the setup share: paths, timeout, run and env within what the system can run. */
function checkCommand(value: Node, name: Node, who: string, report: Report): void {
  let commandBytes = 0;
  for (const field of value.children ?? []) {
    const [key, v] = field.children ?? [];
    if ((key.value === 'inputs' || key.value === 'outputs') && v?.type === 'array') {
      const what = key.value === 'inputs' ? 'Input' : 'Output';
      for (const item of v.children ?? []) {
        const problem = item.type === 'string' ? patternProblem(item.value as string) : undefined;
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
    if (key.value === 'run' && v?.type === 'string') {
      const run = v.value as string;
      commandBytes += bytes(run);
      if (run.includes('\0')) {
        report(v.offset, v.length, '"run" must not contain a NUL character');
      } else if (bytes(run) > MAX_ARG_BYTES) {
        report(v.offset, v.length, `"run" is ${bytes(run)} bytes; the system takes at most ${MAX_ARG_BYTES} in one command (put a long script in a file)`);
      }
    }
    if (key.value === 'env' && v?.type === 'object') {
      for (const entry of v.children ?? []) {
        const [k, val] = entry.children ?? [];
        const envName = k?.value as string;
        if (typeof val?.value !== 'string') { continue; }
        const entryBytes = bytes(envName) + 1 + bytes(val.value as string);
        commandBytes += entryBytes + 1;
        if ((val.value as string).includes('\0')) {
          report(val.offset, val.length, `Environment variable "${envName}" must not contain a NUL character`);
        } else if (entryBytes > MAX_ARG_BYTES) {
          report(val.offset, val.length, `Environment variable "${envName}" is ${entryBytes} bytes; the system takes at most ${MAX_ARG_BYTES} in one variable`);
        }
      }
    }
  }
  if (commandBytes > MAX_COMMAND_BYTES) {
    report(name.offset, name.length, `${who}: its "run" and "env" take ${commandBytes} bytes, more than the ${MAX_COMMAND_BYTES} a command may have`);
  }
}

/** An input or output: a path or a glob, `!` in front to exclude. */
function patternProblem(p: string): string | undefined {
  if (p.startsWith('!')) {
    return p === '!' ? 'excludes nothing: write what to exclude after "!"' : pathProblem(p.slice(1));
  }
  return pathProblem(p);
}

/** Every job named in `needs` exists and is not the job itself, and no chain of needs comes back to its start. */
export function checkNeeds(root: Node, report: Report): void {
  const jobs = property(root, 'jobs')?.children?.[1];
  if (jobs?.type !== 'object') { return; }
  const names = new Set((jobs.children ?? []).map((p) => p.children?.[0]?.value as string));
  const edges = new Map<string, { to: string; node: Node }[]>();
  for (const job of jobs.children ?? []) {
    const [key, value] = job.children ?? [];
    const name = key?.value as string;
    const needs = value?.type === 'object' ? property(value, 'needs')?.children?.[1] : undefined;
    const list: { to: string; node: Node }[] = [];
    for (const item of needs?.type === 'array' ? needs.children ?? [] : []) {
      if (item.type !== 'string') { continue; }
      const to = item.value as string;
      if (to === name) {
        report(item.offset, item.length, `Job "${name}" cannot need itself`);
      } else if (!names.has(to)) {
        report(item.offset, item.length, `Job "${name}" needs "${to}", which is not a job of this file`);
      } else {
        list.push({ to, node: item });
      }
    }
    edges.set(name, list);
  }
  // Depth-first: an edge back to a job on the current path closes a cycle; each is reported once, where
  // it is written.
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'active');
    path.push(name);
    for (const { to, node } of edges.get(name) ?? []) {
      if (state.get(to) === 'active') {
        const cycle = [...path.slice(path.indexOf(to)), to];
        report(node.offset, node.length, `Job "${name}" needs "${to}": a cycle (${cycle.join(' → ')})`);
      } else if (!state.has(to)) {
        visit(to);
      }
    }
    path.pop();
    state.set(name, 'done');
  };
  for (const name of edges.keys()) {
    if (!state.has(name)) { visit(name); }
  }
}

/**
 * Each job's `problemMatcher`: a known name, patterns whose `regexp` is a JavaScript regular expression, the
 * groups VS Code requires; each problem where it is written (the schema's errors below it are not reported).
 */
export function checkProblemMatchers(root: Node, report: Report): void {
  const jobs = property(root, 'jobs')?.children?.[1];
  for (const job of jobs?.type === 'object' ? jobs.children ?? [] : []) {
    const [name, value] = job.children ?? [];
    const matcher = value?.type === 'object' ? property(value, 'problemMatcher')?.children?.[1] : undefined;
    if (!matcher) { continue; }
    for (const problem of matcherSpecProblems(toValue(matcher))) {
      const node = nodeAt(matcher, problem.at.map(String)) ?? matcher;
      report(node.offset, node.length, `Job "${name.value as string}": ${problem.message}`);
    }
  }
}
