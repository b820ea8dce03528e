// `gc --remote R`: the claims runners left on a remote (see claims.ts). A gc looks once, so it cannot watch a
// claim stay unchanged as a runner does; it goes by what it can know: the time a claim's maker wrote in it
// (another machine's clock: judged only with a wide margin), and how long gc runs here have seen the very same
// value (this machine's clock, recorded in `claims-gc/<remote>` of the results repository). Each claim is
// removed with a lease on the value seen: one a runner refreshed or took meanwhile is never removed.
import path = require('node:path');
import { readStamped, writeStamped } from './stampedFile';
import { claimHolder, type Claim, type Claims } from './claims';

export interface ClaimsGcOptions {
  /** A claim unrefreshed this long (ms) whose result is on the remote is a leftover (runners refresh three times as often). */
  readonly expiryMs: number;
  /** A claim unrefreshed this long (ms) is stale, its result there or not. */
  readonly maxAgeMs: number;
  /** The clock (ms). */
  readonly now?: () => number;
}

/** One claim gc removed or left, and why (`holder`: its runner's name, printable ASCII, or why it is unknown). */
export interface ClaimVerdict {
  readonly entry: string;
  readonly holder: string;
  readonly why: string;
}

export interface ClaimsGcReport {
  readonly removed: ClaimVerdict[];
  /** Left, with a reason worth saying (a result there, an unreadable claim, a lost lease). */
  readonly left: ClaimVerdict[];
  /** Left because a runner holds them now, by all that can be known. */
  readonly inUse: number;
}

/** What gc decides of one claim: remove it (why), or leave it (why, when worth saying). */
export type ClaimPlan = { readonly claim: Claim; readonly remove: boolean; readonly why?: string };

/** Decides each claim of the remote (listed now) and records, per value, since when gc here sees it. */
export async function planClaimsGc(claims: Claims, remote: string, o: ClaimsGcOptions): Promise<ClaimPlan[]> {
  const resultsDir = claims.resultsDir;
  const now = (o.now ?? Date.now)();
  const listed = [...(await claims.list()).values()];
  const results = await claims.resultsThere(listed.map((c) => c.entry));
  const before = readSeen(resultsDir, remote);
  const seen = new Map(listed.map((c) => [c.entry, { value: c.value, since: before.get(c.entry)?.value === c.value ? before.get(c.entry)!.since : now }] as const));
  writeSeen(resultsDir, remote, seen);
  return listed.map((c) => {
    // The maker's time, unless it is ahead of this clock (then nothing is known from it).
    const age = c.time !== undefined && c.time <= now ? now - c.time : undefined;
    const seenFor = now - seen.get(c.entry)!.since;
    const result = results.has(c.entry);
    const unchanged = seenFor > 0 ? `, and gc here has seen it unchanged for ${duration(seenFor)}` : '';
    if (result && age !== undefined && age > o.expiryMs) { return { claim: c, remove: true, why: `a leftover: its result is on ${remote}, and its maker last refreshed it ${duration(age)} ago` }; }
    if (result && seenFor > o.expiryMs) { return { claim: c, remove: true, why: `a leftover: its result is on ${remote}${unchanged}` }; }
    if (age !== undefined && age > o.maxAgeMs) { return { claim: c, remove: true, why: `stale: its maker last refreshed it ${duration(age)} ago (more than ${duration(o.maxAgeMs)})` }; }
    if (seenFor > o.maxAgeMs) { return { claim: c, remove: true, why: `stale: gc here has seen it unchanged for ${duration(seenFor)} (more than ${duration(o.maxAgeMs)})` }; }
    const unknown = age === undefined ? `its age cannot be told (${c.unreadable ?? `its time is ahead of this machine's clock`})${unchanged}; a gc that sees it unchanged for ${duration(o.maxAgeMs)} removes it` : undefined;
    if (result) { return { claim: c, remove: false, why: `its result is on ${remote}, but ${unknown ?? `its maker refreshed it ${duration(age!)} ago: a runner may be at it still`}` }; }
    return unknown !== undefined ? { claim: c, remove: false, why: unknown } : { claim: c, remove: false };
  });
}

/** Removes what the plan says, each with a lease on the value seen. */
export async function applyClaimsGc(claims: Claims, plan: readonly ClaimPlan[]): Promise<ClaimsGcReport> {
  const report = { removed: [] as ClaimVerdict[], left: [] as ClaimVerdict[], inUse: 0 };
  for (const p of plan) {
    const v = { entry: p.claim.entry, holder: claimHolder(p.claim) };
    if (!p.remove) {
      if (p.why !== undefined) { report.left.push({ ...v, why: p.why }); } else { report.inUse++; }
    } else if (await claims.release(p.claim.entry, p.claim.value)) {
      report.removed.push({ ...v, why: p.why! });
    } else {
      report.left.push({ ...v, why: 'it changed since gc looked (a runner refreshed, took or removed it): left as it is' });
    }
  }
  return report;
}

/** `45 s`, `12 min`, `3.0 h`, `2.0 days`. */
function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) { return `${Math.round(s)} s`; }
  if (s < 7200) { return `${Math.round(s / 60)} min`; }
  if (s < 172_800) { return `${(s / 3600).toFixed(1)} h`; }
  return `${(s / 86_400).toFixed(1)} days`;
}

function fileOf(resultsDir: string, remote: string): string {
  return path.join(resultsDir, 'claims-gc', remote);
}

/** Since when gc here has seen each claim's value on `remote`: `<value> <since ms> <entry>` lines. */
function readSeen(resultsDir: string, remote: string): Map<string, { value: string; since: number }> {
  return new Map([...readStamped(fileOf(resultsDir, remote))].map(([entry, s]) => [entry, { value: s.id, since: s.ms }]));
}

/** The claims on the remote now (those gone are forgotten): written whole, then renamed. */
function writeSeen(resultsDir: string, remote: string, seen: ReadonlyMap<string, { value: string; since: number }>): void {
  writeStamped(fileOf(resultsDir, remote), [...seen].map(([entry, s]) => [entry, { id: s.value, ms: s.since }] as const));
}
