// Errors with a stable `code`, matched by code and never by message. Every code the project raises is listed
// here, once: a new failure needs a new member, and a typo does not compile.

export type ErrorCode =
  // Arguments and names
  | 'InvalidArgument' // an API was called with a value it cannot take
  | 'InvalidCapacity' // a pool's capacity is not a positive integer
  | 'InvalidPath' // a path that cannot be stored or looked up (`..`, NUL, `.git`…)
  | 'InvalidRefName' // a builder or entry name that git would refuse as a ref
  | 'UnsafePath' // a restore that would leave its target or write into a `.git`
  // Where things are
  | 'NotARepository' // a directory outside any git repository
  | 'NotFound' // a file or directory that is not there
  | 'UnknownRevision' // a revision the repository does not have
  | 'InvalidRange' // a range of commits that is not `A..B`
  | 'WorktreeConflict' // the working tree has unmerged paths: no commit could be made of it
  | 'WorktreeUnreadable' // a file of the working tree cannot be read
  | 'WorktreeChanged' // a working-tree file changed between its key and its build
  | 'RemoteFailed' // a push to or fetch from a remote failed (no such remote, refused, credentials, timeout)
  | 'GitNotFound' // no `git` on the PATH
  | 'GitFailed' // a git command failed (its stderr is in the message)
  // The results repository
  | 'ObjectMissing' // an object is neither loose nor packed
  | 'CorruptObject' // an object cannot be read back (truncated, zeroed, wrong type or size)
  | 'CorruptResult' // a saved result whose files cannot all be read: it is rebuilt
  | 'CorruptRef' // a ref file that does not hold a commit id
  | 'RefLocked' // a ref's `.lock` file stayed in place
  | 'RefNameConflict' // a ref beside another that is a prefix of it
  | 'RefUpdateConflict' // a ref kept moving under a compare-and-swap
  | 'TransactionClosed' // a transaction used after its commit
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
  // The editor
  | 'Disposed' // used after dispose
  | 'Untrusted' // an action that runs something, in an untrusted workspace
  | 'NoFolder' // nothing is open
  | 'NoWorkTree' // a bare repository has no work tree
  | 'NoLog' // a job has no log yet
  | 'NoOutputs' // a job saved no output files
  | 'LogNotFound'; // a log URI that names no saved log

export class DataKitError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'DataKitError';
  }

  static is(e: unknown, code?: ErrorCode): e is DataKitError {
    return e instanceof Error && typeof (e as DataKitError).code === 'string' && (code === undefined || (e as DataKitError).code === code);
  }
}
