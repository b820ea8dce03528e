// A result fetched from a remote is checked before it is adopted, as a build's own result is bound: its
// outputs under the outputs' cap, its log under the log's cap, its trees well-formed (what `git fsck` checks:
// modes, names, order, no duplicates, no `.`, `..` or `.git`), its key.json naming the entry's key. A result
// that fails is not used, and the reason is said once per result; the job then builds here. A skipped build's
// record (a job whose need failed) has no key.json, as it never started: it is used as the record it is.
import { parseResultMessage } from '../../shared/resultCommit';
import type { StoreContext } from './storeContext';

/** The cap on a build's outputs together (jobs/run/outputs.ts DEFAULT_OUTPUT_CAP): a fetched result obeys it too. */
export const FETCHED_OUTPUT_CAP = 100 * 1024 * 1024;
/** A saved log is at most the live log's memory cap (16 MiB, engine/liveLog.ts) and the marker of what was cut. */
export const FETCHED_LOG_CAP = 16 * 1024 * 1024 + 64 * 1024;
/** Files a result's tree holds outside `value/`, each small but the log. */
const SMALL_FILE_CAP = 1024 * 1024;
/** The modes a build writes (git's canonical ones): files, executables, symbolic links, folders. */
const MODES = new Set(['100644', '100755', '120000', '40000']);
/** Entries of one result (its trees and files together): more is not a build's. */
const MAX_ENTRIES = 200_000;

interface Blob { readonly path: string; readonly oid: string; readonly mode: string }

/** Why a tree entry's name is not one git accepts in a tree (`git fsck`), or undefined. */
function badName(name: string): string | undefined {
  if (name === '') { return 'an empty name'; }
  if (name.includes('/')) { return `a name with a slash (${JSON.stringify(name)})`; }
  if (name === '.' || name === '..') { return `the name ${JSON.stringify(name)}`; }
  const p = name.toLowerCase().replace(/[. ]+$/, '');
  if (p === '.git' || p === 'git~1') { return `the name ${JSON.stringify(name)} (a git directory)`; }
  return undefined;
}

/** A tree's raw entries in their stored order, with what `git fsck` would refuse of them (not parsed into a map: duplicates must show). */
function parseRawTree(buf: Buffer, where: string): { entries: { mode: string; name: string; oid: string }[]; problem?: string } {
  const entries: { mode: string; name: string; oid: string }[] = [];
  let i = 0;
  let previous: Buffer | undefined;
  const seen = new Set<string>();
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    const nul = sp < 0 ? -1 : buf.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > buf.length) { return { entries, problem: `the tree ${where} is truncated` }; }
    const mode = buf.toString('latin1', i, sp);
    const nameBytes = buf.subarray(sp + 1, nul);
    const name = nameBytes.toString('utf8');
    const at = where === '' ? name : `${where}/${name}`;
    if (!MODES.has(mode)) { return { entries, problem: `${at || where} has the mode ${JSON.stringify(mode)}, not one a build writes` }; }
    const bad = badName(name);
    if (bad) { return { entries, problem: `the tree ${where || '(root)'} holds ${bad}` }; }
    if (seen.has(name)) { return { entries, problem: `the tree ${where || '(root)'} holds "${name}" twice` }; }
    seen.add(name);
    // git's order: by name, a folder's as if it ended with `/`.
    const key = mode === '40000' ? Buffer.concat([nameBytes, Buffer.from('/')]) : nameBytes;
    if (previous && Buffer.compare(previous, key) >= 0) { return { entries, problem: `the tree ${where || '(root)'} is not sorted (at "${name}")` }; }
    previous = key;
    entries.push({ mode, name, oid: buf.toString('hex', nul + 1, nul + 21) });
    i = nul + 21;
  }
  return { entries };
}

export class FetchedChecks {
  /** Each fetched commit's verdict (undefined: usable), kept: an object never changes. */
  private readonly verdicts = new Map<string, Promise<string | undefined>>();
  /** Results refused, already said. */
  private readonly said = new Set<string>();

  constructor(private readonly ctx: StoreContext) {}

  /**
   * Whether the result `commit`, fetched from `remote` for `builder/entry`, may be adopted: undefined if so,
   * else why not (also told to `onWarning`, once per result).
   */
  async refusal(remote: string, builder: string, entry: string, commit: string): Promise<string | undefined> {
    const k = `${entry}\0${commit}`;
    let verdict = this.verdicts.get(k);
    if (!verdict) {
      verdict = this.problem(entry, commit).catch((e: unknown) => `it cannot be read (${(e as Error).message})`);
      this.verdicts.set(k, verdict);
    }
    const reason = await verdict;
    const said = `${remote} ${builder}/${entry} ${commit}`;
    if (reason !== undefined && !this.said.has(said)) {
      this.said.add(said);
      this.ctx.onWarning?.(`The result fetched from ${remote} for ${builder}/${entry} (commit ${commit.slice(0, 12)}) is not used: ${reason}; the job builds here`);
    }
    return reason;
  }

