// The results repository (plain Node, no VS Code).
export { GitStore, FAILURE_FILE, LOG_FILE, REBUILD_FILE, type GitStoreOptions } from './gitStore';
export { GitStoreTransaction, type TransactionOptions } from './storeTransaction';
export { checkName, entryRefName, refNameProblem } from '../git/names';
export { findCommonDir, resultsDirOf, RESULTS_DIR_NAME } from './resultsRepo';
export type { CommitTimes, EntryInfo, EntrySnapshot, HistoryItem, SavedRef, StoreTransaction } from '../../shared/results';
