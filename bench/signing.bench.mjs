// Signed results: (a) the cost of verifying one fetched result's signature (read the commit, split off its
// gpgsig header, parse the SSHSIG, find the signer, ed25519 verify), ours in this process against the real
// `git verify-commit` with gpg.format=ssh; (b) `build --fetch` of N results signed by a trusted builder
// against the same N unsigned with no trusted builder (today's behaviour), whole-process wall time.
// Run after `npm run build && npx tsc -p tsconfig.test.json`: node bench/signing.bench.mjs [a] [b] [N]
// No budget: the figures say what verification adds.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, distFile, git, gitIn, median, ms, record, requireOut, sideBySide, wall, withTmp } from './lib.mjs';

const { ObjectStore } = requireOut('store/git/objects');
const { parseOpenSshPrivateKey, signSshsig } = requireOut('store/git/sshsig');
const { ResultTrust } = requireOut('store/results/trust');

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const parts = args.filter((a) => /^[ab]$/.test(a));
const want = (p) => parts.length === 0 || parts.includes(p);
const VERIFY_COMMITS = 200;
const VERIFY_ROUNDS = 5;
const FETCH_ROUNDS = 3;

function key(tmp, name, principal) {
  const file = path.join(tmp, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', principal, '-f', file]);
  const pub = fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const allowed = path.join(tmp, `${name}.allowed`);
  fs.writeFileSync(allowed, `${principal} namespaces="git" ${pub}\n`);
  return { privateKey: fs.readFileSync(file, 'utf8'), allowed };
}

async function partA(tmp) {
  const k = key(tmp, 'a_key', 'ci@example.com');
  const dir = path.join(tmp, 'a.git');
  git(tmp, ['init', '-q', '--bare', dir]);
  const objects = new ObjectStore(dir);
  const signing = parseOpenSshPrivateKey(k.privateKey);
  objects.signer = async (payload) => signSshsig(signing, payload);
  const tree = await objects.writeTree(new Map());
  const commits = [];
  for (let i = 0; i < VERIFY_COMMITS; i++) {
    commits.push(await objects.writeCommit(tree, [], `job${i} @ 0000000: passed in 1 s`, new Date(1.7e12 + i * 1000), new Date(1.7e12 + i * 1000)));
  }
  const text = fs.readFileSync(k.allowed, 'utf8');
  const ours = async () => {
    // A fresh policy and a fresh object store each round: no verdict or object is cached from the round before.
    const trust = new ResultTrust(async () => ({ allowedSigners: { text, source: 'bench' } }));
    const fresh = new ObjectStore(dir);
    for (const c of commits) { assert.equal((await trust.verify(fresh, c)).kind, 'verified'); }
  };
  const gitVerify = async () => {
    for (const c of commits.slice(0, 20)) {
      wall('git', [`--git-dir=${dir}`, '-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${k.allowed}`, 'verify-commit', c], { env: GIT_ENV });
    }
  };
  const t = await sideBySide({ ours, git: gitVerify }, VERIFY_ROUNDS);
  const per = { ours: median(t.ours) / VERIFY_COMMITS, git: median(t.git) / 20 };
  console.log(`(a) verify one result's signature: ours ${ms(per.ours)} (median of ${VERIFY_ROUNDS} rounds of ${VERIFY_COMMITS} commits), git verify-commit ${ms(per.git)} (of 20 per round) — ratio ${(per.ours / per.git).toFixed(3)}`);
  return per;
}

/** A remote whose commit declares `n` jobs, and the results of a CI clone's build pushed to it (signed or not). */
function teamWithResults(tmp, name, n, env) {
  const seed = path.join(tmp, `${name}-seed`);
  fs.mkdirSync(seed);
  gitIn(seed, ['init', '-q', '-b', 'main']);
  const jobs = Object.fromEntries(Array.from({ length: n }, (_, j) => [`job${j}`, { run: 'true', inputs: ['a.txt'] }]));
  fs.writeFileSync(path.join(seed, '.datakit-ci.json'), JSON.stringify({ jobs }));
  fs.writeFileSync(path.join(seed, 'a.txt'), 'a\n');
  gitIn(seed, ['add', '-A']);
  gitIn(seed, ['commit', '-qm', 'one']);
  const remote = path.join(tmp, `${name}.git`);
  gitIn(tmp, ['clone', '-q', '--bare', seed, remote]);
  const ci = path.join(tmp, `${name}-ci`);
  gitIn(tmp, ['clone', '-q', remote, ci]);
  const r = spawnSync(process.execPath, [distFile('cli.js'), 'build', '--push'], { cwd: ci, env: { ...env, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') }, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return remote;
}

async function partB(tmp) {
  const k = key(tmp, 'b_key', 'ci@example.com');
  const started = Date.now();
  const signedRemote = teamWithResults(tmp, 'signed', N, { ...GIT_ENV, DATAKIT_CI_SIGNING_KEY: k.privateKey });
  const unsignedRemote = teamWithResults(tmp, 'unsigned', N, { ...GIT_ENV, DATAKIT_CI_SIGNING_KEY: '' });
  console.log(`    (set up: ${N} jobs built and pushed twice in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  let round = 0;
  const fetchInto = (remote, trusted) => () => {
    const dev = path.join(tmp, `dev-${round++}`);
    gitIn(tmp, ['clone', '-q', remote, dev]);
    if (trusted) { gitIn(dev, ['config', 'datakit-ci.allowedSigners', k.allowed]); }
    const env = { ...GIT_ENV, DATAKIT_CI_SIGNING_KEY: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${round}`) };
    const t = wall(process.execPath, [distFile('cli.js'), 'build', '--fetch', '--json'], { cwd: dev, env });
    const out = JSON.parse(spawnSync(process.execPath, [distFile('cli.js'), 'status', '--json'], { cwd: dev, env, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout);
    assert.ok(out.jobs.every((j) => j.state === 'success' && j.fetchedFrom === 'origin' && j.verified === (trusted ? 'ci@example.com' : 'unverified')), 'every job a fetched hit');
    fs.rmSync(dev, { recursive: true, force: true });
    return t;
  };
  const times = {};
  const t = await sideBySide({
    signed: () => { (times.signed ??= []).push(fetchInto(signedRemote, true)()); },
    unsigned: () => { (times.unsigned ??= []).push(fetchInto(unsignedRemote, false)()); },
  }, FETCH_ROUNDS);
  void t;
  const m = { signed: median(times.signed), unsigned: median(times.unsigned) };
  console.log(`(b) build --fetch of ${N} results: signed and verified ${ms(m.signed)}, unsigned (no trusted builder) ${ms(m.unsigned)} — ratio ${(m.signed / m.unsigned).toFixed(2)}, ${ms((m.signed - m.unsigned) / N)} more per result (median of ${FETCH_ROUNDS})`);
  return m;
}

await withTmp('dkci-signing-bench-', async (tmp) => {
  const figures = { n: N };
  if (want('a')) { figures.verifyPerResultMs = await partA(tmp); }
  if (want('b')) { figures.fetchMs = await partB(tmp); }
  record('signing', figures);
});
