// The matchers a job can name (VS Code's, as data) and the default one for a job that names none; the shapes
// are in matcherTypes.ts, the checks in problemMatchers.ts.
import { DEFAULT_MATCHER } from './default/defaultReader';
import type { Matcher, MatcherObjectSpec } from './matcherTypes';

const RELATIVE: MatcherObjectSpec['fileLocation'] = ['relative', '${cwd}'];

/**
 * VS Code's own matchers (`problemMatcher.ts`), those of the extensions it ships (typescript-language-features:
 * `$tsc`, `$tsc-watch`; less: `$lessc`), and `$gcc` of the C/C++ extension (ms-vscode.cpptools), which
 * tasks.json files name as often as any. The regular expressions are theirs, unchanged.
 */
export const BUILTIN_MATCHERS: Readonly<Record<string, MatcherObjectSpec>> = {
  $tsc: {
    owner: 'typescript', source: 'ts', fileLocation: RELATIVE,
    pattern: { regexp: '^([^\\s].*)[\\(:](\\d+)[,:](\\d+)(?:\\):\\s+|\\s+-\\s+)(error|warning|info)\\s+TS(\\d+)\\s*:\\s*(.*)$', file: 1, line: 2, column: 3, severity: 4, code: 5, message: 6 },
  },
  '$tsc-watch': {
    // The same pattern; its begin and end patterns only matter to a task that keeps running.
    owner: 'typescript', source: 'ts', fileLocation: RELATIVE,
    pattern: { regexp: '^([^\\s].*)[\\(:](\\d+)[,:](\\d+)(?:\\):\\s+|\\s+-\\s+)(error|warning|info)\\s+TS(\\d+)\\s*:\\s*(.*)$', file: 1, line: 2, column: 3, severity: 4, code: 5, message: 6 },
  },
  '$gulp-tsc': {
    owner: 'typescript', source: 'ts', fileLocation: ['relative', '${workspaceFolder}'],
    pattern: { regexp: '^([^\\s].*)\\((\\d+|\\d+,\\d+|\\d+,\\d+,\\d+,\\d+)\\):\\s+(\\d+)\\s+(.*)$', kind: 'location', file: 1, location: 2, code: 3, message: 4 },
  },
  '$eslint-compact': {
    owner: 'eslint', source: 'eslint', fileLocation: 'absolute',
    pattern: { regexp: '^(.+):\\sline\\s(\\d+),\\scol\\s(\\d+),\\s(Error|Warning|Info)\\s-\\s(.+)\\s\\((.+)\\)$', kind: 'location', file: 1, line: 2, column: 3, severity: 4, message: 5, code: 6 },
  },
  '$eslint-stylish': {
    owner: 'eslint', source: 'eslint', fileLocation: 'absolute',
    pattern: [
      { regexp: '^((?:[a-zA-Z]:)*[./\\\\]+.*?)$', kind: 'location', file: 1 },
      { regexp: '^\\s+(\\d+):(\\d+)\\s+(error|warning|info)\\s+(.+?)(?:\\s\\s+(.*))?$', line: 1, column: 2, severity: 3, message: 4, code: 5, loop: true },
    ],
  },
  $go: {
    owner: 'go', source: 'go', fileLocation: ['relative', '${workspaceFolder}'],
    pattern: { regexp: '^([^:]*: )?((.:)?[^:]*):(\\d+)(:(\\d+))?: (.*)$', kind: 'location', file: 2, line: 4, column: 6, message: 7 },
  },
  $msCompile: {
    owner: 'msCompile', source: 'cpp', fileLocation: 'absolute',
    pattern: { regexp: '^\\s*(?:\\s*\\d+>)?(\\S.*?)(?:\\((\\d+|\\d+,\\d+|\\d+,\\d+,\\d+,\\d+)\\))?\\s*:\\s+(?:(\\S+)\\s+)?((?:fatal +)?error|warning|info)\\s+(\\w+\\d+)?\\s*:\\s*(.*)$', kind: 'location', file: 1, location: 2, severity: 4, code: 5, message: 6 },
  },
  $lessCompile: {
    owner: 'lessCompile', source: 'less', fileLocation: 'absolute', severity: 'error',
    pattern: { regexp: '^\\s*(.*) in file (.*) line no. (\\d+)$', kind: 'location', message: 1, file: 2, line: 3 },
  },
  $lessc: {
    owner: 'lessc', fileLocation: 'absolute',
    pattern: { regexp: '(.*)\\sin\\s(.*)\\son line\\s(\\d+),\\scolumn\\s(\\d+)', message: 1, file: 2, line: 3, column: 4 },
  },
  $jshint: {
    owner: 'jshint', source: 'jshint', fileLocation: 'absolute',
    pattern: { regexp: '^(.*):\\s+line\\s+(\\d+),\\s+col\\s+(\\d+),\\s(.+?)(?:\\s+\\((\\w)(\\d+)\\))?$', kind: 'location', file: 1, line: 2, column: 3, message: 4, severity: 5, code: 6 },
  },
  '$jshint-stylish': {
    owner: 'jshint', source: 'jshint', fileLocation: 'absolute',
    pattern: [
      { regexp: '^(.+)$', kind: 'location', file: 1 },
      { regexp: '^\\s+line\\s+(\\d+)\\s+col\\s+(\\d+)\\s+(.+?)(?:\\s+\\((\\w)(\\d+)\\))?$', line: 1, column: 2, message: 3, severity: 4, code: 5, loop: true },
    ],
  },
  $gcc: {
    owner: 'cpptools', source: 'gcc', fileLocation: ['autoDetect', '${cwd}'],
    pattern: { regexp: '^(.*?):(\\d+):(\\d*):?\\s+(?:fatal\\s+)?(warning|error):\\s+(.*)$', file: 1, line: 2, column: 3, severity: 4, message: 5 },
  },
};

export const BUILTIN_NAMES: readonly string[] = Object.keys(BUILTIN_MATCHERS);

/**
 * What a line must hold for a built-in's pattern to match it, by pattern: some of VS Code's expressions
 * backtrack badly on long lines that come near to matching ($lessc, unanchored, took 14 ms on a 4 KiB line of
 * colons; $msCompile and $lessCompile as long on a line of blanks). A declared pattern runs on every line, cut
 * at MAX_LINE characters.
 */
export const BUILTIN_NEEDS: Readonly<Record<string, readonly (readonly string[] | undefined)[]>> = {
  $tsc: [['TS']], '$tsc-watch': [['TS']], '$gulp-tsc': [['):']], '$eslint-compact': [['line', 'col', ' - ']],
  $msCompile: [[':']], $lessCompile: [[' in file ', ' line no']], $lessc: [['on line', 'column']],
  $jshint: [['line', 'col']], '$jshint-stylish': [undefined, ['line', 'col']], $go: [[':']], $gcc: [[':']],
};

/**
 * For a job without a `problemMatcher`: the formats people run, recognised without configuration (see
 * default/defaultReader.ts), about files of the commit only.
 */
export const DEFAULT_MATCHERS: readonly Matcher[] = [DEFAULT_MATCHER];
