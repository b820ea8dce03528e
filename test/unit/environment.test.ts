import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRemovedVariable, jobEnvironment } from '../../src/jobs/run/environment';

const ID = { job: 'lint', commit: 'c'.repeat(40), key: 'k'.repeat(64), run: 'r-1', ceiling: '/cache/work' };

describe('a job\'s environment', () => {
  it('drops what points git at the user\'s repository, the editor\'s variables and an outer build\'s', () => {
    const inherited = {
      PATH: '/usr/bin', HOME: '/home/u', GIT_AUTHOR_NAME: 'A', GIT_SSL_CAINFO: '/ca',
      GIT_DIR: '/r/.git/worktrees/wt', GIT_INDEX_FILE: '/r/.git/worktrees/wt/index.lock', GIT_WORK_TREE: '/r', GIT_PREFIX: '',
      GIT_OBJECT_DIRECTORY: '/o', GIT_ALTERNATE_OBJECT_DIRECTORIES: '/a', GIT_COMMON_DIR: '/r/.git', GIT_EXEC_PATH: '/usr/lib/git-core',
      GIT_CONFIG_PARAMETERS: "'user.name'='a'", GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.worktree', GIT_CONFIG_VALUE_0: '/r',
      GIT_CEILING_DIRECTORIES: '/', ELECTRON_RUN_AS_NODE: '1', VSCODE_PID: '7', VSCODE_IPC_HOOK: '/tmp/s',
      DATAKIT_CI_RUN: 'outer', DATAKIT_CI_JOB: 'outer', CI: 'false',
    };
    const env = jobEnvironment(inherited, {}, ID);
    assert.deepEqual(env, {
      PATH: '/usr/bin', HOME: '/home/u', GIT_AUTHOR_NAME: 'A', GIT_SSL_CAINFO: '/ca', CI: 'true',
      GIT_CEILING_DIRECTORIES: '/cache/work', DATAKIT_CI: '1', DATAKIT_CI_JOB: 'lint', DATAKIT_CI_COMMIT: ID.commit,
      DATAKIT_CI_KEY: ID.key, DATAKIT_CI_RUN: 'r-1',
    });
  });

  it('lets the job\'s own env override CI, but not DataKit CI\'s variables', () => {
    const env = jobEnvironment({ PATH: '/bin' }, { CI: '1', FOO: 'bar', DATAKIT_CI_JOB: 'forged', DATAKIT_CI_RUN: 'forged' }, ID);
    assert.equal(env.CI, '1');
    assert.equal(env.FOO, 'bar');
    assert.equal(env.DATAKIT_CI_JOB, 'lint');
    assert.equal(env.DATAKIT_CI_RUN, 'r-1');
  });

  it('names the removed variables exactly', () => {
    for (const name of ['GIT_DIR', 'GIT_INDEX_FILE', 'ELECTRON_NO_ATTACH_CONSOLE', 'VSCODE_CWD', 'GIT_CONFIG_KEY_3']) {
      assert.equal(isRemovedVariable(name), true, name);
    }
    for (const name of ['GIT_AUTHOR_NAME', 'GIT_SSH_COMMAND', 'PATH', 'VSCODEX', 'MY_GIT_DIR']) {
      assert.equal(isRemovedVariable(name), false, name);
    }
  });
});
