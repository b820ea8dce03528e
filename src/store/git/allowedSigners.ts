// OpenSSH's allowed-signers file (ssh-keygen(1), "ALLOWED SIGNERS"), the file git's
// `gpg.ssh.allowedSignersFile` names: one key a line, `principals [options] keytype base64-key [comment]`.
// Parsed here so that a signature by an ed25519 key is checked in this process; the text is kept for
// `ssh-keygen -Y verify`, which checks the other key types.

export interface AllowedSigner {
  /** The principals the line names (patterns, comma-separated in the file), the first one shown. */
  readonly principals: readonly string[];
  readonly keyType: string;
  /** The public key blob (ssh wire format). */
  readonly publicBlob: Buffer;
  /** `namespaces="git,file"`: the namespaces the key may sign in; undefined, any. */
  readonly namespaces?: readonly string[];
  /** `valid-after` / `valid-before`, ms since the epoch. */
  readonly validAfter?: number;
  readonly validBefore?: number;
  /** `cert-authority`: the key signs certificates, not commits; such a line never matches a key itself. */
  readonly certAuthority: boolean;
}

/** Splits on spaces outside double quotes. */
function tokens(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') { quoted = !quoted; cur += ch; continue; }
    if (!quoted && (ch === ' ' || ch === '\t')) {
      if (cur) { out.push(cur); cur = ''; }
      continue;
    }
    cur += ch;
  }
  if (cur) { out.push(cur); }
  return out;
}

/** `YYYYMMDD[HHMM[SS]][Z]` as ssh-keygen reads it (local time unless `Z`). */
function sshTime(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(s);
  if (!m) { return undefined; }
  const [y, mo, d, h = '0', mi = '0', se = '0'] = m.slice(1).map((v) => v ?? undefined) as string[];
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)] as const;
  return m[7] ? Date.UTC(...parts) : new Date(...parts).getTime();
}

function isKeyType(t: string): boolean {
  return /^(ssh-|ecdsa-|sk-ssh-|sk-ecdsa-)/.test(t);
}

/** The lines of an allowed-signers file; a line that cannot be read is left out (ssh-keygen skips it too). */
export function parseAllowedSigners(text: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) { continue; }
    const t = tokens(line);
    if (t.length < 3) { continue; }
    let i = 1;
    let options = '';
    if (!isKeyType(t[1]!)) { options = t[1]!; i = 2; }
    const keyType = t[i];
    const blob = t[i + 1];
    if (keyType === undefined || blob === undefined || !isKeyType(keyType)) { continue; }
    const opts = new Map<string, string>();
    for (const o of options.match(/([A-Za-z-]+)(="[^"]*")?/g) ?? []) {
      const eq = o.indexOf('=');
      opts.set((eq < 0 ? o : o.slice(0, eq)).toLowerCase(), eq < 0 ? '' : o.slice(eq + 2, -1));
    }
    const after = opts.has('valid-after') ? sshTime(opts.get('valid-after')!) : undefined;
    const before = opts.has('valid-before') ? sshTime(opts.get('valid-before')!) : undefined;
    out.push({
      principals: t[0]!.replace(/^"|"$/g, '').split(','), keyType, publicBlob: Buffer.from(blob, 'base64'),
      ...(opts.has('namespaces') ? { namespaces: opts.get('namespaces')!.split(',') } : {}),
      ...(after !== undefined ? { validAfter: after } : {}), ...(before !== undefined ? { validBefore: before } : {}),
      certAuthority: opts.has('cert-authority'),
    });
  }
  return out;
}

/**
 * The line that lets `publicBlob` sign in `namespace` at `when` (ms since the epoch: the commit's time, as git
 * asks `ssh-keygen -Overify-time`); undefined if none.
 */
export function findSigner(signers: readonly AllowedSigner[], publicBlob: Buffer, namespace: string, when: number): AllowedSigner | undefined {
  return signers.find((s) => !s.certAuthority && s.publicBlob.equals(publicBlob)
    && (s.namespaces === undefined || s.namespaces.includes(namespace))
    && (s.validAfter === undefined || when >= s.validAfter) && (s.validBefore === undefined || when <= s.validBefore));
}
