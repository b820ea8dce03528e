// Which fetched results may be adopted: a result is a commit another machine made, and anyone who can push to
// the remote's `refs/datakit-ci/*` can make one. With trusted builders configured (an allowed-signers file
// from a place the commit being built cannot change: see jobs/signing.ts), only a result whose signature
// verifies against them is used; without any, every fetched result is used and said to be unverified.
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { findSigner, parseAllowedSigners, type AllowedSigner } from '../git/allowedSigners';
import { runSshKeygen } from '../git/sshKeygen';
import type { ObjectStore } from '../git/objects';
import { parseCommit } from '../git/objectFormat';
import { fingerprint, GIT_NAMESPACE, parseSshsig, splitSignedCommit, verifySshsig, type SshSignature } from '../git/sshsig';

/** Where the trusted builders come from, and their allowed-signers text (none: no trusted builder configured). */
export interface TrustPolicy {
  readonly allowedSigners?: { readonly text: string; readonly source: string };
}

/** What a fetched result's signature says. */
export type Verification =
  | { readonly kind: 'verified'; readonly principal: string }
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'untrusted'; readonly signer: string; readonly why?: string }
  | { readonly kind: 'unverified' }; // signed or not, with no trusted builder to check it against

/** `any`: fetched results are used whatever their signature says (`--trust any`); `verified`: as the policy says. */
export type FetchedResults = 'verified' | 'any';

export class ResultTrust {
  /** Each result commit's verification: a commit never changes, nor does the policy within a process. */
  private readonly verdicts = new Map<string, Promise<Verification>>();
  private policy: Promise<{ signers?: AllowedSigner[]; text?: string }> | undefined;
  accept: FetchedResults = 'verified';
  /** The refused results already said. */
  private readonly said = new Set<string>();

  constructor(private readonly load: () => Promise<TrustPolicy>) {}

  /** Whether trusted builders are configured. */
  async configured(): Promise<boolean> {
    return (await this.signers()).signers !== undefined;
  }

  private signers(): Promise<{ signers?: AllowedSigner[]; text?: string }> {
    this.policy ??= this.load().then((p) => (p.allowedSigners ? { signers: parseAllowedSigners(p.allowedSigners.text), text: p.allowedSigners.text } : {}));
    return this.policy;
  }

  /** What the signature of the result commit `oid` says (cached per commit). */
  verify(objects: ObjectStore, oid: string): Promise<Verification> {
    let v = this.verdicts.get(oid);
    if (!v) {
      v = this.check(objects, oid);
      this.verdicts.set(oid, v);
      v.catch(() => this.verdicts.delete(oid));
    }
    return v;
  }

  /**
   * Whether the fetched result `oid` of `builder/entry` from `remote` must not be adopted; if so, why is said
   * (once per result, however often it is looked up) and the job builds here.
   */
  async refuses(objects: ObjectStore, oid: string, remote: string, builder: string, entry: string, warn?: (m: string) => void): Promise<boolean> {
    const why = await this.refusal(objects, oid, remote);
    if (why === undefined) { return false; }
    if (!this.said.has(oid)) {
      this.said.add(oid);
      warn?.(`${entry.split('/')[0]}: ${why}; it is built here (${builder}/${entry.slice(0, entry.indexOf('/') + 17)}…, result ${oid.slice(0, 12)})`);
    }
    return true;
  }

  /**
   * Why the fetched result `oid` from `remote` is not used (`fetched from origin, unsigned — not used`), or
   * undefined when it may be adopted.
   */
  async refusal(objects: ObjectStore, oid: string, remote: string): Promise<string | undefined> {
    if (this.accept === 'any') { return undefined; }
    const v = await this.verify(objects, oid);
    if (v.kind === 'unsigned') { return `fetched from ${remote}, unsigned — not used`; }
    if (v.kind === 'untrusted') { return `fetched from ${remote}, signature by ${v.signer} not trusted${v.why ? ` (${v.why})` : ''} — not used`; }
    return undefined;
  }

  private async check(objects: ObjectStore, oid: string): Promise<Verification> {
    const { signers, text } = await this.signers();
    if (signers === undefined) { return { kind: 'unverified' }; }
    const raw = await objects.read(oid);
    const signed = splitSignedCommit(raw.content);
    if (!signed) { return { kind: 'unsigned' }; }
    let sig: SshSignature;
    try {
      sig = parseSshsig(signed.signature);
    } catch (e) {
      return { kind: 'untrusted', signer: 'an unknown key', why: DataKitError.is(e) ? e.message : 'not an SSH signature' };
    }
    const who = fingerprint(sig.publicBlob);
    const line = findSigner(signers, sig.publicBlob, GIT_NAMESPACE, parseCommit(signed.payload).time);
    if (!line) { return { kind: 'untrusted', signer: who }; }
    const good = verifySshsig(sig, signed.payload) ?? await sshKeygenVerifies(text!, line.principals[0]!, signed.signature, signed.payload);
    return good ? { kind: 'verified', principal: line.principals[0]! } : { kind: 'untrusted', signer: `${line.principals[0]} (${who})`, why: 'the signature does not match the result' };
  }
}

/**
 * A signature by a key this process does not check itself (RSA, ECDSA, security keys): `ssh-keygen -Y verify`
 * decides, with the allowed-signers text in a temporary file.
 */
async function sshKeygenVerifies(allowed: string, principal: string, signature: string, payload: Buffer): Promise<boolean> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'datakit-ci-verify-'));
  try {
    const file = path.join(dir, 'allowed_signers');
    const sigFile = path.join(dir, 'sig');
    await fs.promises.writeFile(file, allowed);
    await fs.promises.writeFile(sigFile, signature);
    const r = await runSshKeygen(['-Y', 'verify', '-f', file, '-I', principal, '-n', GIT_NAMESPACE, '-s', sigFile], payload);
    return r.code === 0;
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
