// The SSH signature formats read and written in this process, checked against the real ssh-keygen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findSigner, parseAllowedSigners } from '../../src/store/git/allowedSigners';
import { fingerprint, parseOpenSshPrivateKey, parseSshsig, signSshsig, splitSignedCommit, verifySshsig, withSignature } from '../../src/store/git/sshsig';
import { ObjectStore } from '../../src/store/git/objects';
import { ResultTrust } from '../../src/store/results/trust';
import { gitWith, tempRoot } from '../fixtures';

const tmp = tempRoot('sshsig');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function keygen(name: string): { file: string; pub: string } {
  const file = path.join(tmp, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'x', '-f', file]);
  return { file, pub: fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ') };
}

describe('SSH signatures', () => {
  it('a signature made in this process is accepted by ssh-keygen -Y verify, and one by ssh-keygen -Y sign by ours', () => {
    const k = keygen('k1');
    const key = parseOpenSshPrivateKey(fs.readFileSync(k.file, 'utf8'));
    const allowed = path.join(tmp, 'allowed1');
    fs.writeFileSync(allowed, `me@example.com namespaces="git" ${k.pub}\n`);
    const message = Buffer.from('tree 0\n\nhello\n');
    fs.writeFileSync(path.join(tmp, 'sig1'), signSshsig(key, message));
    execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'me@example.com', '-n', 'git', '-s', path.join(tmp, 'sig1')], { input: message, stdio: ['pipe', 'pipe', 'pipe'] });
    const theirs = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', k.file], { input: message, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
    const parsed = parseSshsig(theirs);
    assert.equal(verifySshsig(parsed, message), true);
    assert.equal(verifySshsig(parsed, Buffer.from('tree 0\n\nhellO\n')), false, 'a changed message fails');
    assert.equal(verifySshsig(parsed, message, 'file'), false, 'another namespace fails');
    assert.equal(fingerprint(parsed.publicBlob), execFileSync('ssh-keygen', ['-l', '-f', `${k.file}.pub`]).toString().split(' ')[1]);
  });

  it('a signed commit splits back into the payload that was signed and its signature', () => {
    const key = parseOpenSshPrivateKey(fs.readFileSync(keygen('k2').file, 'utf8'));
    const payload = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a> 1 +0000\ncommitter A <a> 1 +0000\n\nsubject\n\nbody\n');
    const signed = withSignature(payload, signSshsig(key, payload));
    const back = splitSignedCommit(signed)!;
    assert.deepEqual(back.payload, payload);
    assert.equal(verifySshsig(parseSshsig(back.signature), back.payload), true);
    assert.equal(splitSignedCommit(payload), undefined, 'unsigned');
  });

  it('reads allowed-signers lines with options, and matches a key only in its namespaces and validity', () => {
    const k = keygen('k3');
    const blob = Buffer.from(k.pub.split(' ')[1]!, 'base64');
    const signers = parseAllowedSigners([
      '# a comment', '',
      `ci@example.com,bot@example.com namespaces="git",valid-after="20200101",valid-before="20300101Z" ${k.pub} the CI`,
      `files@example.com namespaces="file" ${k.pub}`,
      `ca@example.com cert-authority ${k.pub}`,
      'broken line',
    ].join('\n'));
    assert.equal(signers.length, 3);
    assert.deepEqual(signers[0]!.principals, ['ci@example.com', 'bot@example.com']);
    assert.equal(findSigner(signers, blob, 'git', Date.UTC(2025, 0, 1))?.principals[0], 'ci@example.com');
    assert.equal(findSigner(signers, blob, 'git', Date.UTC(2031, 0, 1)), undefined, 'after valid-before');
    assert.equal(findSigner(signers, blob, 'file', Date.UTC(2031, 0, 1))?.principals[0], 'files@example.com');
  });

  it('refuses an encrypted key or another key type with a reason', () => {
    const enc = path.join(tmp, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', enc]);
    assert.throws(() => parseOpenSshPrivateKey(fs.readFileSync(enc, 'utf8')), /encrypted/);
    const ecdsa = path.join(tmp, 'ecdsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
    assert.throws(() => parseOpenSshPrivateKey(fs.readFileSync(ecdsa, 'utf8')), /ecdsa-sha2-nistp256: DATAKIT_CI_SIGNING_KEY takes an ed25519 key/);
  });

  it('a result signed by git with an ECDSA key is verified through ssh-keygen, and one signed by an untrusted key is not', async () => {
    const ecdsa = path.join(tmp, 'ecdsa2');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
    const other = keygen('k5');
    const repo = path.join(tmp, 'r.git');
    gitWith({}, 'init', '-q', '--bare', repo);
    const tree = gitWith({ input: '' }, `--git-dir=${repo}`, 'mktree');
    const signedBy = (keyFile: string): string => gitWith({}, '-c', 'gpg.format=ssh', '-c', `user.signingKey=${keyFile}`, `--git-dir=${repo}`, 'commit-tree', '-S', tree, '-m', 'r');
    const pub = fs.readFileSync(`${ecdsa}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const trust = new ResultTrust(async () => ({ allowedSigners: { text: `ci@example.com ${pub}\n`, source: 'test' } }));
    const objects = new ObjectStore(repo);
    assert.deepEqual(await trust.verify(objects, signedBy(ecdsa)), { kind: 'verified', principal: 'ci@example.com' });
    assert.equal((await trust.verify(objects, signedBy(other.file))).kind, 'untrusted');
    assert.equal((await trust.verify(objects, gitWith({}, `--git-dir=${repo}`, 'commit-tree', tree, '-m', 'u'))).kind, 'unsigned');
  });
});
