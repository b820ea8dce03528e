import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileRefs } from '../../src/jobs/problems/logRefs';

describe('places a log names (its links)', () => {
  it('finds path:line:col, path:line and path(line,col), where they are in the line', () => {
    assert.deepEqual(fileRefs('src/a.ts(12,5): error TS2322: no'), [{ index: 0, length: 14, path: 'src/a.ts', line: 12, column: 5 }]);
    assert.deepEqual(fileRefs('    at run (/b/builds/3f9c/lib/x.js:10:3)'), [{ index: 12, length: 28, path: '/b/builds/3f9c/lib/x.js', line: 10, column: 3 }]);
    assert.deepEqual(fileRefs('main.c:3:1: warning: unused; see also notes/todo.md:40'), [
      { index: 0, length: 10, path: 'main.c', line: 3, column: 1 },
      { index: 38, length: 16, path: 'notes/todo.md', line: 40 },
    ]);
  });

  it('takes no time of day, ratio, URL port or line 0 for a place', () => {
    for (const line of ['started at 12:30:00', 'ratio 1:2', 'see http://example.com:8080/x', 'a.ts:0:1 nothing', 'done']) {
      assert.deepEqual(fileRefs(line), [], line);
    }
  });

  it('does not search a line longer than 4,096 characters (a minified bundle)', () => {
    assert.deepEqual(fileRefs(`${'x'.repeat(5000)} src/a.ts:1:1`), []);
  });
});
