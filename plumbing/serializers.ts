// Serializers: how a result becomes the bytes of its blob and back (SPEC §4). The serializer's
// name is recorded in the commit, so whichever process reads the commit decodes it the same way.
//
// Deserializing never executes code, whoever wrote the bytes:
// - v8: V8's ValueDeserializer builds only built-in values (primitives, plain objects, arrays,
//   Date, RegExp, Map, Set, BigInt, ArrayBuffer, Error, boxed primitives) and defines their
//   properties as data properties, so no setter, getter, constructor or other function runs and
//   no prototype is looked up by name: a class instance was written as a plain object and comes
//   back as one. Node's one hook, `_readHostObject`, makes typed arrays, DataViews and Buffers
//   from a fixed table of built-in constructors chosen by index; an unknown index, a WebAssembly
//   module or a SharedArrayBuffer in the stream is an error. Compiling a RegExp runs no code.
// - json: JSON.parse without a reviver builds only primitives, arrays and plain objects
//   (`"__proto__"` becomes an own property, not a prototype).
// - bytes: a view of the bytes.
// This file adds no reviver, no eval, no Function constructor and no class lookup by name.
// Serializing may run user code (getters, Proxy traps), as reading the value does anyway.
import { endianness } from "node:os";
import * as types from "node:util/types";
import * as v8 from "node:v8";
import { InvalidInputError } from "./errors.js";

/**
 * Turns a result into bytes and back. Any object with these three members is a serializer; its
 * `name` is recorded in each commit it writes, so it must be unique and never change meaning.
 */
export interface Serializer {
  readonly name: string;
  /** The bytes may share memory with `value` (the bytes serializer does not copy). */
  serialize(value: unknown): Uint8Array;
  /** `bytes` is handed over: the result may share its memory. Throws on bytes of another format. */
  deserialize(bytes: Uint8Array): unknown;
}

// ---------------------------------------------------------------- v8

const V8_VERSION_TAG = 0xff;
const V8_VERSION = 15; // the format Node 20-24 write; other versions simply skip the fast path
const TAG_DENSE_ARRAY = 0x41; // 'A'
const TAG_DOUBLE = 0x4e; // 'N'
const TAG_INT32 = 0x49; // 'I'
const TAG_END_DENSE_ARRAY = 0x24; // '$'
// V8 writes doubles in host byte order; the fast path reads little-endian.
const LITTLE_ENDIAN = endianness() === "LE";

/** A LEB128 varint of at most 32 bits at `at.p`, advancing it; -1 if malformed or wider. */
function readVarint32(b: Uint8Array, at: { p: number }): number {
  let value = 0;
  let shift = 0;
  let p = at.p;
  for (;;) {
    if (p >= b.length || shift > 28) return -1;
    const byte = b[p++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) break;
  }
  at.p = p;
  return value <= 0xffffffff ? value : -1;
}

/**
 * The fast path for a v8 payload that is a plain array of numbers, read straight from V8's
 * format (exported for tests). v8.deserialize boxes each element in a heap number (≈70 ms for
 * 1.1 M doubles); this builds the same array with unboxed doubles, 2.5-3.5× faster (see
 * bench/serializers.ts and docs/decisions.md). It accepts only the exact shape V8 writes for a dense array whose every
 * element is a Number and which has no named properties — version header, 'A' length, then
 * per element 'N' + 8-byte double or 'I' + zigzag varint, then '$' 0 length and nothing after —
 * and returns undefined for anything else, which then goes through v8.deserialize. So the
 * stored format is V8's own, unchanged: there is no second format to tell apart.
 */
export function readV8NumberArray(b: Uint8Array): number[] | undefined {
  const end = b.length;
  if (!LITTLE_ENDIAN || end < 7 || b[0] !== V8_VERSION_TAG || b[1] !== V8_VERSION || b[2] !== TAG_DENSE_ARRAY) {
    return undefined;
  }
  const at = { p: 3 };
  const n = readVarint32(b, at);
  if (n < 0 || n > (end - at.p) / 2) return undefined; // every element takes 2 bytes or more
  const view = new DataView(b.buffer, b.byteOffset, end);
  const out: number[] = [];
  let p = at.p;
  for (let i = 0; i < n; i++) {
    const tag = b[p];
    if (tag === TAG_DOUBLE && p + 9 <= end) {
      out.push(view.getFloat64(p + 1, true));
      p += 9;
    } else if (tag === TAG_INT32) {
      at.p = p + 1;
      const z = readVarint32(b, at);
      if (z < 0) return undefined;
      out.push(z % 2 ? -(z + 1) / 2 : z / 2);
      p = at.p;
    } else {
      return undefined; // a hole, a non-number, a truncated double: V8 decides
    }
  }
  if (b[p] !== TAG_END_DENSE_ARRAY || b[p + 1] !== 0) return undefined; // 0 named properties
  at.p = p + 2;
  if (readVarint32(b, at) !== n || at.p !== end) return undefined;
  return out;
}

