// Reading a repository's file by its path (a package.json, a Makefile, the working copy's .datakit-ci.json):
// only a regular file is read, and only up to a size. A repository may hold a symbolic link to /dev/zero, to
// /dev/urandom or to a FIFO where a file is expected; reading it would never end (or never start). What is
// not a regular file is refused before it is opened, and checked again on the open descriptor (opened without
// blocking, so that a FIFO swapped in meanwhile does not hang the read either).
import fs = require('node:fs');
import { DataKitError } from './errors';

export interface ReadLimits {
  /** The most bytes read; a larger file is refused. */
  readonly maxBytes: number;
  /** How the file is named in a refusal (default: its path). */
  readonly name?: string;
}

// Absent on Windows, where no FIFO or device hides behind a file's name in a repository.
const FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

/** What a file system entry is, in words. */
function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) { return 'a folder'; }
  if (st.isCharacterDevice()) { return 'a character device'; }
  if (st.isBlockDevice()) { return 'a block device'; }
  if (st.isFIFO()) { return 'a named pipe (FIFO)'; }
  if (st.isSocket()) { return 'a socket'; }
  return 'not a regular file';
}

function refusal(file: string, st: fs.Stats, linked: boolean, limits: ReadLimits): DataKitError {
  const name = limits.name ?? file;
  const what = `${linked ? 'a symbolic link to ' : ''}${kindOf(st)}`;
  return new DataKitError('NotRegularFile', `${name} is ${what}, not a regular file: it was not read`, { file: name, reason: `is ${what}, not a regular file: not read` });
}

function tooLarge(file: string, limits: ReadLimits): DataKitError {
  const name = limits.name ?? file;
  const reason = `is larger than ${limits.maxBytes} bytes: not read`;
  return new DataKitError('NotRegularFile', `${name} ${reason}`, { file: name, reason });
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether `file` is itself a symbolic link (for the wording of a refusal only). */
function isLink(file: string): boolean {
  try { return fs.lstatSync(file).isSymbolicLink(); } catch { return false; }
}

/** A buffer twice as large (at most one byte over the cap, to see a file that grew past it), holding `buf`. */
function grown(buf: Buffer, limits: ReadLimits): Buffer {
  const bigger = Buffer.alloc(Math.min(buf.length * 2, limits.maxBytes + 1));
  buf.copy(bigger);
  return bigger;
}

/** The reason a refusal of `readRegularFile` gives, without the file's name; undefined for other errors. */
export function refusalReason(e: unknown): string | undefined {
  return DataKitError.is(e, 'NotRegularFile') ? String(e.data.reason) : undefined;
}

/**
 * The bytes of `file` when it is a regular file (or a link to one) of at most `maxBytes`; undefined when there
 * is nothing at that path. Anything else (a device, a FIFO, a socket, a folder, a larger file) is refused with
 * `NotRegularFile`, its message naming the file and what it is, without blocking and without reading it.
 */
export function readRegularFileSync(file: string, limits: ReadLimits): Buffer | undefined {
  let st: fs.Stats | undefined;
  try { st = fs.statSync(file); } catch (e) { if (isMissing(e)) { return undefined; } throw e; }
  if (!st.isFile()) { throw refusal(file, st, isLink(file), limits); }
  if (st.size > limits.maxBytes) { throw tooLarge(file, limits); }
  const fd = fs.openSync(file, FLAGS);
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) { throw refusal(file, opened, isLink(file), limits); }
    let buf: Buffer = Buffer.alloc(Math.min(opened.size, limits.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) { return buf.subarray(0, n); }
      n += got;
      // It may have grown since it was looked at: never read past the cap.
      if (n > limits.maxBytes) { throw tooLarge(file, limits); }
      if (n === buf.length) { buf = grown(buf, limits); }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `readRegularFileSync` without blocking the thread while the file is read (the extension host's). */
export async function readRegularFile(file: string, limits: ReadLimits): Promise<Buffer | undefined> {
  let st: fs.Stats | undefined;
  try { st = await fs.promises.stat(file); } catch (e) { if (isMissing(e)) { return undefined; } throw e; }
  const linked = async (): Promise<boolean> => (await fs.promises.lstat(file).catch(() => undefined))?.isSymbolicLink() ?? false;
  if (!st.isFile()) { throw refusal(file, st, await linked(), limits); }
  if (st.size > limits.maxBytes) { throw tooLarge(file, limits); }
  const fh = await fs.promises.open(file, FLAGS);
  try {
    const opened = await fh.stat();
    if (!opened.isFile()) { throw refusal(file, opened, await linked(), limits); }
    let buf: Buffer = Buffer.alloc(Math.min(opened.size, limits.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) { return buf.subarray(0, n); }
      n += bytesRead;
      if (n > limits.maxBytes) { throw tooLarge(file, limits); }
      if (n === buf.length) { buf = grown(buf, limits); }
    }
  } finally {
    await fh.close();
  }
}

/** The text of `readRegularFileSync`, as UTF-8. */
export function readRegularTextSync(file: string, limits: ReadLimits): string | undefined {
  return readRegularFileSync(file, limits)?.toString('utf8');
}

/** The text of `readRegularFile`, as UTF-8. */
export async function readRegularText(file: string, limits: ReadLimits): Promise<string | undefined> {
  return (await readRegularFile(file, limits))?.toString('utf8');
}
