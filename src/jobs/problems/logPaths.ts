// Paths as a log prints them, made repository-relative: an absolute path loses the prefix of the build directory
// or the working copy it was printed in (the roots), a relative one is read from the repository's root (a job
// runs there); any other path is outside the repository.

const MAX_CACHED_PATHS = 10_000;

/** The roots of one log and the paths already resolved: a log names the same files again and again. */
export class LogPaths {
  private roots: readonly string[];
  /** Raw path (after its prefix) → repository path or null. */
  private readonly paths = new Map<string, string | null>();

  constructor(roots: readonly string[]) {
    this.roots = roots.map(normalRoot).filter((r) => r !== '');
  }

  /** One more folder whose prefix absolute paths lose (the log's `[time] In <folder>` line). */
  addRoot(root: string): void {
    const r = normalRoot(root);
    if (r === '' || this.roots.includes(r)) { return; }
    this.roots = [...this.roots, r];
    this.paths.clear(); // a path that no root took before may be taken now
  }

  /** `raw` as a repository path (relative ones read from `prefix`, a matcher's `fileLocation` folder), or undefined. */
  resolve(raw: string, prefix = ''): string | undefined {
    const key = prefix === '' ? raw : `${prefix}\0${raw}`;
    let file = this.paths.get(key);
    if (file === undefined) {
      file = repositoryPath(raw, prefix, this.roots) ?? null;
      if (this.paths.size >= MAX_CACHED_PATHS) { this.paths.clear(); }
      this.paths.set(key, file);
    }
    return file ?? undefined;
  }
}

export const isAbsolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:[/\\]/.test(p);
const driveLower = (p: string): string => (/^[A-Za-z]:\//.test(p) ? p[0].toLowerCase() + p.slice(1) : p);

function normalRoot(root: string): string {
  const r = driveLower(root.replace(/\\/g, '/'));
  return r.endsWith('/') && r !== '/' ? r.slice(0, -1) : r;
}

/** `prefix` of a `fileLocation`: VS Code's variables for the folder a job runs in mean the repository root. */
function prefixPath(prefix: string): string {
  return prefix.replace(/^\$\{(?:workspaceFolder|workspaceRoot|cwd)\}\/?/, '');
}

/** The repository-relative path of `raw` as printed, or undefined when it is outside the repository. */
export function repositoryPath(raw: string, prefix: string, roots: readonly string[]): string | undefined {
  let p = driveLower(raw.includes('\\') ? raw.replace(/\\/g, '/') : raw);
  if (!isAbsolute(p)) {
    const base = prefixPath(prefix.replace(/\\/g, '/'));
    if (base !== '') { p = `${base}/${p}`; }
  }
  if (isAbsolute(p)) {
    const root = roots.find((r) => p.startsWith(r === '/' ? r : `${r}/`));
    if (root === undefined) { return undefined; }
    p = p.slice(root === '/' ? 1 : root.length + 1);
  }
  if (!DOTS_OR_EMPTY.test(p)) { return p === '' ? undefined : p; }
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') { continue; }
    if (part === '..') {
      if (parts.length === 0) { return undefined; }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.length > 0 ? parts.join('/') : undefined;
}

/** A path that needs normalising: a `.` or `..` part, an empty one (`//`), a leading or trailing `/`. */
const DOTS_OR_EMPTY = /(?:^|\/)\.\.?(?:\/|$)|\/\/|^\/|\/$/;

/**
 * The path a `file://` URL names (`file:///home/a/b%20c.js` → `/home/a/b c.js`, `file:///C:/a.js` → `C:/a.js`),
 * or the text as it is when it is no such URL.
 */
export function fromFileUrl(text: string): string {
  if (!text.startsWith('file://')) { return text; }
  let p = text.slice('file://'.length);
  if (p.startsWith('localhost/')) { p = p.slice('localhost'.length); }
  try {
    p = decodeURIComponent(p);
  } catch {
    // A malformed escape: the path as printed.
  }
  return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p;
}
