// ResultRef: a handle on a stored result. It feeds other tasks by its output blob id (so an
// upstream change that produces byte-identical output does not re-run what depends on it), and
// loads the value only when asked.
import { IDENTITY, PREVIEW } from "../plumbing/hash/args.js";

export class ResultRef<T = unknown> {
  private loaded?: Promise<T>;

  /** @internal built by Client */
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
