// Argument hashing: a canonical, type-tagged encoding of a call's arguments, streamed into one
// sha256, so equal arguments are one cache key and different arguments never share one (SPEC §3).
import { createHash, type Hash } from "node:crypto";
import { types } from "node:util";

/**
 * The identity protocol. An object (or function) with a method `[IDENTITY](): string |
 * Promise<string>` is hashed by that string alone, tagged as an identity: nothing else about it
 * (its class, its properties) is read. It is checked before every other rule, so it also
 * overrides how a Map, an array or a typed array would be hashed.
 *
 * - A `ResultRef` returns `"ref:<output blob id>"`: O(1), the result is never loaded, and a changed
 *   upstream step that produced byte-identical output keeps the same key (early cutoff).
 * - `file(path)` returns `"file:<sha256 of the contents>"`: the path is not part of it, so the same
 *   content in another checkout hits.
 *
 * Two objects with equal identity strings are the same argument whatever their classes, so
 * prefix the string with a kind (`ref:`, `file:`, …). It must not depend on the machine (no
 * absolute paths, hostnames or times). It is called once per occurrence per hash; cache inside
 * the object when it is expensive.
 */
export const IDENTITY: unique symbol = Symbol.for("cashet.identity");

/**
 * Optional companion to IDENTITY: `[PREVIEW](): string` is what previewArgs shows for the object
 * (`<file data/x.csv>`, `<ref 3fa2c1>`). Objects without it are shown as `<ClassName>`.
 */
export const PREVIEW: unique symbol = Symbol.for("cashet.preview");

/** An object that declares its own identity (see IDENTITY). */
export interface Identified {
  [IDENTITY](): string | Promise<string>;
}

export interface HashArgsOptions {
  /**
   * Hashes a function argument (normally the function hash of SPEC §3). `path` names the
   * argument (`args[1].opts.cb`). Without it, a function argument is a TypeError.
   */
  hashFunction?: (fn: Function, path: string) => string | Promise<string>;
}

// ---------------------------------------------------------------- the encoding

// Bump when the encoding changes: every argument hash (and so every fingerprint) changes with it.
const FORMAT = "cashet-args-v1";

// One tag byte in front of every value. Lengths and counts follow the tag, so no two different
// values (or sequences of values) encode to the same bytes.
const enum T {
  Args = 0x01,
  Undefined = 0x02,
  Null = 0x03,
  False = 0x04,
  True = 0x05,
  Number = 0x06,
  BigInt = 0x07,
  String = 0x08,
  Array = 0x09,
  ArraySubclass = 0x0a,
  Object = 0x0b,
  Instance = 0x0c,
  Map = 0x0d,
  Set = 0x0e,
  Date = 0x0f,
  RegExp = 0x10,
  Bytes = 0x11,
  Boxed = 0x12,
  Error = 0x13,
  Identity = 0x14,
  Function = 0x15,
}

// How a string's bytes follow: UTF-8 for well-formed strings; UTF-16 code units for strings
// with lone surrogates, which UTF-8 cannot carry (Node would turn them into U+FFFD and collide).
const UTF8 = 0;
const UTF16 = 1;

