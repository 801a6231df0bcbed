// Client: the library's front door. A thin object over porcelain: it turns a function object
// into a task (its function hash via the runtime path, so it shares the cache with
// `cashet run file#fn`), runs it through porcelain/run, and wraps results in ResultRefs.
import { relative } from "node:path";
import type { Json } from "../plumbing/commit.js";
import { FileArg } from "../plumbing/hash/file-arg.js";
import { hashFunctionObject } from "../plumbing/hash/runtime.js";
import { FsStore } from "../plumbing/store/fs/store.js";
import { storeDir } from "../plumbing/store/open.js";
import type { Store } from "../plumbing/store/types.js";
import type { Serializer } from "../plumbing/serializers.js";
import { decodeResult, run, type RunOptions, type RunResult, type TaskSpec } from "../porcelain/run.js";
import { ResultRef } from "./result-ref.js";

export interface ClientOptions {
  /** Store directory (default: $CASHET_DIR, else ./.cashet). Ignored when `store` is given. */
  storeDir?: string;
  store?: Store;
  /** Default serializer for results. */
  serializer?: Serializer;
  /** Extra serializers that may decode stored results. */
  serializers?: Serializer[];
}

/** Per-call options (SPEC §4). Durations are seconds. */
export type CallOptions = Pick<RunOptions, "force" | "cache" | "tags" | "retries" | "timeout" | "ttl" | "signal" | "serializer">;

type AnyFn = (...args: never[]) => unknown;
/** Each argument may be given as a value or as a ResultRef to one. */
export type Args<P extends readonly unknown[]> = { [K in keyof P]: P[K] | ResultRef<P[K]> };

export class Client {
  readonly store: Store;
  private readonly options: ClientOptions;

  constructor(options: ClientOptions = {}) {
    this.options = options;
    this.store = options.store ?? new FsStore(options.storeDir ?? storeDir());
  }

  /** Runs `fn(...args)` through the cache. */
  submit<P extends unknown[], R>(fn: (...args: P) => R, ...args: Args<P>): Promise<ResultRef<Awaited<R>>> {
    return this.run(fn, { args });
  }

  /** Runs `fn` with `args` and per-call options. */
  async run<P extends unknown[], R>(fn: (...args: P) => R, options: CallOptions & { args?: Args<P> } = {}): Promise<ResultRef<Awaited<R>>> {
    const { args = [] as unknown as Args<P>, ...callOptions } = options;
    const result = await run(this.store, await this.taskOf(fn as AnyFn, args as readonly unknown[]), {
      serializer: this.options.serializer,
      serializers: this.options.serializers,
      ...callOptions,
    });
    return this.refOf<Awaited<R>>(result);
  }

  /** `fn` with fixed options: `const t = client.task(fn, { tags }); await t(...args)`. */
  task<P extends unknown[], R>(fn: (...args: P) => R, options: CallOptions = {}): (...args: Args<P>) => Promise<ResultRef<Awaited<R>>> {
    return (...args) => this.run(fn, { ...options, args });
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async taskOf(fn: AnyFn, args: readonly unknown[]): Promise<TaskSpec> {
    if (typeof fn !== "function") throw new TypeError(`submit needs a function, not ${typeof fn}`);
    const identity = await hashFunctionObject(fn);
    return {
      fn,
      args,
      ...(identity.file ? { file: identity.file } : {}),
      func: {
        name: fn.name || identity.name,
        module: identity.file ? relative(process.cwd(), identity.file) : "<no file>",
        hash: identity.hash,
        source: Function.prototype.toString.call(fn),
        deps: identity.components.map((c): Json => ({ kind: c.kind, key: c.key, hash: c.hash })),
      },
      hashFunction: async (f) => (await hashFunctionObject(f as AnyFn)).hash,
      resolveArgs: (given) => Promise.all(given.map(resolveArg)),
    };
  }

  private refOf<T>(result: RunResult): ResultRef<T> {
    const { commit } = result;
    const decode = async (): Promise<T> =>
      "value" in result ? (result.value as T) : (decodeResult(commit, result.bytes, this.options.serializers) as T);
    return new ResultRef<T>(commit.id, commit.output!.hash, commit.output!.size, result.cached, decode);
  }
}

/** What a task receives for an argument: a ref's value, a file's path, anything else as is. */
async function resolveArg(arg: unknown): Promise<unknown> {
  if (arg instanceof ResultRef) return arg.load();
  if (arg instanceof FileArg) return arg.path;
  return arg;
}
