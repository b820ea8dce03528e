// Incremental builds inside a job's checkout: what a job's tool leaves there that git does not track (object
// files, a log of what it compiled) is there at the job's next build, so a one-file change recompiles one
// file; `"clean": true` starts from the commit's files alone. Real make and cc in a real repository.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('incremental');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

const missing = ['make', 'cc'].filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0);

// Each compile appends the source's name to compiled.txt (untracked); the objects are ignored files (*.o).
const MAKEFILE = [
  'app: a.o b.o',
  '\tcc -o app a.o b.o',
  '%.o: %.c',
  '\techo $< >> compiled.txt',
  '\tcc -c -o $@ $<',
  '',
].join('\n');
const JOB = { run: 'make && ./app && echo "compiled so far: $(tr \'\\n\' \' \' < compiled.txt)"', inputs: ['Makefile', 'a.c', 'b.c'] };

function build(dir: string): void {
  const r = runCli(dir, ['build'], CLI_ENV);
  assert.equal(r.code, 0, r.out + r.err);
}

/** The list of sources the job's build of HEAD reports having compiled, over all its builds in that checkout. */
function compiled(dir: string, job: string): string {
  const r = runCli(dir, ['log', job], CLI_ENV);
  assert.equal(r.code, 0, r.out + r.err);
  const line = /^compiled so far: (.*)$/m.exec(r.out);
  assert.ok(line, r.out);
  return line[1]!.trim();
}

describe('a job\'s untracked products stay in its checkout between builds', () => {
  it('a one-file change recompiles that file alone with make; "clean": true compiles every file again', { skip: missing.length > 0 && `not installed: ${missing.join(', ')}` }, () => {
    const dir = repo(path.join(tmp, 'c'), {
      jobs: { kept: JOB, fresh: { ...JOB, clean: true } },
      files: {
        Makefile: MAKEFILE, '.gitignore': '*.o\napp\n',
        'a.c': 'int b(void);\nint main(void) { return b(); }\n', 'b.c': 'int b(void) { return 0; }\n',
      },
    });
    build(dir);
    assert.equal(compiled(dir, 'kept'), 'a.c b.c');
    assert.equal(compiled(dir, 'fresh'), 'a.c b.c');

    write(dir, { 'b.c': 'int b(void) { return 1 - 1; }\n' });
    git(dir, 'commit', '-qam', 'change b.c');
    build(dir);
    assert.equal(compiled(dir, 'kept'), 'a.c b.c b.c', 'the second build compiled b.c alone: a.o and compiled.txt stayed');
    assert.equal(compiled(dir, 'fresh'), 'a.c b.c', 'the clean job started from the commit\'s files and compiled both');
  });
});
