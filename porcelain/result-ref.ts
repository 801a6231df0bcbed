// ResultRef: a handle on a stored result — the one way a result is held and loaded, whether a
// call just ran (its value in hand), was a hit (its bytes in hand), or is named by a queued job
// (its commit in the store). It feeds other tasks by its output blob id (so an upstream change
// that produces byte-identical output does not re-run what depends on it), and loads the value
// only when asked.
import { InvalidInputError } from "../plumbing/errors.js";
import { IDENTITY, PREVIEW } from "../plumbing/hash/args.js";
import type { Serializer } from "../plumbing/serializers.js";
import type { Store } from "../plumbing/store.js";
import { get } from "./get.js";
import { decodeResult, type RunResult } from "./run.js";

export class ResultRef<T = unknown> {
  private loaded?: Promise<T>;

  /** @internal built by the porcelain (`resultOf`, `storedResult`) */
  constructor(
    /** The commit id of the run that produced it. */
    readonly commit: string,
    /** The output blob id (sha256 of the serialized result). */
    readonly hash: string,
    /** Size of the serialized result in bytes. */
    readonly size: number,
    /** True when no execution happened for this call. */
    readonly cached: boolean,
    private readonly decode: () => Promise<T>,
  ) {}

  /** The result, decoded once per ref. */
  load(): Promise<T> {
    this.loaded ??= this.decode();
    return this.loaded;
  }

  /** Keyed by output content, not by which run produced it (early cutoff). */
  [IDENTITY](): string {
    return `ref:${this.hash}`;
  }

  [PREVIEW](): string {
    return `<ref ${this.commit.slice(0, 7)}>`;
  }
}

/** The result of a call `run` answered: the live value when it ran here, else its bytes decoded. */
export function resultOf<T = unknown>(result: RunResult, serializers: Serializer[] = []): ResultRef<T> {
  const { commit } = result;
  const decode = async (): Promise<T> => ("value" in result ? result.value : decodeResult(commit, result.bytes, serializers)) as T;
  return new ResultRef<T>(commit.id, commit.output!.hash, commit.output!.size, result.cached, decode);
}

/**
 * The result of `commit` in `store`, loaded (and verified) only when asked: what a queued job's
 * argument that was an earlier call's result becomes on the worker. Its output must be `hash`,
 * the blob the call is keyed by — a job naming another commit's output is refused, never loaded.
 */
export function storedResult<T = unknown>(store: Store, commit: string, hash: string, size = 0): ResultRef<T> {
  return new ResultRef<T>(commit, hash, size, true, async () => {
    const got = await get(store, commit).catch(() => null);
    if (!got || got.commit.output?.hash !== hash) throw new InvalidInputError(`the result ${hash.slice(0, 12)} an argument refers to is not in the store`);
    return got.value as T;
  });
}