const SCRATCH_SIZE = 64 * 1024;
// The scratch of one Map entry or Set element: an item whose encoding fits is sorted as bytes,
// a bigger one as its sha256 (see Sink#itemInto).
const ENTRY_SIZE = 1024;
// Views up to this size are copied into the scratch buffer (one memcpy beats one more call into
// the hash); larger ones go to the hash straight from the caller's memory, never copied.
const COPY_LIMIT = 512;
// Strings up to this many UTF-16 units try the byte-by-byte ASCII path first.
const ASCII_LOOP_MAX = 64;
const CANONICAL_NAN = Buffer.from([0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);

// Scratch buffers are reused across calls: a hash of a small call allocates almost nothing.
const pools = new Map<number, Buffer[]>([
  [SCRATCH_SIZE, []],
  [ENTRY_SIZE, []],
]);

/**
 * A sha256 fed through a small scratch buffer: tags, lengths, numbers and short strings are
 * batched into the scratch (one hash.update per 64 KiB, not per value); large byte views are
 * passed to the hash directly. Memory stays at one scratch buffer however big the input.
 *
 * The sha256 is created only when the scratch first overflows, so a Map entry or Set element
 * whose encoding fits in the scratch (nearly all of them) costs a memcpy, not a hash object.
 */
class Sink {
  private hash: Hash | null = null;
  /** Hashes of the subtrees being encoded (an argument tree's nodes, see TreeWalker): each is fed what the sink is. */
  private readonly forks: Hash[] = [];
  buf: Buffer;
  off = 0;

  constructor(private readonly size = SCRATCH_SIZE) {
    this.buf = pools.get(size)!.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  private sha(): Hash {
    return (this.hash ??= createHash("sha256"));
  }

  private room(n: number): void {
    if (this.off + n > this.buf.length) this.flush();
  }

  flush(): void {
    if (this.off > 0) {
      this.feed(this.buf.subarray(0, this.off)); // update consumes synchronously
      this.off = 0;
    }
  }

  private feed(data: Uint8Array): void {
    this.sha().update(data);
    for (const f of this.forks) f.update(data);
  }

  /** From here on, the bytes written are hashed on their own too, until `join`. */
  fork(): void {
    this.flush();
    this.forks.push(createHash("sha256"));
  }

  /** The hash of what was written since the matching `fork`. */
  join(): string {
    this.flush();
    return this.forks.pop()!.digest("hex");
  }

  u8(b: number): void {
    this.room(1);
    this.buf[this.off++] = b;
  }

  /** A length or count, as a 64-bit big-endian integer (safe integers only, as JS lengths are). */
  len(n: number): void {
    this.room(8);
    this.buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), this.off);
    this.buf.writeUInt32BE(n >>> 0, this.off + 4);
    this.off += 8;
  }

  /**
   * IEEE-754 float64, big-endian. Every NaN is written as the one canonical NaN (JS cannot
   * observe a NaN's payload outside typed arrays). -0 keeps its sign bit, so -0 and 0 are
   * different arguments: they are observably different (Object.is, 1/x) and a function may
   * depend on that, and a needless miss is safe where a wrong hit is not.
   */
  f64(x: number): void {
    this.room(8);
    if (x !== x) CANONICAL_NAN.copy(this.buf, this.off);
    else this.buf.writeDoubleBE(x, this.off);
    this.off += 8;
  }

  /** Encoding marker, byte length, bytes. */
  str(s: string): void {
    if (s.length <= ASCII_LOOP_MAX && this.ascii(s)) return;
    if (!isWellFormed(s)) {
      const units = Buffer.from(s, "utf16le"); // keeps lone surrogates as they are
      this.u8(UTF16);
      this.len(units.length);
      this.bytes(units);
      return;
    }
    const worst = s.length * 3 + 9; // UTF-8 needs at most 3 bytes per UTF-16 code unit
    if (worst <= this.buf.length) {
      this.room(worst);
      const start = this.off;
      const n = this.buf.write(s, start + 9, "utf8");
      this.buf[start] = UTF8;
      this.buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), start + 1);
      this.buf.writeUInt32BE(n >>> 0, start + 5);
      this.off = start + 9 + n;
      return;
    }
    this.u8(UTF8);
    this.len(Buffer.byteLength(s, "utf8"));
    this.flush();
    if (this.forks.length) this.feed(Buffer.from(s, "utf8"));
    else this.sha().update(s, "utf8");
  }

  /** Short ASCII strings (most keys and values) byte by byte: several times cheaper than
   * Buffer#write's call overhead. Gives up (writing nothing) at the first non-ASCII unit. */
  private ascii(s: string): boolean {
    const n = s.length;
    this.room(n + 9);
    const buf = this.buf;
    const start = this.off + 9;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[start + i] = c;
    }
    buf[this.off] = UTF8;
    buf[this.off + 1] = buf[this.off + 2] = buf[this.off + 3] = buf[this.off + 4] = 0;
    buf[this.off + 5] = buf[this.off + 6] = buf[this.off + 7] = 0;
    buf[this.off + 8] = n; // n <= ASCII_LOOP_MAX < 256
    this.off = start + n;
    return true;
  }

  /** Raw bytes (the caller writes the length). */
  bytes(view: Uint8Array): void {
    if (view.byteLength <= COPY_LIMIT) {
      this.room(view.byteLength);
      this.buf.set(view, this.off);
      this.off += view.byteLength;
      return;
    }
    this.flush();
    this.feed(view);
  }

  /** Finishes the hash; the sink is dead after this. */
  digest(): string {
    this.flush();
    this.release();
    return this.sha().digest("hex");
  }

  /**
   * Copies `src[start, end)` in; a range too big for the scratch goes to the hash directly.
   * (Ranges, not subarrays: no Buffer object per call.)
   */
  copy(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.room(n);
    if (this.off + n <= this.buf.length) {
      src.copy(this.buf, this.off, start, end);
      this.off += n;
    } else {
      this.flush();
      this.feed(src.subarray(start, end));
    }
  }

  /**
   * Finishes an unordered item (a Map entry, a Set element) into `items`, as bytes that sort
   * canonically: `0x00` + its whole encoding when it never left the scratch, else `0x01` + its
   * sha256. The route depends only on the encoding, so equal items always take the same one.
   * The sink is then empty and ready for the next item.
   */
  itemInto(items: Items): void {
    if (this.hash === null) {
      items.add(0, this.buf, 0, this.off);
    } else {
      this.flush();
      const d = this.hash.digest();
      items.add(1, d, 0, d.length);
      this.hash = null;
    }
    this.off = 0;
  }

  /** Gives the scratch buffer back for reuse; the sink is dead after this. */
  release(): void {
    const pool = pools.get(this.size)!;
    if (pool.length < 8) pool.push(this.buf);
    this.buf = Buffer.alloc(0);
  }
}

