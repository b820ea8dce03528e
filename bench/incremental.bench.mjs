// A one-file change built through `datakit-ci build JOB` against the same tool run by hand after the same
// change, in a repository that was built once both ways (the job's checkout and a clone beside it keep
// their products). Each round appends a comment line to FILE in both, commits it in the repository, and
// times both (in rotating order); then a fully cached build of the job (the fixed cost with no work).
// Run after `npm run build`, in a clone whose .datakit-ci.json is committed and built once:
//   node bench/incremental.bench.mjs REPO JOB FILE COMMENT ROUNDS -- HAND COMMAND...
// e.g. node bench/incremental.bench.mjs /tmp/cJSON test cJSON.c '/* {} */' 5 -- make test
// The clone for the hand runs is REPO-hand (made by `git clone REPO REPO-hand` if missing, then built once).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { distFile, gitIn, median, wall } from './lib.mjs';

const sep = process.argv.indexOf('--');
const [repo, job, file, comment, roundsArg] = process.argv.slice(2, sep);
const hand = process.argv.slice(sep + 1);
if (sep < 0 || !repo || !job || !file || !comment || hand.length === 0) {
  console.error('usage: node bench/incremental.bench.mjs REPO JOB FILE COMMENT ROUNDS -- HAND COMMAND...');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 3);
const cli = distFile('cli.js');
const env = { ...process.env };
const handDir = `${repo}-hand`;
const shell = hand.join(' ');

if (!fs.existsSync(handDir)) {
  gitIn(path.dirname(repo), ['clone', '-q', repo, handDir]);
  wall('/bin/sh', ['-c', shell], { cwd: handDir, env });
}
let n = 0;
// COMMENT is the line's start ('//', '#'), or the whole line with {} for the text ('/* {} */' for C89).
const line = () => (comment.includes('{}') ? comment.replace('{}', `change ${process.pid}.${n}`) : `${comment} change ${process.pid}.${n}`);
const change = (dir) => fs.appendFileSync(path.join(dir, file), `${line()}\n`);
/** The job's own run time as the build recorded it. */
const jobMs = () => {
  const r = spawnSync('node', [cli, 'status', '--json'], { cwd: repo, env, encoding: 'utf8' });
  return JSON.parse(r.stdout).jobs.find((j) => j.job === job).durationMs;
};

const times = { datakit: [], job: [], hand: [], cached: [] };
for (let r = 0; r < rounds; r++) {
  n++;
  change(repo);
  gitIn(repo, ['commit', '-qam', `bench change ${n}`]);
  change(handDir);
  // Which goes first alternates from one round to the next.
  const runDatakit = () => times.datakit.push(wall('node', [cli, 'build', job], { cwd: repo, env }));
  const runHand = () => times.hand.push(wall('/bin/sh', ['-c', shell], { cwd: handDir, env }));
  if (r % 2 === 0) { runDatakit(); runHand(); } else { runHand(); runDatakit(); }
  times.job.push(jobMs());
  times.cached.push(wall('node', [cli, 'build', job], { cwd: repo, env }));
}
const s = (x) => `${(x / 1000).toFixed(2)} s`;
console.log(`${path.basename(repo)} ${job} (${file}), ${rounds} rounds; hand: ${shell}`);
console.log(`  datakit-ci build ${job}: median ${s(median(times.datakit))} [${times.datakit.map(s).join(', ')}]`);
console.log(`    of which the job's own run: median ${s(median(times.job))} [${times.job.map(s).join(', ')}]`);
console.log(`  by hand: median ${s(median(times.hand))} [${times.hand.map(s).join(', ')}]`);
console.log(`  ratio ${(median(times.datakit) / median(times.hand)).toFixed(2)}; fully cached build of the job: median ${s(median(times.cached))}`);
