// SSH signatures as git makes them (`gpg.format=ssh`): the SSHSIG format of OpenSSH's PROTOCOL.sshsig, the
// `gpgsig` header of a signed commit, an unencrypted openssh-key-v1 ed25519 private key, and ed25519 signing
// and verifying in this process. Done here rather than with `ssh-keygen` for each result: a fetch adopts
// hundreds of results, and a process each would cost more than the lookups themselves (bench/signing.bench.mjs).
import crypto = require('node:crypto');
import { DataKitError } from '../../shared/errors';

const MAGIC = Buffer.from('SSHSIG');
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const ED25519 = 'ssh-ed25519';
/** The namespace git signs commits in. */
export const GIT_NAMESPACE = 'git';

/** An ed25519 key that can sign: its public key blob (ssh wire format) and the node key. */
export interface SigningKey {
  readonly publicBlob: Buffer;
  readonly privateKey: crypto.KeyObject;
}

/** A parsed SSHSIG signature: who signed (the public key blob), for what, and the signature itself. */
export interface SshSignature {
  readonly publicBlob: Buffer;
  readonly keyType: string;
  readonly namespace: string;
  readonly hashAlgorithm: string;
  readonly sigType: string;
  readonly sig: Buffer;
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** Reads the ssh wire format (uint32-length strings) of `buf`, failing with `code` on a short read. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}
  u32(): number {
    if (this.at + 4 > this.buf.length) { throw this.bad(); }
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.at + n > this.buf.length) { throw this.bad(); }
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  text(): string { return this.bytes().toString('utf8'); }
  fixed(n: number): Buffer {
    if (this.at + n > this.buf.length) { throw this.bad(); }
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  private bad(): DataKitError { return new DataKitError('InvalidSignature', `${this.what} is truncated.`); }
}

/** The key type named at the start of a public key blob (`ssh-ed25519`, `ssh-rsa`…). */
export function keyTypeOf(publicBlob: Buffer): string {
  return new Reader(publicBlob, 'A public key').text();
}