/** The encoded items of one Map or Set, packed in one growing buffer, sortable by bytes. */
class Items {
  buf: Buffer = Buffer.allocUnsafe(4096);
  end = 0;
  readonly starts: number[] = [];
  readonly ends: number[] = [];

  add(marker: number, src: Buffer, start: number, end: number): void {
    const n = end - start + 1;
    if (this.end + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.end + n));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    this.starts.push(this.end);
    this.buf[this.end] = marker;
    src.copy(this.buf, this.end + 1, start, end);
    this.end += n;
    this.ends.push(this.end);
  }

  /** Item indexes in byte order (unsigned lexicographic; a prefix sorts first). */
  sorted(): number[] {
    const { buf, starts, ends } = this;
    const order = starts.map((_, i) => i);
    // Compared in JS: items are short and differ early, and a call into C++ per comparison
    // would cost more than the loop.
    return order.sort((a, b) => {
      const ea = ends[a]!;
      const eb = ends[b]!;
      for (let i = starts[a]!, j = starts[b]!; i < ea && j < eb; i++, j++) {
        const d = buf[i]! - buf[j]!;
        if (d !== 0) return d;
      }
      return ea - starts[a]! - (eb - starts[b]!);
    });
  }
}

// String.prototype.isWellFormed (Node 20+; not yet in the ES2023 lib typings).
const isWellFormedMethod = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;
function isWellFormed(s: string): boolean {
  return isWellFormedMethod.call(s);
}

// The built-in name of a typed array ("Float64Array"), read through the intrinsic getter so a
// subclass cannot fake it.
export const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;

// ---------------------------------------------------------------- paths (for error messages)

/** A path segment: an array index, an object key, or a label (`args`, `<map key 2>`). */
type Segment = number | string | Label;
class Label {
  // The index is kept apart and formatted only when a message needs it.
  constructor(
    readonly name: string,
    public index = -1,
  ) {}
  get text(): string {
    return this.index < 0 ? this.name : `<${this.name} ${this.index}>`;
  }
}
const ROOT = new Label("args");

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string") out += IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    else out += s.text;
  }
  return out;
}

// ---------------------------------------------------------------- the walk

/** Work that finished (undefined) or will (a promise): the walk stays synchronous until a value
 * actually needs to wait (an async identity or function hash), and never pays for `await`
 * on the millions of values that do not. */
type Step = void | Promise<void>;

function then(step: Step, next: () => Step): Step {
  return step ? step.then(next) : next();
}

/** Runs body(0..n-1) in order, switching to async only if a body returns a promise. */
function each(n: number, body: (i: number) => Step): Step {
  for (let i = 0; i < n; i++) {
    const r = body(i);
    if (r) {
      return (async () => {
        await r;
        for (let j = i + 1; j < n; j++) {
          const rj = body(j);
          if (rj) await rj; // only real waits cost a microtask
        }
      })();
    }
  }
}

