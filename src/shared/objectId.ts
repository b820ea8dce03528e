// Git object ids, as git writes them: 40 lower-case hex digits (SHA-1) or 64 (SHA-256, a repository made with
// `git init --object-format=sha256`). One definition for every place that checks or shortens an id.

export type HashAlgorithm = 'sha1' | 'sha256';

/** How many hex digits an id of each hash has. */
export const ID_DIGITS: Readonly<Record<HashAlgorithm, number>> = { sha1: 40, sha256: 64 };

/** A whole object id of either hash, as a RegExp source, for patterns that hold one (a cat-file header). */
export const OBJECT_ID_SOURCE = '(?:[0-9a-f]{40}|[0-9a-f]{64})';

/** The whole string is an object id of either hash. */
export const OBJECT_ID = new RegExp(`^${OBJECT_ID_SOURCE}$`);

const SHA1_ID = /^[0-9a-f]{40}$/;
const SHA256_ID = /^[0-9a-f]{64}$/;

/**
 * Whether `text` is a whole object id: of either hash, or of `algorithm` only (where a format is SHA-1's alone,
 * as the results repository's refs and pack indexes are).
 */
export function isObjectId(text: string, algorithm?: HashAlgorithm): boolean {
  if (algorithm === 'sha1') { return SHA1_ID.test(text); }
  if (algorithm === 'sha256') { return SHA256_ID.test(text); }
  return OBJECT_ID.test(text);
}

/** How an id is shown to people: its first 7 digits, as `git log --oneline` does in a small repository. */
export function shortId(id: string): string {
  return id.slice(0, 7);
}
