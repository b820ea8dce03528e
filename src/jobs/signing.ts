// Who signs the results this machine saves, and whom it trusts for the results it fetches. Both come from
// places the commit being built cannot change: the environment (CI's secret), the user's git configuration,
// and the remote's default branch as last fetched (never HEAD, never the branch being built).
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { DataKitError } from '../shared/errors';
import { runGit } from '../store/git/git';
import { runSshKeygen } from '../store/git/sshKeygen';
import { fingerprint, parseOpenSshPrivateKey, signSshsig } from '../store/git/sshsig';
import { ResultTrust, type TrustPolicy } from '../store/results/trust';
import type { RepositoryDirs } from '../store/source/gitDirs';

/** The environment variable that holds CI's signing key (an unencrypted OpenSSH ed25519 private key). */
export const SIGNING_KEY_ENV = 'DATAKIT_CI_SIGNING_KEY';
/** Where the remote's default branch may publish its trusted builders. */
export const ALLOWED_SIGNERS_PATH = '.datakit-ci/allowed_signers';

/** How results are signed: who (said once by `build`), and the signing itself; `note`: why they are not. */
export interface Signing {
  readonly by?: string;
  readonly note?: string;
  readonly sign?: (payload: Buffer) => Promise<string>;
}

async function gitConfig(dirs: RepositoryDirs, key: string, type?: 'path'): Promise<string | undefined> {
  const r = await runGit([`--git-dir=${dirs.gitDir}`, 'config', ...(type ? [`--type=${type}`] : []), '--get', key], { allowFailure: true });
  const v = r.stdout.toString('utf8').trim();
  return r.code === 0 && v !== '' ? v : undefined;
}

/**
 * The signing setup: `DATAKIT_CI_SIGNING_KEY` (signed in this process: the key never reaches the disk), else
 * git's `gpg.format=ssh` with `user.signingKey` (signed by `ssh-keygen -Y sign`, which also asks an agent or
 * for a passphrase). openpgp and x509 are said not to be supported yet, rather than skipped in silence.
 */
export async function signingOf(dirs: RepositoryDirs, env: NodeJS.ProcessEnv = process.env): Promise<Signing> {
  const secret = env[SIGNING_KEY_ENV];
  if (secret !== undefined && secret.trim() !== '') {
    const key = parseOpenSshPrivateKey(secret);
    return { by: `${SIGNING_KEY_ENV} (ssh-ed25519 ${fingerprint(key.publicBlob)})`, sign: (payload) => Promise.resolve(signSshsig(key, payload)) };
  }
  const signingKey = await gitConfig(dirs, 'user.signingKey');
  if (signingKey === undefined) { return {}; }
  const format = (await gitConfig(dirs, 'gpg.format')) ?? 'openpgp';
  if (format !== 'ssh') {
    return { note: `results are not signed: git's gpg.format is ${format}, and DataKit CI signs with ssh keys only yet (gpg.format=ssh, or ${SIGNING_KEY_ENV})` };
  }
  const literal = /^key::/.test(signingKey) ? signingKey.slice(5) : /^(ssh-|ecdsa-|sk-)/.test(signingKey) ? signingKey : undefined;
  const file = literal === undefined ? signingKey.replace(/^~(?=\/|$)/, os.homedir()) : undefined;
  return {
    by: `git's user.signingKey (${literal ?? file})`,
    sign: (payload) => sshKeygenSign(payload, file, literal),
  };
}

/** `ssh-keygen -Y sign -n git` of `payload`, with a key file or a public key given literally (then an agent's). */
async function sshKeygenSign(payload: Buffer, file: string | undefined, literal: string | undefined): Promise<string> {
  let dir: string | undefined;
  try {
    let keyFile = file!;
    if (literal !== undefined) {
      dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'datakit-ci-sign-'));
      keyFile = path.join(dir, 'key.pub');
      await fs.promises.writeFile(keyFile, `${literal}\n`, { mode: 0o600 });
    }
    const r = await runSshKeygen(['-Y', 'sign', '-n', 'git', '-f', keyFile], payload);
    if (r.code !== 0 || !r.stdout.includes('BEGIN SSH SIGNATURE')) {
      throw new DataKitError('SigningFailed', `ssh-keygen could not sign the result with ${literal ?? keyFile}: ${r.stderr.trim() || `exit code ${r.code}`}`);
    }
    return r.stdout;
  } finally {
    if (dir) { await fs.promises.rm(dir, { recursive: true, force: true }); }
  }
}

/**
 * The trusted builders: git's `datakit-ci.allowedSigners` or `gpg.ssh.allowedSignersFile` (paths), else
 * `.datakit-ci/allowed_signers` of `refs/remotes/<remote>/HEAD`, the remote's default branch as last fetched.
 */
export async function trustPolicyOf(dirs: RepositoryDirs, remote = 'origin'): Promise<TrustPolicy> {
  for (const key of ['datakit-ci.allowedSigners', 'gpg.ssh.allowedSignersFile']) {
    const file = await gitConfig(dirs, key, 'path');
    if (file === undefined) { continue; }
    const full = path.resolve(dirs.topLevel ?? dirs.commonDir, file);
    try {
      return { allowedSigners: { text: await fs.promises.readFile(full, 'utf8'), source: `${key} (${file})` } };
    } catch (e) {
      throw new DataKitError('NotFound', `The trusted builders' file that git's ${key} names cannot be read: ${full} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const shown = await runGit([`--git-dir=${dirs.commonDir}`, 'show', `refs/remotes/${remote}/HEAD:${ALLOWED_SIGNERS_PATH}`], { allowFailure: true });
  if (shown.code === 0) {
    return { allowedSigners: { text: shown.stdout.toString('utf8'), source: `${ALLOWED_SIGNERS_PATH} of ${remote}'s default branch` } };
  }
  return {};
}

export interface SigningSetup {
  readonly signing: () => Promise<Signing>;
  readonly signer: (payload: Buffer) => Promise<string | undefined>;
  readonly trust: ResultTrust;
}

/**
 * What a repository's store is opened with: its signer and its trust, each read from git's configuration on
 * first use (a command that saves and fetches nothing never asks). An untrusted workspace starts no git
 * process: it signs nothing, and shows every fetched result as unverified.
 */
export function signingSetup(dirs: RepositoryDirs, trusted: boolean): SigningSetup {
  let setup: Promise<Signing> | undefined;
  const signing = (): Promise<Signing> => (setup ??= trusted ? signingOf(dirs) : Promise.resolve({}));
  return {
    signing,
    signer: async (payload) => { const s = await signing(); return s.sign ? s.sign(payload) : undefined; },
    trust: new ResultTrust(() => (trusted ? trustPolicyOf(dirs) : Promise.resolve({}))),
  };
}