class Walker {
  private readonly path: Segment[] = [ROOT];
  /** Containers being encoded (the ancestors of the current value) → their path depth. */
  private readonly open = new Map<object, number>();

  constructor(private readonly options: HashArgsOptions) {}

  args(sink: Sink, args: readonly unknown[]): Step {
    sink.str(FORMAT);
    sink.u8(T.Args);
    sink.len(args.length);
    return this.container(args, () => each(args.length, (i) => this.child(sink, i, args[i])));
  }

  private fail(what: string): TypeError {
    return new TypeError(`cannot hash ${formatPath(this.path)}: ${what}`);
  }

  protected child(sink: Sink, segment: Segment, value: unknown): Step {
    this.path.push(segment);
    const r = this.value(sink, value);
    if (r) return r.then(() => void this.path.pop());
    this.path.pop();
  }

  private value(sink: Sink, v: unknown): Step {
    switch (typeof v) {
      case "undefined":
        return sink.u8(T.Undefined);
      case "boolean":
        return sink.u8(v ? T.True : T.False);
      case "number":
        sink.u8(T.Number);
        return sink.f64(v);
      case "bigint":
        sink.u8(T.BigInt);
        return sink.str(v.toString(16));
      case "string":
        sink.u8(T.String);
        return sink.str(v);
      case "symbol":
        throw this.fail("a Symbol");
      case "function":
        return this.func(sink, v as Function);
      case "object":
        if (v === null) return sink.u8(T.Null);
        return this.object(sink, v);
    }
  }

  private identity(sink: Sink, target: object, method: (this: object) => unknown): Step {
    const write = (id: unknown): void => {
      if (typeof id !== "string") {
        throw this.fail(`its [cashet.identity]() gave ${describe(id)}, not a string`);
      }
      sink.u8(T.Identity);
      sink.str(id);
    };
    const id = method.call(target);
    if (isThenable(id)) return Promise.resolve(id).then(write);
    write(id);
  }

  private func(sink: Sink, fn: Function): Step {
    const own = (fn as unknown as Partial<Identified>)[IDENTITY];
    if (typeof own === "function") return this.identity(sink, fn, own);
    const hashFunction = this.options.hashFunction;
    if (!hashFunction) {
      throw this.fail(`a function${fn.name ? ` (${fn.name})` : ""}; functions are hashed only when hashFunction is given`);
    }
    const write = (h: unknown): void => {
      if (typeof h !== "string") throw this.fail(`hashFunction gave ${describe(h)}, not a string`);
      sink.u8(T.Function);
      sink.str(h);
    };
    const h = hashFunction(fn, formatPath(this.path));
    if (isThenable(h)) return Promise.resolve(h).then(write);
    write(h);
  }

  private object(sink: Sink, o: object): Step {
    const own = (o as Partial<Identified>)[IDENTITY];
    if (typeof own === "function") return this.identity(sink, o, own);

    if (types.isAnyArrayBuffer(o) || ArrayBuffer.isView(o)) return this.bytes(sink, o);

    const depth = this.open.get(o);
    if (depth !== undefined) {
      throw this.fail(`a cycle (the value contains itself at ${formatPath(this.path.slice(0, depth))})`);
    }

    if (Array.isArray(o)) {
      return this.container(o, () => {
        const proto: unknown = Object.getPrototypeOf(o);
        if (proto === Array.prototype) {
          sink.u8(T.Array);
        } else {
          sink.u8(T.ArraySubclass);
          sink.str(className(o));
        }
        const arr = o as unknown[];
        const n = arr.length;
        sink.len(n);
        return each(n, (i) => this.child(sink, i, arr[i])); // a hole reads as undefined
      });
    }

    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) {
      this.refuseAsync(o);
      return this.container(o, () => {
        sink.u8(T.Object);
        return this.fields(sink, o);
      });
    }