type HostObjectReader = { _readHostObject(this: v8.Deserializer): ArrayBufferView };
const nodeReadHostObject = (v8.DefaultDeserializer.prototype as unknown as HostObjectReader)._readHostObject;

/** v8.deserialize, except that each typed array, DataView and Buffer gets its own memory. */
class OwningDeserializer extends v8.DefaultDeserializer {
  // Node returns a view into the payload when it happens to be aligned (and a slice of its
  // shared pool when small): `.buffer` would then expose the rest of the blob, and the value
  // would alias bytes the caller may keep. One copy of the element bytes avoids both.
  _readHostObject(): ArrayBufferView {
    const view = nodeReadHostObject.call(this);
    if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) return view;
    const own = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
    if (types.isDataView(view)) return new DataView(own);
    if (Buffer.isBuffer(view)) return Buffer.from(own);
    // The typed-array constructor Node just chose from its fixed table of built-ins.
    return new (view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView)(own);
  }
}

/** V8 structured serialization: Map, Set, Date, RegExp, BigInt, typed arrays, cycles, Errors. */
export const v8Serializer: Serializer = Object.freeze({
  name: "v8",
  serialize(value: unknown): Uint8Array {
    try {
      return v8.serialize(value);
    } catch (err) {
      throw new TypeError(
        `the v8 serializer cannot store this value: ${(err as Error).message} (it keeps data only: ` +
          "functions, symbols, promises, WeakMaps and native handles cannot be stored; return plain data)",
        { cause: err },
      );
    }
  },
  deserialize(bytes: Uint8Array): unknown {
    const numbers = readV8NumberArray(bytes);
    if (numbers) return numbers;
    const reader = new OwningDeserializer(bytes);
    reader.readHeader();
    return reader.readValue();
  },
});

// ---------------------------------------------------------------- json

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(path: readonly (string | number)[]): string {
  let out = "$";
  for (const s of path) {
    if (typeof s === "number") out += `[${s}]`;
    else out += IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** What JSON.stringify would do to an object that is not a plain object or array. */
function describeObject(o: object): string {
  if (types.isDate(o)) return "a Date (JSON writes it as a string)";
  if (types.isMap(o)) return "a Map (JSON writes it as {})";
  if (types.isSet(o)) return "a Set (JSON writes it as {})";
  if (types.isRegExp(o)) return "a RegExp (JSON writes it as {})";
  if (Buffer.isBuffer(o)) return 'a Buffer (JSON writes it as {"type":"Buffer","data":[…]})';
  if (types.isTypedArray(o) || types.isDataView(o) || types.isAnyArrayBuffer(o)) {
    return `a ${Object.prototype.toString.call(o).slice(8, -1)} (JSON writes it as an object of indices or {})`;
  }
  if (types.isBoxedPrimitive(o)) return "a boxed primitive (JSON unwraps it)";
  if (types.isNativeError(o)) return "an Error (JSON writes it as {})";
  if (types.isPromise(o)) return "a Promise (JSON writes it as {})";
  if (Array.isArray(o)) return "an Array subclass (JSON keeps the elements, not the class)";
  const ctor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(o) as object, "constructor")?.value as unknown;
  const name = typeof ctor === "function" && ctor.name ? ctor.name : "a class";
  return `an instance of ${name} (JSON keeps its fields, not its class)`;
}

/**
 * Throws a TypeError naming the first part of `value` that JSON.parse(JSON.stringify(value))
 * would not give back as it was. Not checked, for cost: non-index properties of arrays (finding
 * them costs a string per element) and non-enumerable properties. Shared references are
 * allowed: they come back equal, as separate copies.
 */
function assertJsonFaithful(value: unknown): void {
  const path: (string | number)[] = [];
  const open = new Map<object, number>(); // containers on the current path → their depth
  const fail = (what: string): TypeError =>
    new TypeError(
      `the json serializer cannot store ${formatPath(path)} faithfully: ${what}; ` +
        "use the v8 serializer, or convert the value first",
    );
  const visit = (v: unknown, inArray: boolean): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) throw fail(`${v} (JSON writes it as null)`);
        if (Object.is(v, -0)) throw fail("-0 (JSON writes it as 0)");
        return;
      case "undefined":
        throw fail(
          path.length === 0
            ? "undefined (JSON has no undefined)"
            : inArray
              ? "undefined (JSON writes it as null)"
              : "undefined (JSON drops the key)",
        );
      case "bigint":
        throw fail("a BigInt (JSON has no BigInt)");
      case "function":
        throw fail(path[path.length - 1] === "toJSON" ? "a toJSON method (JSON would store what it returns)" : "a function (JSON drops it)");
      case "symbol":
        throw fail("a Symbol (JSON drops it)");
    }
    if (v === null) return;
    const o = v as object;
    const depth = open.get(o);
    if (depth !== undefined) throw fail(`a cycle (it is ${formatPath(path.slice(0, depth))} again)`);
    const proto = Object.getPrototypeOf(o) as object | null;
    open.set(o, path.length);
    if (Array.isArray(o) && proto === Array.prototype) {
      const a = o as unknown[];
      for (let i = 0; i < a.length; i++) {
        const el = a[i];
        path.push(i);
        if (el === undefined && !(i in a)) throw fail("a hole in a sparse array (JSON writes it as null)");
        visit(el, true);
        path.pop();
      }
    } else if (proto === Object.prototype || proto === null) {
      if (Object.getOwnPropertySymbols(o).some((s) => Object.prototype.propertyIsEnumerable.call(o, s))) {
        throw fail("a Symbol-keyed property (JSON drops it)");
      }
      for (const key of Object.keys(o)) {
        path.push(key);
        visit((o as Record<string, unknown>)[key], false);
        path.pop();
      }
    } else {
      throw fail(describeObject(o));
    }
    open.delete(o);
  };
  visit(value, false);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * UTF-8 JSON. Refuses, with a TypeError naming the path, any value JSON would silently change:
 * undefined, BigInt, functions, symbols, cycles, NaN, ±Infinity, -0, holes, and every object
 * that is not a plain object or array (Date, Map, Set, typed arrays, class instances, …).
 */
