// Running OpenSSH's ssh-keygen: to sign with the user's own setup (an agent, an encrypted key, a security
// key) and to verify signatures by keys this process does not check itself.
import { childProcess } from '../../shared/lazy';
import { DataKitError } from '../../shared/errors';

/** Runs `ssh-keygen args` with `input` on its stdin; a missing ssh-keygen is `SigningFailed`. */
export function runSshKeygen(args: readonly string[], input: Buffer | string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('ssh-keygen', [...args], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* it may exit before reading all its input */ });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new DataKitError('SigningFailed', 'Could not run ssh-keygen: install OpenSSH (ssh signatures need it) and make sure it is on the PATH.') : e);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(input);
  });
}