    if (types.isDate(o)) {
      sink.u8(T.Date);
      return sink.f64((o as Date).getTime()); // an invalid date is NaN: allowed, and all alike
    }
    if (types.isRegExp(o)) {
      const re = o as RegExp;
      sink.u8(T.RegExp);
      sink.str(re.source);
      return sink.str(re.flags); // lastIndex is mutable state, not identity
    }
    if (types.isMap(o)) {
      return this.container(o, () => this.unordered(sink, T.Map, [...(o as Map<unknown, unknown>).keys()], [...(o as Map<unknown, unknown>).values()]));
    }
    if (types.isSet(o)) {
      return this.container(o, () => this.unordered(sink, T.Set, [...(o as Set<unknown>)], null));
    }
    if (types.isBoxedPrimitive(o)) return this.boxed(sink, o);
    if (types.isPromise(o)) throw this.fail("a Promise (await it first, or pass a ResultRef)");
    if (types.isWeakMap(o)) throw this.fail("a WeakMap");
    if (types.isWeakSet(o)) throw this.fail("a WeakSet");
    if (o instanceof WeakRef) throw this.fail("a WeakRef");
    if (o instanceof FinalizationRegistry) throw this.fail("a FinalizationRegistry");
    if (types.isGeneratorObject(o)) throw this.fail("a generator (spread it into an array first)");
    if (types.isMapIterator(o) || types.isSetIterator(o)) throw this.fail("an iterator (spread it into an array first)");
    this.refuseAsync(o);

    if (types.isNativeError(o)) {
      return this.container(o, () => {
        const e = o as Error;
        sink.u8(T.Error);
        sink.str(className(o));
        sink.str(String(e.message));
        return this.fields(sink, o);
      });
    }