  /** Why the result is refused, or undefined; throws when an object cannot be read. */
  private async problem(entry: string, commit: string): Promise<string | undefined> {
    const info = await this.ctx.objects.readCommit(commit);
    const blobs: Blob[] = [];
    const problem = await this.walk(info.tree, '', blobs, { entries: 0 });
    if (problem) { return problem; }
    const sizes = await this.sizes(blobs);
    let outputs = 0;
    for (const b of blobs) {
      const size = sizes.get(b.oid)!;
      if (b.path.startsWith('value/')) {
        outputs += size;
      } else if (b.path === 'log') {
        if (size > FETCHED_LOG_CAP) { return `its log is ${mib(size)}, over the ${mib(FETCHED_LOG_CAP)} a build's log is capped at`; }
      } else if (size > SMALL_FILE_CAP) {
        return `its file ${b.path} is ${mib(size)}, over the ${mib(SMALL_FILE_CAP)} such a file may be`;
      }
    }
    if (outputs > FETCHED_OUTPUT_CAP) { return `its outputs total ${mib(outputs)}, over the ${mib(FETCHED_OUTPUT_CAP)} cap a build's outputs obey`; }
    return this.keyProblem(entry, blobs, info.message);
  }

  /**
   * key.json must name the key the entry is named after (`<job>/<first 16 hex digits of the digest>`). A
   * skipped build never started, so it wrote none: its record (its message says skipped, its tree holds its
   * log and failure only) is read as what it says — a build retries a skipped result, never reuses it.
   */
  private async keyProblem(entry: string, blobs: readonly Blob[], message: string): Promise<string | undefined> {
    const prefix = entry.slice(entry.lastIndexOf('/') + 1);
    const keyFile = blobs.find((b) => b.path === 'key.json');
    if (!keyFile && isSkippedRecord(blobs, message)) { return undefined; }
    if (!keyFile) { return /^[0-9a-f]{16}$/.test(prefix) ? 'it has no key.json' : undefined; }
    let digest: unknown;
    try {
      digest = (JSON.parse((await this.ctx.objects.read(keyFile.oid)).content.toString('utf8')) as { digest?: unknown }).digest;
    } catch {
      digest = undefined;
    }
    if (typeof digest !== 'string' || !digest.startsWith(prefix)) {
      return `its key.json records another key (${typeof digest === 'string' ? digest.slice(0, 16) : 'none'}, not ${prefix})`;
    }
    return undefined;
  }

  /** Every tree under `oid` checked as `git fsck` would, its files collected; the first problem found. */
  private async walk(oid: string, where: string, blobs: Blob[], count: { entries: number }): Promise<string | undefined> {
    const o = await this.ctx.objects.read(oid);
    if (o.type !== 'tree') { return `${where || 'its root'} is a ${o.type}, not a tree`; }
    const { entries, problem } = parseRawTree(o.content, where);
    if (problem) { return problem; }
    count.entries += entries.length;
    if (count.entries > MAX_ENTRIES) { return `it holds more than ${MAX_ENTRIES} files and folders`; }
    for (const e of entries) {
      const at = where === '' ? e.name : `${where}/${e.name}`;
      if (e.mode === '40000') {
        const p = await this.walk(e.oid, at, blobs, count);
        if (p) { return p; }
      } else {
        blobs.push({ path: at, oid: e.oid, mode: e.mode });
      }
    }
    return undefined;
  }

  /**
   * Each file's size, read in this process: a `git cat-file` per result cost 84-106 ms against 1-3 ms in
   * process (1,000 results, measured). A file is inflated to be measured, as the lookup's verify of an
   * adopted result inflates it anyway. A file that is not a blob is a problem.
   */
  private async sizes(blobs: readonly Blob[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const b of blobs) {
      if (out.has(b.oid)) { continue; }
      const o = await this.ctx.objects.read(b.oid);
      if (o.type !== 'blob') { throw new Error(`the object ${b.oid} is a ${o.type}, not a file`); }
      out.set(b.oid, o.content.length);
    }
    return out;
  }
}

/** Whether a result is a skipped build's record: its message says so, and it holds its log and failure, nothing else. */
function isSkippedRecord(blobs: readonly Blob[], message: string): boolean {
  const m = parseResultMessage(message);
  return m.result === 'failure' && m.reason === 'skipped' && blobs.every((b) => b.path === 'log' || b.path === 'failure') && blobs.some((b) => b.path === 'failure');
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
