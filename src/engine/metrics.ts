// The cache's and the pool's Prometheus metrics (the seed's names and help texts), in a registry of our
// own: every extension shares one extension-host process, and so would prom-client's default registry.
import { Counter, Gauge, Registry, Summary } from 'prom-client';

type Label = 'name';

export class CacheMetrics {
  readonly buildsStarted: Counter<Label>;
  readonly buildsSucceeded: Counter<Label>;
  readonly buildsFailed: Counter<Label>;
  readonly buildExceptions: Counter<Label>;
  readonly buildsInProgress: Gauge<Label>;
  /** Seconds. */
  readonly buildTime: Summary<Label>;
  readonly poolQlen: Gauge<Label>;
  readonly poolResourcesInUse: Gauge<Label>;
  readonly poolCapacity: Gauge<Label>;
  readonly poolWaitTime: Summary<Label>;
  readonly poolUseTime: Summary<Label>;

  /** `registry` defaults to a new one; never pass prom-client's global `register`. */
  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    const labelNames = ['name'] as const;
    const counter = (name: string, help: string): Counter<Label> => new Counter({ name, help, labelNames, registers });
    const gauge = (name: string, help: string): Gauge<Label> => new Gauge({ name, help, labelNames, registers });
    const summary = (name: string, help: string): Summary<Label> => new Summary({ name, help, labelNames, registers });
    // Labels are builder names (cache) and pool names.
    this.buildsStarted = counter('DataKitCI_cache_builds_started_total', 'Total number of builds started');
    this.buildsSucceeded = counter('DataKitCI_cache_builds_succeeded_total', 'Total number of builds that succeeded');
    this.buildsFailed = counter('DataKitCI_cache_builds_failed_total', 'Total number of builds that failed');
    this.buildExceptions = counter('DataKitCI_cache_build_exceptions_total', 'Total number of builds that raised an exception');
    this.buildsInProgress = gauge('DataKitCI_cache_builds_in_progress', 'Number of builds in progress');
    this.buildTime = summary('DataKitCI_cache_build_time', 'Total build time');
    this.poolQlen = gauge('DataKitCI_pool_qlen', 'Number of users waiting for a resource');
    this.poolResourcesInUse = gauge('DataKitCI_pool_resources_in_use', 'Number of resources currently being used');
    this.poolCapacity = gauge('DataKitCI_pool_capacity', 'Total pool capacity');
    this.poolWaitTime = summary('DataKitCI_pool_wait_time_seconds', 'Time spent waiting for a resource');
    this.poolUseTime = summary('DataKitCI_pool_use_time_seconds', 'Time spent using a resource');
  }

  /** The Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
