// (1) Activation to a filled tree, repeated: each round loads a repository the way activation does (see
// load.ts) and disposes it. `big` holds HEAD's 10 results and 10,000 others, `baseline` only HEAD's 10;
// rounds alternate between the two. Then the same after `git gc` of both results repositories (every ref
// packed, every object in one pack). The first round of each series (code loading, JIT) is left out of the
// statistics and reported on its own. Then the steps of a load are timed one by one (stepsOnce), apart.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import { Operations } from '../../../src/extension/operations';
import { Sessions } from '../../../src/extension/session/sessions';
import { TreeModel } from '../../../src/extension/tree/treeModel';
import { BuildTreeProvider } from '../../../src/extension/tree/treeProvider';
import { gitIn } from '../../fixtures';
import { OTHER_ENTRIES } from './fixture';
import { checkRows, loadOnce, NO_MEMORY, stepsOnce, walkTree, type LoadTimes, type StepTimes } from './load';
import { api, report, round, summary } from './measure';

const ROUNDS = 15;

const resultsOf = (repo: string): string => path.join(repo, '.git', 'datakit-ci');

/** Loose and packed objects and refs of a results repository. */
function shape(gitDir: string): Record<string, number> {
  const c = Object.fromEntries(gitIn(gitDir, 'count-objects', '-v').split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
  const loose = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true })
    .reduce((n, d) => n + (d.isDirectory() ? loose(path.join(dir, d.name)) : 1), 0);
  const packedRefs = fs.existsSync(path.join(gitDir, 'packed-refs'))
    ? fs.readFileSync(path.join(gitDir, 'packed-refs'), 'utf8').split('\n').filter((l) => /^[0-9a-f]{40} /.test(l)).length : 0;
  return { looseObjects: c.count, packedObjects: c['in-pack'], packKiB: c['size-pack'], looseRefs: loose(path.join(gitDir, 'refs')), packedRefs };
}

function stats(rounds: LoadTimes[]): Record<string, unknown> {
  const [first, ...rest] = rounds;
  const pick = (k: keyof LoadTimes): number[] => rest.map((r) => r[k]);
  return {
    firstRoundMs: round(first.total, 1),
    totalMs: summary(pick('total')),
    openMs: round(summary(pick('open')).median), startMs: round(summary(pick('start')).median), treeMs: round(summary(pick('tree')).median),
  };
}

describe('bench: activation to a filled tree, repeated', function () {
  this.timeout(180_000);
  const big = () => path.dirname(vscode.workspace.workspaceFolders![0].uri.fsPath);
  const small = () => process.env.DATAKIT_CI_BENCH_BASELINE!;
  let storage: string;

  before(async () => {
    await api();
    assert.ok(process.env.DATAKIT_CI_BENCH_BASELINE, 'the runner names the baseline repository');
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-bench-'));
  });
  after(() => fs.rmSync(storage, { recursive: true, force: true }));

  async function alternate(label: string): Promise<void> {
    const rounds: { big: LoadTimes[]; baseline: LoadTimes[] } = { big: [], baseline: [] };
    const steps: { big: StepTimes[]; baseline: StepTimes[] } = { big: [], baseline: [] };
    for (let i = 0; i < ROUNDS; i++) {
      rounds.big.push(await loadOnce(big(), storage));
      rounds.baseline.push(await loadOnce(small(), storage));
    }
    for (let i = 0; i < ROUNDS; i++) {
      steps.big.push(await stepsOnce(big(), storage));
      steps.baseline.push(await stepsOnce(small(), storage));
    }
    const stepMedians = (xs: StepTimes[]): Record<string, number> =>
      Object.fromEntries((Object.keys(xs[0]) as (keyof StepTimes)[]).map((k) => [k, summary(xs.slice(1).map((x) => x[k])).median]));
    report(`activation.load.${label}`, {
      rounds: ROUNDS,
      big: { entries: OTHER_ENTRIES + 10, ...stats(rounds.big), stepMediansMs: stepMedians(steps.big), results: shape(resultsOf(big())) },
      baseline: { entries: 10, ...stats(rounds.baseline), stepMediansMs: stepMedians(steps.baseline), results: shape(resultsOf(small())) },
    });
  }

  it('loads HEAD\'s 10 jobs among 10,000 saved results, against a repository of 10', async () => {
    await alternate('asWritten');
  });

  it('does the same through a whole Sessions, as activate does, on the workspace', async () => {
    const output = vscode.window.createOutputChannel('DataKit CI bench', { log: true });
    const times: number[] = [];
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        const sessions = new Sessions(output, new Operations(output), NO_MEMORY);
        const tree = new BuildTreeProvider(new TreeModel(() => sessions.all), sessions);
        try {
          await sessions.sync();
          const rows = await walkTree(tree);
          times.push(performance.now() - t0);
          checkRows(rows);
        } finally {
          tree.dispose();
          sessions.dispose();
        }
      }
    } finally {
      output.dispose();
    }
    const [first, ...rest] = times;
    report('activation.load.sessions', { rounds: ROUNDS, entries: OTHER_ENTRIES + 10, firstRoundMs: round(first, 1), totalMs: summary(rest) });
  });

  it('loads both again after `git gc` of their results repositories', async () => {
    const t0 = performance.now();
    for (const repo of [big(), small()]) { gitIn(resultsOf(repo), 'gc', '--quiet'); }
    const gcMs = performance.now() - t0;
    console.log(`git gc of both results repositories: ${round(gcMs, 0)} ms`);
    await alternate('afterGc');
  });
});
