// The public library API: the Client and its ResultRefs, the stores, the object database, the
// hashing engine and the serializers — thin exports of what porcelain and plumbing implement.
export { Client, type ClientOptions, type CallOptions, type Args } from "./client.js";
export { ResultRef } from "../porcelain/result-ref.js";
export { TaskRef, isTaskRef, type TaskKey } from "./task-ref.js";
export type { BatchEntry, BatchResults, Summarized, SubmitManyOptions, TagFilter, ClientLogOptions } from "./client.js";
export type { BatchSummary } from "../porcelain/submit-many.js";
export type { CommitDiff } from "../porcelain/diff.js";
export type { Explanation, ExplainedCommit, Difference, DifferenceKind } from "../porcelain/explain.js";
export type { ClearOptions, ClearResult } from "../porcelain/clear.js";
export type { PinResult } from "../porcelain/pin.js";
export type { ExportFilters, ImportOptions, TransferCounts } from "../porcelain/transfer.js";
export type { Listening } from "../porcelain/server/serve.js";
export { context, type TaskContext } from "../porcelain/exec/context.js";
export type { RunOptions } from "../porcelain/run.js";
export { InProcessExecutor, type Executor, type RemoteRunner, type TaskCall, type TaskEntry } from "../porcelain/exec/executor.js";
export { QueueExecutor, startWorker, type JobReport, type QueueExecutorOptions, type QueueOptions, type QueueWait, type WorkerOptions } from "../porcelain/exec/queue.js";
export { RedisStore, type RedisStoreOptions } from "../plumbing/backends/redis/store.js";
export { WorkerPoolExecutor, type WorkerPoolOptions } from "../porcelain/exec/worker-pool.js";
export {
  v8Serializer,
  jsonSerializer,
  bytesSerializer,
  defaultSerializerFor,
  serializerByName,
  type Serializer,
} from "../plumbing/serializers.js";
export { FsStore, type FsStoreOptions } from "../plumbing/backends/fs/store.js";
export { MemoryStore } from "../plumbing/backends/memory.js";
export { HttpStore, type HttpStoreOptions } from "../plumbing/backends/http/store.js";
export { RemoteCachedStore, type RemoteCacheOptions } from "../plumbing/backends/remote.js";
export { push, type PushFilters, type PushCounts } from "../porcelain/push.js";
export { openStore, storeDir, remoteCache, type OpenStoreOptions } from "../plumbing/backends/open.js";
export type {
  Store,
  ObjectStorage,
  ObjectWriter,
  StoredObject,
  RefStorage,
  Ref,
  Claims,
  ClaimHandle,
  ClaimInfo,
  Index,
  IndexEntry,
  IndexStats,
  LogQuery,
  UsageStorage,
  UsageCounts,
  FunctionUsage,
  Usage,
} from "../plumbing/store.js";
export { ObjectDb, type ObjectRead, type ObjectKind, type PutResult } from "../plumbing/objects.js";
export { INLINE_LIMIT, encodeCommit, type Commit, type CommitRecord, type CommitStatus } from "../plumbing/commit.js";
export { sha256, isId } from "../plumbing/ids.js";
export { hashArgs, IDENTITY, PREVIEW, type Identified, type HashArgsOptions } from "../plumbing/hash/args.js";
export { previewArgs } from "../plumbing/hash/preview.js";
export { file, FileArg } from "../plumbing/hash/file-arg.js";
export { hashExportedFunction, type FunctionHash, type Component } from "../plumbing/hash/function.js";
export { hashFunctionObject, type RuntimeFunctionHash } from "../plumbing/hash/runtime.js";
export { fsck, type FsckResult, type FsckProblem, type FsckOptions } from "../plumbing/commands/fsck.js";
export { stats, type StoreStats } from "../porcelain/stats.js";
export {
  ERROR_CODES,
  type ErrorCode,
  isErrorCode,
  errorFromCode,
  CashetError,
  InvalidInputError,
  NotFoundError,
  AmbiguousIdError,
  CorruptObjectError,
  StoreUnavailableError,
  StoreReadOnlyError,
  StoreFullError,
  ClaimLostError,
  WaitTimeoutError,
  TaskError,
  TaskTimeoutError,
  UnsupportedError,
  UnauthorizedError,
  ForbiddenError,
  TooLargeError,
  ConflictError,
  MissingObjectError,
  MethodNotAllowedError,
  InternalError,
} from "../plumbing/errors.js";
