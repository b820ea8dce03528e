// One error type for everything the project raises: a stable `code` (a typo does not compile), a message for
// people, `data` for programs, and a brand that a Node error with a `code` of its own (ENOENT…) cannot forge.
// What each code means to a terminal (the exit code) and to the editor (the action offered) is looked up in
// one table below, never decided where the error is caught.

export type ErrorCode =
  // Arguments and names
  | 'InvalidArgument' // an API was called with a value it cannot take
  | 'InvalidCapacity' // a pool's capacity is not a positive integer
  | 'InvalidPath' // a path that cannot be stored or looked up (`..`, NUL, `.git`…)
  | 'InvalidRefName' // a builder or entry name that git would refuse as a ref
  | 'UnsafePath' // a restore that would leave its target or write into a `.git`
  | 'Usage' // a command line that asks for something the command does not take
  // Where things are
  | 'NotARepository' // a directory outside any git repository
  | 'NotFound' // a file or directory that is not there
  | 'UnknownRevision' // a revision the repository does not have
  | 'InvalidRange' // a range of commits that is not `A..B`
  | 'WorktreeConflict' // the working tree has unmerged paths: no commit could be made of it
  | 'WorktreeUnreadable' // a file of the working tree cannot be read
  | 'NotRegularFile' // a repository's file read by path is a device, a FIFO, a folder… or larger than its cap
  | 'WorktreeChanged' // a working-tree file changed between its key and its build
  | 'RemoteFailed' // a push to or fetch from a remote failed (no such remote, refused, credentials, timeout)
  | 'GitNotFound' // no `git` on the PATH
  | 'GitFailed' // a git command failed (its stderr is in the message)
  | 'IoFailed' // the disk refused a read or a write (permissions, a full disk…): `data.errno` says which
  | 'InTheWay' // where the project must make a folder (the results repository) holds something else
  // The results repository
  | 'ObjectMissing' // an object is neither loose nor packed
  | 'CorruptObject' // an object cannot be read back (truncated, zeroed, wrong type or size)
  | 'CorruptResult' // a saved result whose files cannot all be read: it is rebuilt
  | 'CorruptRef' // a ref file that does not hold a commit id
  | 'PackVanished' // a pack that git's own gc replaced while it was being read (read again from the new one)
  | 'PackedRefsUnusable' // packed-refs is not sorted as git writes it, or changed while read (parsed whole instead)
  | 'RefLocked' // a ref's `.lock` file stayed in place
  | 'RefNameConflict' // a ref beside another that is a prefix of it
  | 'RefUpdateConflict' // a ref kept moving under a compare-and-swap
  | 'TransactionClosed' // a transaction used after its commit
  // Signed results
  | 'InvalidSignature' // a result's SSH signature cannot be parsed (the result is then not trusted)
  | 'InvalidSigningKey' // DATAKIT_CI_SIGNING_KEY or user.signingKey is not a key we can sign with
  | 'SigningUnsupported' // git's gpg.format is openpgp or x509: only ssh signing is supported yet
  | 'SigningFailed' // ssh-keygen could not sign a result (an agent without the key, a wrong passphrase…)
  // Builds
  | 'BuildFailure' // a build failed with a message (the seed's `Failure msg`)
  | 'Cancelled' // a build was cancelled
  | 'Finished' // a build's signal after generate returned (the seed's switch turned off)
  | 'LogCollision' // two live logs for one entry
  | 'BuildDirBusy' // every build directory of a job is in use
  | 'CheckoutFailed' // a build directory could not be filled
  | 'ConfigError' // .datakit-ci.json is broken (its errors, with positions, are listed)
  | 'SchemaNotFound' // the JSON schema is not next to the code
  | 'ConfigExists' // writing .datakit-ci.json (init, Save Suggested Jobs) where there is one already
  | 'NothingToSuggest' // a repository without .datakit-ci.json has no script or target to suggest as a job
  | 'InvalidProblemMatcher' // a job's problemMatcher names no known matcher or holds an invalid pattern
  | 'MatchFailed' // the worker that matches a log's problems failed or stopped
  | 'NotBuilt' // the result asked for was never built (or not that far back)
  | 'ToolInputFailed' // a command of a job's toolInputs failed or timed out: the key cannot be known
  | 'NothingToDo' // what was asked holds nothing to act on (an empty range): not a failure
  // The editor
  | 'Disposed' // used after dispose
  | 'Untrusted' // an action that runs something, in an untrusted workspace
  | 'NoFolder' // nothing is open
  | 'NoWorkTree' // a bare repository has no work tree
  | 'NoLog' // a job has no log yet
  | 'NoOutputs' // a job saved no output files
  | 'LogNotFound'; // a log URI that names no saved log

const BRAND: unique symbol = Symbol.for('datakit-ci.error');

export class DataKitError extends Error {
  /** The brand: only errors made by this class (in any bundle of this package) carry it. */
  readonly [BRAND] = true;

  constructor(readonly code: ErrorCode, message: string, readonly data: Readonly<Record<string, unknown>> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataKitError';
  }

  /** Whether `e` is one of ours (and of `code`, if given). A Node error's own `code` (`ENOENT`) does not count. */
  static is<C extends ErrorCode>(e: unknown, code?: C): e is DataKitError & { readonly code: C } {
    return typeof e === 'object' && e !== null && (e as { [BRAND]?: unknown })[BRAND] === true
      && (code === undefined || (e as DataKitError).code === code);
  }
}

