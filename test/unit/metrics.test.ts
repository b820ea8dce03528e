import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register } from 'prom-client';
import { CacheMetrics } from '../../src/engine/metrics';

describe('CacheMetrics', () => {
  it('exposes the seed\'s cache metrics with their help texts, labelled by builder name', async () => {
    const m = new CacheMetrics();
    m.buildsStarted.inc({ name: 'shell' });
    m.buildsStarted.inc({ name: 'shell' });
    m.buildsStarted.inc({ name: 'other' });
    m.buildsSucceeded.inc({ name: 'shell' });
    m.buildsFailed.inc({ name: 'shell' });
    m.buildExceptions.inc({ name: 'other' });
    m.buildsInProgress.inc({ name: 'shell' });
    m.buildsInProgress.inc({ name: 'shell' });
    m.buildsInProgress.dec({ name: 'shell' });
    m.buildTime.observe({ name: 'shell' }, 1.5);
    m.buildTime.observe({ name: 'shell' }, 2);
    const lines = (await m.text()).split('\n');
    for (const expected of [
      '# HELP DataKitCI_cache_builds_started_total Total number of builds started',
      '# TYPE DataKitCI_cache_builds_started_total counter',
      'DataKitCI_cache_builds_started_total{name="shell"} 2',
      'DataKitCI_cache_builds_started_total{name="other"} 1',
      '# HELP DataKitCI_cache_builds_succeeded_total Total number of builds that succeeded',
      'DataKitCI_cache_builds_succeeded_total{name="shell"} 1',
      '# HELP DataKitCI_cache_builds_failed_total Total number of builds that failed',
      'DataKitCI_cache_builds_failed_total{name="shell"} 1',
      '# HELP DataKitCI_cache_build_exceptions_total Total number of builds that raised an exception',
      'DataKitCI_cache_build_exceptions_total{name="other"} 1',
      '# HELP DataKitCI_cache_builds_in_progress Number of builds in progress',
      '# TYPE DataKitCI_cache_builds_in_progress gauge',
      'DataKitCI_cache_builds_in_progress{name="shell"} 1',
      '# HELP DataKitCI_cache_build_time Total build time',
      '# TYPE DataKitCI_cache_build_time summary',
      'DataKitCI_cache_build_time_sum{name="shell"} 3.5',
      'DataKitCI_cache_build_time_count{name="shell"} 2',
      'DataKitCI_cache_build_time{quantile="0.5",name="shell"} 1.75',
      '# HELP DataKitCI_pool_qlen Number of users waiting for a resource',
      '# TYPE DataKitCI_pool_qlen gauge',
      '# HELP DataKitCI_pool_resources_in_use Number of resources currently being used',
      '# HELP DataKitCI_pool_capacity Total pool capacity',
      '# HELP DataKitCI_pool_wait_time_seconds Time spent waiting for a resource',
      '# TYPE DataKitCI_pool_wait_time_seconds summary',
      '# HELP DataKitCI_pool_use_time_seconds Time spent using a resource',
    ]) {
      assert.ok(lines.includes(expected), `missing: ${expected}`);
    }
  });

  it('gives each instance a registry of its own and leaves prom-client\'s global registry empty', async () => {
    const a = new CacheMetrics();
    const b = new CacheMetrics();
    assert.notEqual(a.registry, b.registry);
    a.buildsStarted.inc({ name: 'shell' });
    b.buildsStarted.inc({ name: 'shell' }, 5);
    assert.ok((await a.text()).includes('DataKitCI_cache_builds_started_total{name="shell"} 1\n'));
    assert.ok((await b.text()).includes('DataKitCI_cache_builds_started_total{name="shell"} 5\n'));
    assert.deepEqual(register.getMetricsAsArray(), []);
    assert.equal((await register.metrics()).trim(), '');
  });
});
