// The `git cat-file --batch` protocol: one query a line; each reply is a header line, then (for --batch)
// the object's bytes and a newline. Replies come back in query order.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { childProcess } from '../../shared/lazy';
import { DataKitError } from '../../shared/errors';
import { OBJECT_ID_SOURCE } from '../../shared/objectId';
import { GIT_GLOBAL_ARGS, gitEnv, gitNotFound } from '../git/git';

export interface CatReply {
  /** `<id> <type> <size>`, or `<query> missing` (or `ambiguous`) when there is no such object. */
  readonly header: string;
  /** The object's bytes (contents mode, when found). */
  readonly body?: Buffer;
}

const CAT_FORMAT = '%(objectname) %(objecttype) %(objectsize)';
const OBJECT_HEADER = new RegExp(`^${OBJECT_ID_SOURCE} [a-z]+ \\d+$`);

export function isObjectHeader(header: string): boolean {
  return OBJECT_HEADER.test(header);
}

/** Bytes received and not parsed yet, kept as chunks so that a large blob is copied once. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  indexOf(byte: number): number {
    let offset = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(byte);
      if (i >= 0) { return offset + i; }
      offset += c.length;
    }
    return -1;
  }

  take(n: number): Buffer {
    const parts: Buffer[] = [];
    for (let need = n; need > 0;) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}

interface PendingReply {
  resolve(r: CatReply): void;
  reject(e: Error): void;
  header?: string;
  size?: number;
}

/** One long-lived `git cat-file --batch-check` or `--batch` process, started on demand. */
export class CatFile {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buf = new ByteQueue();
  private pending: PendingReply[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private stderr = '';

  constructor(private readonly gitDir: string, private readonly mode: 'check' | 'contents') {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Answers the queries in order. One batch is written at a time; a process that died is restarted once. */
  query(lines: string[]): Promise<CatReply[]> {
    // A line that holds a line break would be read as two queries, and every reply after it would answer
    // the wrong one: refused before anything is sent.
    const bad = lines.find((l) => /[\n\r]/.test(l));
    if (bad !== undefined) { return Promise.reject(new DataKitError('InvalidPath', `A line break cannot be asked of git cat-file: ${JSON.stringify(bad)}`)); }
    const run = this.tail.then(() => this.send(lines).catch((e: unknown) =>
      (e instanceof ProcessDied && !this.disposed ? this.send(lines) : Promise.reject(e))));
    // The tail only orders the batches: `run`'s failure goes to its caller, and the next batch still runs.
    this.tail = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    this.disposed = true;
    if (this.child) { this.fail(this.child, new DataKitError('Disposed', 'The repository reader was disposed')); }
  }

  private send(lines: string[]): Promise<CatReply[]> {
    if (this.disposed) { return Promise.reject(new DataKitError('Disposed', 'The repository reader was disposed')); }
    if (lines.length === 0) { return Promise.resolve([]); }
    const child = this.child ?? this.start();
    const replies = lines.map(() => new Promise<CatReply>((resolve, reject) => this.pending.push({ resolve, reject })));
    this.setRef(child, true);
    child.stdin.write(lines.join('\n') + '\n');
    return Promise.all(replies).finally(() => this.setRef(child, false));
  }

  private start(): ChildProcessWithoutNullStreams {
    const flag = this.mode === 'check' ? `--batch-check=${CAT_FORMAT}` : `--batch=${CAT_FORMAT}`;
    const child = childProcess().spawn('git', [...GIT_GLOBAL_ARGS, `--git-dir=${this.gitDir}`, 'cat-file', flag],
      { cwd: this.gitDir, env: gitEnv(), windowsHide: true });
    this.child = child;
    this.buf = new ByteQueue();
    this.stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (this.child === child) { this.buf.push(b); this.parse(); }
    });
    child.stderr.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString('utf8')).slice(-2000); });
    child.stdin.on('error', () => { /* reported by 'close' */ });
    child.on('error', (e: NodeJS.ErrnoException) => this.fail(child, e.code === 'ENOENT' ? gitNotFound() : e));
    child.on('close', (code, signal) => this.fail(child, new ProcessDied(
      `git cat-file exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim()}` : ''}`)));
    return child;
  }

  private parse(): void {
    while (this.pending.length > 0) {
      const p = this.pending[0]!;
      if (p.header === undefined) {
        const nl = this.buf.indexOf(10);
        if (nl < 0) { return; }
        const header = this.buf.take(nl + 1).subarray(0, nl).toString('utf8');
        if (this.mode === 'check' || !OBJECT_HEADER.test(header)) {
          this.pending.shift();
          p.resolve({ header });
          continue;
        }
        p.header = header;
        p.size = Number(header.slice(header.lastIndexOf(' ') + 1));
      }
      if (this.buf.length < p.size! + 1) { return; }
      const body = this.buf.take(p.size! + 1).subarray(0, p.size);
      this.pending.shift();
      p.resolve({ header: p.header, body });
    }
  }

  private fail(child: ChildProcessWithoutNullStreams, error: Error): void {
    if (this.child !== child) { return; }
    this.child = undefined;
    const pending = this.pending;
    this.pending = [];
    child.stdin.end();
    child.kill();
    for (const p of pending) { p.reject(error); }
  }

  // An idle reader must not keep a command-line process alive.
  private setRef(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as { ref(): void; unref(): void }[]) {
      if (busy) { h.ref(); } else { h.unref(); }
    }
  }
}

class ProcessDied extends DataKitError {
  constructor(message: string) {
    super('GitFailed', message);
  }
}