    return this.container(o, () => {
      sink.u8(T.Instance);
      sink.str(className(o));
      return this.fields(sink, o);
    });
  }

  /** Thenables and iterators stand for values that do not exist yet: hashing them is a mistake. */
  private refuseAsync(o: object): void {
    const r = o as { then?: unknown; next?: unknown; [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
    if (typeof r.then === "function") throw this.fail("a thenable (await it first)");
    if (typeof r.next === "function" && (typeof r[Symbol.iterator] === "function" || typeof r[Symbol.asyncIterator] === "function")) {
      throw this.fail("an iterator (spread it into an array first)");
    }
  }

  /** Marks `o` as open for cycle detection while `body` encodes it. */
  private container(o: object, body: () => Step): Step {
    this.open.set(o, this.path.length);
    const r = body();
    if (r) return r.then(() => void this.open.delete(o));
    this.open.delete(o);
  }

  /** Own enumerable string-keyed properties, sorted by key (UTF-16 code unit order). Symbol
   * keys are skipped: a symbol has no value that could be hashed the same in another process. */
  private fields(sink: Sink, o: object): Step {
    const keys = Object.keys(o).sort();
    const rec = o as Record<string, unknown>;
    sink.len(keys.length);
    return each(keys.length, (i) => {
      const key = keys[i]!;
      sink.str(key);
      return this.child(sink, key, rec[key]);
    });
  }

  /** Map entries or Set elements: each encoded on its own (see Sink#itemInto), the items sorted, so
   * insertion order does not count. */
  private unordered(sink: Sink, tag: T, keys: unknown[], values: unknown[] | null): Step {
    const items = new Items();
    const sub = new Sink(ENTRY_SIZE); // reused for every item: one scratch per Map, not per entry
    const keyLabel = new Label(values ? "map key" : "set element", 0);
    const valueLabel = new Label("map value", 0);
    const step = each(keys.length, (i) => {
      keyLabel.index = valueLabel.index = i;
      const r = this.child(sub, keyLabel, keys[i]);
      const both = values ? then(r, () => this.child(sub, valueLabel, values[i])) : r;
      return then(both, () => sub.itemInto(items));
    });
    return then(step, () => {
      sub.release();
      const order = items.sorted();
      sink.u8(tag);
      sink.len(order.length);
      for (const k of order) {
        const start = items.starts[k]!;
        const end = items.ends[k]!;
        sink.len(end - start);
        sink.copy(items.buf, start, end);
      }
    });
  }

  private boxed(sink: Sink, o: object): Step {
    sink.u8(T.Boxed);
    if (types.isNumberObject(o)) {
      sink.str("Number");
      return this.value(sink, Number.prototype.valueOf.call(o));
    }
    if (types.isStringObject(o)) {
      sink.str("String");
      return this.value(sink, String.prototype.valueOf.call(o));
    }
    if (types.isBooleanObject(o)) {
      sink.str("Boolean");
      return this.value(sink, Boolean.prototype.valueOf.call(o));
    }
    if (types.isBigIntObject(o)) {
      sink.str("BigInt");
      return this.value(sink, BigInt.prototype.valueOf.call(o));
    }
    throw this.fail("a Symbol (boxed)");
  }

  /**
   * Raw bytes, in place: a view over the caller's memory goes straight to the hash. The kind
   * (Float64Array, DataView, ArrayBuffer, …) is part of the key, so equal bytes of different
   * kinds differ. A Buffer is the kind "Buffer", not "Uint8Array": Buffer and Uint8Array are
   * observably different (toString, JSON, methods) and v8 serialization keeps them apart.
   * Element bytes are in the platform's order (little-endian on every platform Node ships on).
   */
  private bytes(sink: Sink, o: object): void {
    let kind: string;
    let view: Uint8Array;
    if (ArrayBuffer.isView(o)) {
      const name = typedArrayName.call(o);
      if (name === undefined) kind = "DataView";
      else if (Buffer.isBuffer(o)) kind = "Buffer";
      else kind = name;
      if (kind !== "Buffer" && Object.getPrototypeOf(o) !== (globalThis as unknown as Record<string, { prototype?: unknown } | undefined>)[kind]?.prototype) {
        kind += `:${className(o)}`; // a user subclass
      }
    } else {
      kind = types.isSharedArrayBuffer(o) ? "SharedArrayBuffer" : "ArrayBuffer";
    }
    try {
      view = ArrayBuffer.isView(o) ? new Uint8Array(o.buffer, o.byteOffset, o.byteLength) : new Uint8Array(o as ArrayBufferLike);
    } catch {
      throw this.fail(`a ${kind} over a detached ArrayBuffer`);
    }
    sink.u8(T.Bytes);
    sink.str(kind);
    sink.len(view.byteLength);
    sink.bytes(view);
  }
}

/** The name of an object's constructor, or "" (never throws, even on a hostile proxy). */
export function className(o: object): string {
  try {
    const ctor = (Object.getPrototypeOf(o) as { constructor?: unknown } | null)?.constructor;
    return typeof ctor === "function" ? ctor.name : "";
  } catch {
    return "";
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === "object" || typeof x === "function") && x !== null && typeof (x as { then?: unknown }).then === "function";
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  const t = typeof x;
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/**
 * The argument hash of a call: lowercase hex sha256 of the canonical encoding of `args`
 * (SPEC §3). Equal arguments give equal hashes whatever their key or insertion order; a value
 * that cannot be hashed is a TypeError naming its path (`cannot hash args[1].opts.cb: a Symbol`).
 */
export async function hashArgs(args: readonly unknown[], options: HashArgsOptions = {}): Promise<string> {
  if (!Array.isArray(args)) throw new TypeError("hashArgs takes the array of a call's arguments");
  const sink = new Sink();
  const step = new Walker(options).args(sink, args);
  if (step) await step;
  return sink.digest();
}

// ---------------------------------------------------------------- the argument tree

/** How much of an argument tree is kept: nodes this deep at most, containers this wide, this many nodes in all. */
export interface ArgsTreeBounds {
  /** Path segments below `args` (`args[1].opts.lr` is 3 deep). */
  depth: number;
  /** A container with more children than this is a leaf of the tree (its hash still covers them all). */
  fanOut: number;
  /** Nodes in all, taken breadth first; a container's children are kept all or none. */
  entries: number;
  /** A container with a child whose path would be longer than this (a long key) is a leaf. */
  pathLength: number;
}

export const ARGS_TREE_BOUNDS: ArgsTreeBounds = { depth: 4, fanOut: 32, entries: 64, pathLength: 120 };

/** One node of an argument tree: where it is, the sha256 of its value's canonical encoding, and the value. */
export interface ArgsNode {
  path: string;
  hash: string;
  value: unknown;
}

/**
 * The argument hash of a call and the hashes of the nodes nearest its root (breadth first, within
 * `bounds`), in one walk of the same canonical encoding: a node's hash is the sha256 of its own
 * value's encoding, so equal values hash alike wherever they are. Arrays, plain objects and class
 * instances are walked into; everything else (Maps, Sets, bytes, identities, …) is a leaf.
 */
export async function hashArgsTree(
  args: readonly unknown[],
  options: HashArgsOptions = {},
  bounds: ArgsTreeBounds = ARGS_TREE_BOUNDS,
): Promise<{ hash: string; nodes: ArgsNode[] }> {
  if (!Array.isArray(args)) throw new TypeError("hashArgsTree takes the array of a call's arguments");
  const { order, marks } = treeNodes(args, bounds);
  const sink = new Sink();
  const walker = new TreeWalker(options, marks);
  const step = walker.args(sink, args);
  if (step) await step;
  const hash = sink.digest();
  const nodes: ArgsNode[] = [];
  for (const node of order) {
    const h = walker.hashes.get(node.path);
    if (h !== undefined) nodes.push({ path: node.path, hash: h, value: node.value });
  }
  return { hash, nodes };
}

/** A node's children by the segment the walker reaches them through, each with its path. */
type Marks = Map<string, Map<number | string, string>>;

/**
 * Which nodes the tree keeps, breadth first: the arguments, then the children of each kept
 * container (as the walker reaches them: array indexes, object keys sorted) while they fit.
 */
function treeNodes(args: readonly unknown[], bounds: ArgsTreeBounds): { order: Array<{ path: string; value: unknown }>; marks: Marks } {
  const order: Array<{ path: string; value: unknown }> = [];
  const marks: Marks = new Map();
  const queue: Array<{ path: string; value: unknown; depth: number; children: Array<[number | string, unknown]> | null }> = [];
  const visit = (path: string, value: unknown, depth: number): void => {
    const children = depth < bounds.depth ? childrenOf(value, bounds.fanOut) : null;
    order.push({ path, value });
    queue.push({ path, value, depth, children });
  };
  const take = (parent: string, children: Array<[number | string, unknown]>, depth: number): void => {
    if (order.length + children.length > bounds.entries) return; // all or none
    const paths = children.map(([segment]) => parent + formatSegment(segment));
    if (paths.some((p) => p.length > bounds.pathLength)) return;
    const kids = new Map<number | string, string>();
    marks.set(parent, kids);
    children.forEach(([segment, value], i) => {
      kids.set(segment, paths[i]!);
      visit(paths[i]!, value, depth);
    });
  };
  take(ROOT.name, args.map((v, i) => [i, v]), 1);
  for (let i = 0; i < queue.length; i++) {
    const { path, children, depth } = queue[i]!;
    if (children?.length) take(path, children, depth + 1);
  }
  return { order, marks };
}

/** The children the walker encodes `v` with, when it is a container of at most `fanOut` of them. */
function childrenOf(v: unknown, fanOut: number): Array<[number | string, unknown]> | null {
  if (v === null || typeof v !== "object") return null;
  try {
    if (typeof (v as Partial<Identified>)[IDENTITY] === "function") return null;
    if (ArrayBuffer.isView(v) || types.isAnyArrayBuffer(v)) return null;
    if (Array.isArray(v)) {
      const arr = v as unknown[];
      return arr.length <= fanOut ? arr.map((x, i) => [i, x]) : null;
    }
    if (types.isDate(v) || types.isRegExp(v) || types.isMap(v) || types.isSet(v) || types.isBoxedPrimitive(v) || types.isPromise(v)) return null;
    const keys = Object.keys(v);
    if (keys.length > fanOut) return null;
    const rec = v as Record<string, unknown>;
    return keys.sort().map((k) => [k, rec[k]]);
  } catch {
    return null; // a hostile getter or proxy: a leaf here; the walk reports what is wrong with it
  }
}

function formatSegment(s: number | string): string {
  if (typeof s === "number") return `[${s}]`;
  return IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
}

/** The walker that also hashes each marked node's encoding on its own (Sink#fork). */
class TreeWalker extends Walker {
  readonly hashes = new Map<string, string>();
  /** The path of the marked node whose children are being encoded, or null inside an unmarked one. */
  private parent: string | null = ROOT.name;

  constructor(
    options: HashArgsOptions,
    private readonly marks: Marks,
  ) {
    super(options);
  }

  protected override child(sink: Sink, segment: Segment, value: unknown): Step {
    const outer = this.parent;
    const path = outer === null || segment instanceof Label ? undefined : this.marks.get(outer)?.get(segment);
    this.parent = path ?? null;
    if (path !== undefined) sink.fork();
    const done = (): void => {
      if (path !== undefined) this.hashes.set(path, sink.join());
      this.parent = outer;
    };
    const r = super.child(sink, segment, value);
    if (r) return r.then(done);
    done();
  }
}
