// `gc --remote R`: the claims runners left on a remote, removed by what can be known of them. A bare repository
// is the remote; claims are put there by hand, as a runner that died (or a hostile one) would leave them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GitStore } from '../../src/store/results/gitStore';
import { applyClaimsGc, planClaimsGc } from '../../src/store/results/claimsGc';
import { CLAIMS_PREFIX } from '../../src/store/results/claims';
import { ENV, git, gitWith, makeTeam, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('claimsgc');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> =>
  runCli(cwd, args, { ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(cwd)}`) });

/** Puts a claim of `content` on the remote for `entry`; its value. */
function putClaim(remote: string, entry: string, content: string): string {
  const id = gitWith({ cwd: remote, input: content }, 'hash-object', '-w', '--stdin');
  git(remote, 'update-ref', `${CLAIMS_PREFIX}${entry}`, id);
  return id;
}
const claimText = (runner: string, time: number): string => `datakit-ci claim 1\nrunner ${runner}\ntime ${time}\nnonce 0011223344556677\n`;
/** Puts a result for `entry` on the remote (any commit: gc only asks whether one is there). */
const putResult = (remote: string, entry: string): string => git(remote, 'update-ref', `refs/datakit-ci/${entry}`, git(remote, 'rev-parse', 'HEAD'));
const claimsOn = (remote: string): string[] => git(remote, 'for-each-ref', '--format=%(refname)', CLAIMS_PREFIX).split('\n').filter(Boolean).map((r) => r.slice(CLAIMS_PREFIX.length));
const HOUR = 3_600_000;

describe('gc --remote removes the claims runners left', () => {
  it('removes a leftover (its result is there, unrefreshed) and a stale claim, leaves the ones a runner may hold, one printable line each', () => {
    const { remote, clone } = makeTeam(tmp, 'gc', { build: { run: 'true' } });
    const now = Date.now();
    putClaim(remote, 'shell/leftover/0123456789abcdef', claimText('runner-1 pid 11', now - 10 * 60_000));
    putResult(remote, 'shell/leftover/0123456789abcdef');
    putClaim(remote, 'shell/stale/0123456789abcdef', claimText('runner-2 pid 22', now - 30 * HOUR));
    putClaim(remote, 'shell/busy/0123456789abcdef', claimText('runner-3 pid 33', now));
    putClaim(remote, 'shell/finishing/0123456789abcdef', claimText('runner-4 pid 44', now));
    putResult(remote, 'shell/finishing/0123456789abcdef');
    putClaim(remote, 'shell/hostile/0123456789abcdef', 'datakit-ci claim 1\nrunner evil\x1b]0;owned\x07\ntime 1\n');
    putClaim(remote, 'shell/ahead/0123456789abcdef', claimText('runner-5 pid 55', now + 48 * HOUR));

    const dir = clone('gc');
    const r = cli(dir, 'gc', '--remote', 'origin');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.includes('\x1b') || r.out.includes('\x07'), false, 'a claim\'s content never reaches the terminal raw');
    const line = (entry: string): string => r.out.split('\n').find((l) => l.includes(` shell/${entry}/`)) ?? `(no line for ${entry})`;
    assert.match(r.out, /^claims on origin: 2 removed, 4 left \(1 held by runners at work\)$/m);
    assert.match(line('leftover'), /^ {2}removed shell\/leftover\/0123456789abcdef of runner-1 pid 11: a leftover: its result is on origin, and its maker last refreshed it 10 min ago$/);
    assert.match(line('stale'), /^ {2}removed shell\/stale\/0123456789abcdef of runner-2 pid 22: stale: its maker last refreshed it 30\.0 h ago \(more than 24\.0 h\)$/);
    assert.match(line('finishing'), /^ {2}left shell\/finishing\/\w+ of runner-4 pid 44: its result is on origin, but its maker refreshed it \d+ s ago: a runner may be at it still$/);
    assert.match(line('hostile'), /^ {2}left shell\/hostile\/\w+ of an unknown runner \(its runner's name is missing or not printable text\): its age cannot be told/);
    assert.match(line('ahead'), /^ {2}left shell\/ahead\/\w+ of runner-5 pid 55: its age cannot be told \(its time is ahead of this machine's clock\); a gc that sees it unchanged for 24\.0 h removes it$/);
    assert.equal(line('busy'), '(no line for busy)', 'a claim in use is counted, not listed');
    assert.deepEqual(claimsOn(remote).sort(), ['shell/ahead/0123456789abcdef', 'shell/busy/0123456789abcdef', 'shell/finishing/0123456789abcdef', 'shell/hostile/0123456789abcdef']);
  });

  it('removes an unreadable claim whose result is there once gc has seen it unchanged for the claim expiry, by its own clock', async () => {
    const { remote, clone } = makeTeam(tmp, 'unread', { build: { run: 'true' } });
    putClaim(remote, 'shell/odd/0123456789abcdef', 'datakit-ci claim 2\nsomething newer\n');
    putResult(remote, 'shell/odd/0123456789abcdef');
    const dir = clone('gc');
    const first = cli(dir, 'gc', '--remote', 'origin', '--claim-expiry', '1');
    assert.match(first.out, /left shell\/odd\/\w+ of an unknown runner \(not a claim of this version of datakit-ci\): its result is on origin, but its age cannot be told/);
    assert.deepEqual(claimsOn(remote), ['shell/odd/0123456789abcdef']);
    // More than the expiry later (a lower bound only: however slow the machine, at least this much has passed).
    await new Promise((r) => setTimeout(r, 1500));
    const second = cli(dir, 'gc', '--remote', 'origin', '--claim-expiry', '1');
    assert.match(second.out, /removed shell\/odd\/\w+ of an unknown runner \(not a claim of this version of datakit-ci\): a leftover: its result is on origin, and gc here has seen it unchanged for \d+ s/);
    assert.deepEqual(claimsOn(remote), []);
  });

  it('never removes a claim refreshed after gc looked: the removal holds a lease on the value seen', async () => {
    const { remote, clone } = makeTeam(tmp, 'lease', { build: { run: 'true' } });
    putClaim(remote, 'shell/revived/0123456789abcdef', claimText('runner-6 pid 66', Date.now() - 30 * HOUR));
    const dir = clone('gc');
    const store = await GitStore.open({ resultsDir: path.join(dir, '.git', 'datakit-ci') });
    const claims = store.claims({ remote: 'origin', userConfig: path.join(dir, '.git', 'config'), runner: 'gc', timeoutMs: 60_000 });
    const plan = await planClaimsGc(claims, 'origin', { expiryMs: 120_000, maxAgeMs: 24 * HOUR });
    assert.deepEqual(plan.map((p) => [p.claim.entry, p.remove]), [['shell/revived/0123456789abcdef', true]], 'stale when gc looked');
    // Its runner refreshes it now.
    const refreshed = putClaim(remote, 'shell/revived/0123456789abcdef', claimText('runner-6 pid 66', Date.now()));
    const r = await applyClaimsGc(claims, plan);
    assert.deepEqual(r.removed, []);
    assert.deepEqual(r.left.map((c) => c.why), ['it changed since gc looked (a runner refreshed, took or removed it): left as it is']);
    assert.equal(git(remote, 'rev-parse', `${CLAIMS_PREFIX}shell/revived/0123456789abcdef`), refreshed);
  });

  it('refuses the options of a local gc with --remote, and --claim-expiry without it', () => {
    const { clone } = makeTeam(tmp, 'usage', { build: { run: 'true' } });
    const dir = clone('u');
    assert.match(cli(dir, 'gc', '--remote', 'origin', '--keep', '3').err, /gc --remote removes claims on the remote: it takes no --max-age, --keep or --max-size/);
    assert.equal(cli(dir, 'gc', '--claim-expiry', '5').code, 2);
    assert.equal(cli(dir, 'gc', '--remote', 'origin', '--claim-expiry', '0').code, 2);
  });
});
