// The disk that build directories take stays bounded: one directory per job, whatever the number of commits
// built, and `gc` and `clean` free what is no longer current and say how much.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('build-dir-disk');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A repository with a setup that makes a node_modules of 40 files and three jobs, two of which need the first. */
function project(): { dir: string; env: NodeJS.ProcessEnv; root: () => string } {
  const dir = repo(path.join(tmp, `r${n}`), {
    config: {
      setup: { run: 'mkdir -p node_modules/dep && for i in $(seq 1 40); do echo "module $i" > node_modules/dep/f$i.js; done', inputs: ['package.json'] },
      jobs: {
        build: { run: 'mkdir -p dist && cat src/*.txt > dist/all.txt', inputs: ['src/**'], outputs: ['dist/**'] },
        test: { run: 'test -s dist/all.txt && ls node_modules/dep > /dev/null', inputs: ['src/**'], needs: ['build'] },
        lint: { run: 'cat src/*.txt > /dev/null', inputs: ['src/**'], needs: ['build'] },
      },
    },
    files: { 'package.json': '{}\n', 'src/a.txt': 'a\n' },
  });
  const cache = path.join(tmp, `cache${n++}`);
  const root = (): string => {
    const ids = fs.readdirSync(cache).filter((f) => fs.statSync(path.join(cache, f)).isDirectory() && fs.existsSync(path.join(cache, f, 'work')));
    assert.equal(ids.length, 1, `one build root in ${cache}: ${ids.join(', ')}`);
    return path.join(cache, ids[0]!);
  };
  return { dir, env: { ...ENV, DATAKIT_CI_CACHE_DIR: cache }, root };
}

/** Five more commits, each changing a source every job reads. */
function fiveCommits(dir: string): void {
  for (let i = 1; i <= 5; i++) {
    write(dir, { [`src/f${i}.txt`]: `${i}\n`, 'src/a.txt': `a${i}\n` });
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', `change ${i}`);
  }
}

describe('build directories on disk', () => {
  it('a --range of 5 commits leaves one build directory per job, not one per commit', () => {
    const { dir, env, root } = project();
    fiveCommits(dir);
    const built = runCli(dir, ['build', '--range', 'HEAD~5..HEAD', '--yes'], env);
    assert.equal(built.code, 0, built.out + built.err);
    assert.match(built.out, /5 commits: 5 passed, 0 failed/);
    const work = fs.readdirSync(path.join(root(), 'work')).sort();
    assert.equal(work.length, 3, `one directory per job, not ${work.join(', ')}`);
  });
});
