// The engine's public API (dist/engine.js, `require('datakit-ci/engine')`): plain Node, no VS Code.
export { VERSION } from '../engine/version';
export { BuildFailure, type Builder, type BuildJob, type EntryReader, type Transaction } from '../engine/builder';
export { BuildCache, type BuildCacheOptions, type EntryLocks, type Logger, type ResultStore, type StatusChange } from '../engine/cache';
export { DataKitError } from '../shared/errors';
export { Emitter, type Disposable, type Event } from '../shared/events';
export { LiveLog, LogManager } from '../engine/liveLog';
export { CacheMetrics } from '../engine/metrics';
export { Pool } from '../engine/pool';
export type { Output, RebuildOutcome, Result, Saved, Status } from '../engine/status';
export { GitStore, type GitStoreOptions } from '../store/results/gitStore';
export type { EntrySnapshot, HistoryItem, StoreTransaction } from '../shared/results';