/** The system error codes that mean "nothing there". */
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** Whether `e` says that what was read is not there: a missing file or folder, or our own `NotFound`. */
export function isMissing(e: unknown): boolean {
  if (DataKitError.is(e)) { return e.code === 'NotFound'; }
  return typeof e === 'object' && e !== null && MISSING.has(String((e as NodeJS.ErrnoException).code));
}

/**
 * The value of `p`, or undefined when what it read is not there (see `isMissing`); every other error goes on.
 * For the reads where absence is an answer: a lock file, a keys file, a folder no build made yet.
 */
export async function unlessMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isMissing(e)) { return undefined; }
    throw e;
  }
}

/** A system error (`EACCES`, `ENOSPC`, `EIO`…) as one of ours, its errno and path kept in `data`. */
export function ioError(e: unknown, doing?: string): DataKitError {
  if (DataKitError.is(e)) { return e; }
  const err = e as NodeJS.ErrnoException;
  const where = err.path ? ` ${err.path}` : '';
  return new DataKitError('IoFailed', `${doing ? `${doing}: ` : ''}${err.syscall ?? 'I/O'}${where} failed: ${err.code ?? err.message}`,
    { errno: err.code, syscall: err.syscall, path: err.path }, { cause: e });
}

/** Whether `e` is a system error from Node (it has a syscall), as opposed to a bug. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string' && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** What the editor offers beside an error's message. */
export type ErrorAction = 'openLog' | 'manageTrust' | 'installGit' | 'openConfig' | 'none';

/** How each code ends a command line, and what the editor offers with it: the one table. */
export interface ErrorOutcome {
  /** The command line's exit code (see the README's exit codes). */
  readonly exit: 0 | 1 | 2 | 3 | 4;
  readonly action: ErrorAction;
  /** An outcome that is not a failure: said as information, not as an error. */
  readonly info?: true;
}

/** The command line's exit codes, as documented. */
export const EXIT = {
  /** Every job asked about passed (or nothing was asked). */
  ok: 0,
  /** A job failed, was cancelled or skipped. */
  failed: 1,
  /** Bad usage, a broken or missing configuration, not a repository. */
  usage: 2,
  /** The result asked for was never built (or not that far back). */
  notBuilt: 3,
  /** The machine failed: the disk, git or a remote could not do what was asked. */
  environment: 4,
} as const;

const USAGE: ErrorOutcome = { exit: EXIT.usage, action: 'openLog' };
const ENVIRONMENT: ErrorOutcome = { exit: EXIT.environment, action: 'openLog' };

export const OUTCOMES: Readonly<Record<ErrorCode, ErrorOutcome>> = {
  InvalidArgument: USAGE, InvalidCapacity: USAGE, InvalidPath: USAGE, InvalidRefName: USAGE, UnsafePath: USAGE, Usage: USAGE,
  NotARepository: USAGE, NotFound: USAGE, UnknownRevision: USAGE, InvalidRange: USAGE,
  WorktreeConflict: USAGE, WorktreeUnreadable: USAGE, NotRegularFile: USAGE, WorktreeChanged: USAGE,
  RemoteFailed: ENVIRONMENT, GitNotFound: { exit: EXIT.environment, action: 'installGit' }, GitFailed: ENVIRONMENT, IoFailed: ENVIRONMENT, InTheWay: ENVIRONMENT,
  ObjectMissing: ENVIRONMENT, CorruptObject: ENVIRONMENT, CorruptResult: ENVIRONMENT, CorruptRef: ENVIRONMENT,
  PackVanished: ENVIRONMENT, PackedRefsUnusable: ENVIRONMENT, RefLocked: ENVIRONMENT, RefNameConflict: ENVIRONMENT,
  RefUpdateConflict: ENVIRONMENT, TransactionClosed: USAGE,
  InvalidSignature: ENVIRONMENT, InvalidSigningKey: USAGE, SigningUnsupported: USAGE, SigningFailed: ENVIRONMENT,
  BuildFailure: { exit: EXIT.failed, action: 'openLog' }, Cancelled: { exit: EXIT.failed, action: 'none' }, Finished: { exit: EXIT.failed, action: 'none' },
  LogCollision: USAGE, BuildDirBusy: ENVIRONMENT, CheckoutFailed: ENVIRONMENT,
  ConfigError: { exit: EXIT.usage, action: 'openConfig' }, SchemaNotFound: ENVIRONMENT, ConfigExists: USAGE,
  NothingToSuggest: { ...USAGE, action: 'none', info: true }, InvalidProblemMatcher: { exit: EXIT.usage, action: 'openConfig' }, MatchFailed: ENVIRONMENT,
  NotBuilt: { exit: EXIT.notBuilt, action: 'none' }, ToolInputFailed: { exit: EXIT.usage, action: 'openConfig' }, NothingToDo: { exit: EXIT.ok, action: 'none', info: true },
  Disposed: USAGE, Untrusted: { exit: EXIT.usage, action: 'manageTrust' }, NoFolder: { exit: EXIT.usage, action: 'none' },
  NoWorkTree: USAGE, NoLog: { exit: EXIT.notBuilt, action: 'none', info: true }, NoOutputs: { exit: EXIT.notBuilt, action: 'none', info: true },
  LogNotFound: USAGE,
};

/** How an error ends a command, or what the editor offers with it: a system error is the machine's. */
export function outcomeOf(e: unknown): ErrorOutcome | undefined {
  if (DataKitError.is(e)) { return OUTCOMES[e.code]; }
  return isSystemError(e) ? ENVIRONMENT : undefined;
}
