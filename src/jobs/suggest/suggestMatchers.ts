// The built-in problem matcher of a suggested job, from the text of the package.json script it runs: ESLint's
// (its default format, stylish; or compact when the script asks for it) for a script that runs eslint, and
// `$tsc` for one that runs tsc. Read from the script's words: nothing runs.

/** What runs a package's binary in front of its name: `npx eslint`, `npm exec -- tsc`, `pnpm exec tsc`, `yarn eslint`, `cross-env A=1 tsc`. */
const RUNNERS = new Set(['npx', 'pnpx', 'bunx', 'npm', 'exec', 'pnpm', 'yarn', 'cross-env', 'env', 'time', 'nice', 'command']);

/**
 * The matchers for what `script` runs, in the order it runs them: `"$eslint-stylish"`, `"$tsc"`, both as a
 * list, or undefined when it runs neither (or runs ESLint with a format no built-in matcher reads).
 */
export function scriptMatcher(script: string): string | string[] | undefined {
  const found: string[] = [];
  for (const command of script.split(/&&|\|\||[;|&\n()]/)) {
    const matcher = commandMatcher(command.trim().split(/\s+/).filter((w) => w !== ''));
    if (matcher !== undefined && !found.includes(matcher)) { found.push(matcher); }
  }
  return found.length === 0 ? undefined : found.length === 1 ? found[0] : found;
}

/** The matcher of one command's words, past the variables it sets and what runs it. */
function commandMatcher(words: string[]): string | undefined {
  let i = 0;
  while (i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]) || RUNNERS.has(words[i]) || (i > 0 && words[i].startsWith('-') && RUNNERS.has(words[i - 1])))) { i++; }
  const name = (words[i] ?? '').replace(/^.*[/\\]/, '').replace(/\.(?:cmd|exe|js)$/, '');
  if (name === 'tsc') { return '$tsc'; }
  if (name !== 'eslint') { return undefined; }
  const format = eslintFormat(words.slice(i + 1));
  return format === undefined || format === 'stylish' ? '$eslint-stylish' : format === 'compact' ? '$eslint-compact' : undefined;
}

/** The value of ESLint's `-f`/`--format` option, if given. */
function eslintFormat(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-f' || a === '--format') { return stripQuotes(args[i + 1] ?? ''); }
    if (a.startsWith('--format=')) { return stripQuotes(a.slice('--format='.length)); }
  }
  return undefined;
}

const stripQuotes = (s: string): string => s.replace(/^(['"])(.*)\1$/, '$2');