export const jsonSerializer: Serializer = Object.freeze({
  name: "json",
  serialize(value: unknown): Uint8Array {
    assertJsonFaithful(value);
    return Buffer.from(JSON.stringify(value), "utf8");
  },
  deserialize(bytes: Uint8Array): unknown {
    return JSON.parse(utf8.decode(bytes));
  },
});

// ---------------------------------------------------------------- bytes

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1);
}

/** A Buffer or Uint8Array result as its raw bytes, returned as a Buffer; no copy either way. */
export const bytesSerializer: Serializer = Object.freeze({
  name: "bytes",
  serialize(value: unknown): Uint8Array {
    if (!types.isUint8Array(value)) {
      throw new TypeError(
        `the bytes serializer stores only a Buffer or Uint8Array, not ${describeValue(value)} (use the v8 serializer)`,
      );
    }
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  },
  deserialize(bytes: Uint8Array): unknown {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
});

// ---------------------------------------------------------------- choice and lookup

/** The serializer a result gets when none is asked for: raw bytes for bytes, else v8. */
export function defaultSerializerFor(value: unknown): Serializer {
  // Raw, so `cashet get -o out.bin` writes the blob as it is and 10 MiB cost no encoding.
  return types.isUint8Array(value) ? bytesSerializer : v8Serializer;
}

/** The built-ins, in the order they are documented. Their names are reserved. */
export const builtinSerializers: readonly Serializer[] = Object.freeze([v8Serializer, jsonSerializer, bytesSerializer]);

/** Whether `value` can serve as a serializer: a non-empty `name` and the two methods. */
export function isSerializer(value: unknown): value is Serializer {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<Record<keyof Serializer, unknown>>;
  return typeof s.name === "string" && s.name.length > 0 && typeof s.serialize === "function" && typeof s.deserialize === "function";
}

/**
 * No serializer of that name is known to this process — typically a commit written with a user
 * serializer that this process did not register. A bad-input error (CLI exit 2, HTTP 400): the
 * fix is in how cashet is called, and the stored data is fine.
 */
export class UnknownSerializerError extends InvalidInputError {
  readonly serializer: string;
  constructor(name: string, custom: readonly Serializer[]) {
    const known = [...builtinSerializers, ...custom].map((s) => s.name).join(", ");
    super(
      `unknown serializer ${JSON.stringify(name)} (known here: ${known}); a result written with a ` +
        "custom serializer can be read only where that serializer is passed to cashet",
    );
    this.serializer = name;
  }
}

/**
 * The serializer named `name`: a built-in or one of `custom`. Throws UnknownSerializerError if
 * there is none, and InvalidInputError if `custom` holds something that is not a serializer,
 * takes a built-in's name, or repeats a name.
 */
export function serializerByName(name: string, custom: readonly Serializer[] = []): Serializer {
  let found = builtinSerializers.find((s) => s.name === name);
  const seen = new Map<string, Serializer>(builtinSerializers.map((s) => [s.name, s]));
  for (const [i, s] of custom.entries()) {
    if (!isSerializer(s)) {
      throw new InvalidInputError(`custom serializer ${i} is not a serializer: it needs a non-empty name, serialize() and deserialize()`);
    }
    const prior = seen.get(s.name);
    if (prior !== undefined && prior !== s) {
      throw new InvalidInputError(
        builtinSerializers.includes(prior)
          ? `a custom serializer cannot be named ${JSON.stringify(s.name)}: that is a built-in's name, and commits written with it must keep decoding the same way; choose another name`
          : `two different custom serializers are named ${JSON.stringify(s.name)}; each name must mean one format`,
      );
    }
    seen.set(s.name, s);
    if (s.name === name) found = s;
  }
  if (!found) throw new UnknownSerializerError(name, custom);
  return found;
}