/** OpenSSH's fingerprint of a public key: `SHA256:<base64 without padding>`. */
export function fingerprint(publicBlob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * An OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`, as `ssh-keygen -t ed25519 -N ''` writes it),
 * unencrypted and ed25519: what CI gives in `DATAKIT_CI_SIGNING_KEY`. Anything else is refused with a reason.
 */
export function parseOpenSshPrivateKey(text: string): SigningKey {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text.replace(/\\n/g, '\n'));
  if (!m) { throw new DataKitError('InvalidSigningKey', 'The signing key is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----).'); }
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0');
  if (!buf.subarray(0, magic.length).equals(magic)) { throw new DataKitError('InvalidSigningKey', 'The signing key is not in the openssh-key-v1 format.'); }
  const r = new Reader(buf.subarray(magic.length), 'The signing key');
  const cipher = r.text();
  r.text(); // kdf name
  r.bytes(); // kdf options
  if (cipher !== 'none') { throw new DataKitError('InvalidSigningKey', 'The signing key is encrypted: give an unencrypted key (a CI secret), or use git\'s user.signingKey with ssh-agent.'); }
  if (r.u32() !== 1) { throw new DataKitError('InvalidSigningKey', 'The signing key file holds more than one key.'); }
  const publicBlob = r.bytes();
  const priv = new Reader(r.bytes(), 'The signing key');
  if (priv.u32() !== priv.u32()) { throw new DataKitError('InvalidSigningKey', 'The signing key is damaged (its check numbers differ).'); }
  const type = priv.text();
  if (type !== ED25519) { throw new DataKitError('InvalidSigningKey', `The signing key is ${type}: DATAKIT_CI_SIGNING_KEY takes an ed25519 key (ssh-keygen -t ed25519).`); }
  const pub = priv.bytes();
  const secret = priv.bytes();
  const b64url = (b: Buffer): string => b.toString('base64url');
  const privateKey = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secret.subarray(0, 32)), x: b64url(pub) }, format: 'jwk' });
  return { publicBlob, privateKey };
}

/** What SSHSIG signs: the magic, the namespace and the hash of the message. */
function signedData(namespace: string, hashAlgorithm: string, message: Buffer): Buffer {
  const digest = crypto.createHash(hashAlgorithm === 'sha256' ? 'sha256' : 'sha512').update(message).digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hashAlgorithm), sshString(digest)]);
}

/** An armoured SSHSIG signature of `message` in `namespace`, as `ssh-keygen -Y sign` writes it. */
export function signSshsig(key: SigningKey, message: Buffer, namespace = GIT_NAMESPACE): string {
  const sig = crypto.sign(null, signedData(namespace, 'sha512', message), key.privateKey);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const blob = Buffer.concat([MAGIC, version, sshString(key.publicBlob), sshString(namespace), sshString(''), sshString('sha512'), sshString(Buffer.concat([sshString(ED25519), sshString(sig)]))]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/** The armoured signature parsed; `InvalidSignature` when it is not an SSHSIG one. */
export function parseSshsig(armoured: string): SshSignature {
  const m = new RegExp(`${BEGIN}([\\s\\S]*?)${END}`).exec(armoured);
  if (!m) { throw new DataKitError('InvalidSignature', 'The signature is not an SSH signature.'); }
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  if (!buf.subarray(0, 6).equals(MAGIC)) { throw new DataKitError('InvalidSignature', 'The SSH signature lacks its SSHSIG magic.'); }
  const r = new Reader(buf.subarray(6), 'The SSH signature');
  if (r.u32() !== 1) { throw new DataKitError('InvalidSignature', 'The SSH signature is of an unknown version.'); }
  const publicBlob = r.bytes();
  const namespace = r.text();
  r.bytes(); // reserved
  const hashAlgorithm = r.text();
  const s = new Reader(r.bytes(), 'The SSH signature');
  const sigType = s.text();
  return { publicBlob, keyType: keyTypeOf(publicBlob), namespace, hashAlgorithm, sigType, sig: s.bytes() };
}

/**
 * Whether an ed25519 `signature` is good for `message` in `namespace`: checked in this process (the public key
 * made a JWK). Undefined for another key type: the caller asks `ssh-keygen -Y verify`.
 */
export function verifySshsig(signature: SshSignature, message: Buffer, namespace = GIT_NAMESPACE): boolean | undefined {
  if (signature.keyType !== ED25519) { return undefined; }
  if (signature.sigType !== ED25519 || signature.namespace !== namespace || !['sha256', 'sha512'].includes(signature.hashAlgorithm)) { return false; }
  const k = new Reader(signature.publicBlob, 'The public key');
  k.text();
  const x = k.bytes();
  if (x.length !== 32 || signature.sig.length !== 64) { return false; }
  const publicKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') }, format: 'jwk' });
  return crypto.verify(null, signedData(namespace, signature.hashAlgorithm, message), publicKey, signature.sig);
}

/**
 * A raw commit split into what was signed (the commit without its `gpgsig` header, as git verifies it) and
 * the armoured signature; undefined for an unsigned commit.
 */
export function splitSignedCommit(raw: Buffer): { payload: Buffer; signature: string } | undefined {
  const text = raw.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\n');
  const at = lines.findIndex((l) => l.startsWith('gpgsig '));
  if (at < 0) { return undefined; }
  let stop = at + 1;
  while (stop < lines.length && lines[stop]!.startsWith(' ')) { stop++; }
  const signature = [lines[at]!.slice('gpgsig '.length), ...lines.slice(at + 1, stop).map((l) => l.slice(1))].join('\n') + '\n';
  const kept = [...lines.slice(0, at), ...lines.slice(stop)].join('\n');
  return { payload: Buffer.from(kept + (end < 0 ? '' : text.slice(end)), 'utf8'), signature };
}

/** The commit `payload` with `signature` as its `gpgsig` header (after the committer, as `git commit -S` puts it). */
export function withSignature(payload: Buffer, signature: string): Buffer {
  const end = payload.indexOf('\n\n');
  const header = `gpgsig ${signature.replace(/\n$/, '').split('\n').join('\n ')}`;
  return Buffer.concat([payload.subarray(0, end), Buffer.from(`\n${header}`), payload.subarray(end)]);
}
