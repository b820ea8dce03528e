// The engine's public API (dist/engine.js, `require('datakit-ci/engine')`): plain Node, no VS Code.
export { VERSION } from './version';
export { BuildFailure, type Builder, type BuildJob, type EntryReader, type Transaction } from './builder';
export { BuildCache, type BuildCacheOptions, type EntryLocks, type Logger, type ResultStore, type StatusChange } from './cache';
export { DataKitError } from './errors';
export { Emitter, type Disposable, type Event } from './events';
export { LiveLog, LogManager } from './liveLog';
export { CacheMetrics } from './metrics';
export { Pool } from './pool';
export type { Output, RebuildOutcome, Result, Saved, Status } from './status';
export { GitStore, type GitStoreOptions } from '../store/gitStore';
export type { EntrySnapshot, HistoryItem, StoreTransaction } from '../store/types';
