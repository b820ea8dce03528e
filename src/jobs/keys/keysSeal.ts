// A commit's jobs and keys come from its .datakit-ci.json and its files, which never change, so a command run
// again on the same commit (a cached build, a status) need not parse the file and key every job anew if it can
// trust a record of what it computed before. The keys file beside the results repository (keysCache.ts) is
// such a record, but it is under .git, which may come from elsewhere (a copied repository, a hand edit): it is
// taken as the commit's own jobs only when sealed here, an HMAC-SHA256 of its text under a secret kept in the
// repository's build root (never inside the repository), made once by this tool and readable by its user only.
// Anything else, whatever it says, is keyed from the commit again.
import crypto = require('node:crypto');
import fs = require('node:fs');
import path = require('node:path');

/** The secret's file, in the repository's build root (which `clean` leaves alone but for work/ and deps/). */
export const KEYS_SEAL_FILE = 'keys-seal.key';

/** The secret's length: HMAC-SHA256's block is 64 bytes, its output 32; 32 random bytes are its strength. */
const SECRET_BYTES = 32;

export class KeysSeal {
  /** undefined: not read yet; null: none here (and none could be made). */
  private secret: Buffer | null | undefined;

  /**
   * `file`: the secret's file (in the build root); `create`: make it when missing (a command that may write);
   * `warn`: what could not be read or made, said once (the keys are then computed every time, as before).
   */
  constructor(readonly file: string, private readonly create: boolean, private readonly warn: (message: string) => void) {}

  /** The seal of `text` (hex), or undefined when there is no secret. */
  seal(text: string): string | undefined {
    const secret = this.key();
    return secret ? crypto.createHmac('sha256', secret).update(text).digest('hex') : undefined;
  }

  /** Whether `seal` is the seal of `text` under this secret (false without one). */
  holds(text: string, seal: string): boolean {
    const mine = this.seal(text);
    return mine !== undefined && mine.length === seal.length && crypto.timingSafeEqual(Buffer.from(mine), Buffer.from(seal));
  }

  private key(): Buffer | null {
    if (this.secret === undefined) {
      const found = this.read();
      this.secret = found === 'missing' ? (this.create ? this.make() : null) : found;
    }
    return this.secret;
  }

  /** The secret; `missing` when there is no file; null when there is one that cannot be used (said). */
  private read(): Buffer | 'missing' | null {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') { return 'missing'; }
      this.cannot(`read it: ${(e as Error).message}`);
      return null;
    }
    if (data.length !== SECRET_BYTES) {
      this.cannot(`use it: it holds ${data.length} bytes, not ${SECRET_BYTES}`);
      return null;
    }
    return data;
  }

  /**
   * Made whole or not at all: written under a temporary name, then linked to its name, which fails if another
   * process made it first (its secret is then read).
   */
  private make(): Buffer | null {
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, crypto.randomBytes(SECRET_BYTES), { mode: 0o600, flag: 'wx' });
      try {
        fs.linkSync(tmp, this.file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') { throw e; }
      }
    } catch (e) {
      this.cannot(`make it: ${(e as Error).message}`);
      return null;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const made = this.read();
    return made === 'missing' ? null : made;
  }

  private cannot(what: string): void {
    this.warn(`Could not ${what} (${this.file}, the secret that seals the keys computed for each commit): each command computes them from the commit again.`);
  }
}
