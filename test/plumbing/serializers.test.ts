import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import * as v8 from "node:v8";
import { CashetError, InvalidInputError } from "../../plumbing/errors.js";
import {
  builtinSerializers,
  bytesSerializer,
  defaultSerializerFor,
  isSerializer,
  jsonSerializer,
  readV8NumberArray,
  serializerByName,
  UnknownSerializerError,
  v8Serializer,
  type Serializer,
} from "../../plumbing/serializers.js";
import { seeded } from "../helpers/fixtures.js";

const roundTrip = (s: Serializer, value: unknown): unknown => s.deserialize(s.serialize(value));


const sparse = (): unknown[] => {
  const a: unknown[] = [1];
  a[3] = "x";
  return a;
};
const named = (): unknown[] => Object.assign([1.5, 2.5], { extra: "x" });

const TYPED_ARRAYS = [
  () => new Int8Array([-128, 0, 127]),
  () => new Uint8Array([0, 1, 255]),
  () => new Uint8ClampedArray([0, 128, 255]),
  () => new Int16Array([-32768, 0, 32767]),
  () => new Uint16Array([0, 1, 65535]),
  () => new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]),
  () => new Uint32Array([0, 1, 2 ** 32 - 1]),
  () => new Float32Array([1.5, -0, NaN, Infinity]),
  () => new Float64Array([Math.PI, -0, NaN, -Infinity, Number.MIN_VALUE]),
  () => new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
  () => new BigUint64Array([0n, 2n ** 64n - 1n]),
];

// Values v8 gives back deep-equal (Object.is for numbers, so -0 and NaN count).
const V8_TABLE: [string, () => unknown][] = [
  ["undefined", () => undefined],
  ["null", () => null],
  ["booleans", () => [true, false]],
  ["-0", () => -0],
  ["NaN", () => NaN],
  ["±Infinity", () => [Infinity, -Infinity]],
  ["a float", () => 0.1 + 0.2],
  ["a string with non-ASCII and astral characters", () => "héllo ✓ 𝄞"],
  ["a lone surrogate", () => "a\ud800b"],
  ["the empty string", () => ""],
  ["a BigInt", () => 2n ** 100n],
  ["a negative BigInt", () => -(2n ** 64n) + 1n],
  ["a Date", () => new Date("2024-02-29T12:34:56.789Z")],
  ["a RegExp with flags", () => /a+(b)?\d/giu],
  ["a Map with object keys", () => new Map<unknown, unknown>([[{ k: 1 }, "v"], ["s", new Set([1])]])],
  ["a Set", () => new Set<unknown>([1, "a", { b: 2 }, 3n])],
  ["nested values", () => ({ a: [1, { b: new Map([["c", [new Date(0), /x/]]]) }], d: { e: null, f: undefined } })],
  ["a sparse array", sparse],
  ["an array with a named property", named],
  ["an ArrayBuffer", () => new Uint8Array([1, 2, 3]).buffer],
  ["a DataView", () => new DataView(new Uint8Array([9, 8, 7]).buffer)],
  ["boxed primitives", () => [Object(1), Object("s"), Object(false)]],
  ["a Buffer", () => Buffer.from("bytes \u0000\u00ff")],
  ["an empty object and an empty array", () => [{}, []]],
  ["a plain array of numbers", () => [1, 2.5, -0, NaN, -Infinity, 2 ** 53]],
  ["an array of small objects", () => Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, ok: i % 2 === 0 }))],
  ...TYPED_ARRAYS.map((make): [string, () => unknown] => [`a ${make().constructor.name}`, make]),
];

describe("v8 serializer", () => {
  for (const [name, make] of V8_TABLE) {
    test(`round-trips ${name}`, () => {
      assert.deepEqual(roundTrip(v8Serializer, make()), make());
    });
  }

  test("round-trips an invalid Date", () => {
    // Separate: Node 20's deepEqual calls two invalid Dates different (NaN !== NaN).
    const back = roundTrip(v8Serializer, new Date(NaN));
    assert.ok(back instanceof Date && Number.isNaN(back.getTime()));
  });

  test("keeps holes in sparse arrays as holes", () => {
    const back = roundTrip(v8Serializer, sparse()) as unknown[];
    assert.equal(back.length, 4);
    assert.equal(1 in back, false);
    assert.equal(back[3], "x");
  });

  test("a typed array, DataView or Buffer comes back owning exactly its own memory", () => {
    const payload = v8Serializer.serialize({
      list: TYPED_ARRAYS.map((make) => make()),
      view: new DataView(new ArrayBuffer(5), 1, 3),
      buf: Buffer.from("abc"),
      slice: new Float64Array([1, 2, 3, 4]).subarray(1, 3),
    });
    const copy = Buffer.from(payload);
    const back = v8Serializer.deserialize(payload) as { list: ArrayBufferView[]; view: DataView; buf: Buffer; slice: Float64Array };
    assert.deepEqual(back.list, TYPED_ARRAYS.map((make) => make()));
    assert.deepEqual(back.slice, new Float64Array([2, 3]));
    assert.ok(Buffer.isBuffer(back.buf));
    assert.equal(back.buf.toString(), "abc");
    for (const [i, view] of [...back.list, back.view, back.buf, back.slice].entries()) {
      assert.equal(view.byteOffset, 0, `view ${i}`);
      assert.equal(view.buffer.byteLength, view.byteLength, `view ${i}`);
      new Uint8Array(view.buffer).fill(0x5a); // writing to the result leaves the payload alone
    }
    assert.deepEqual(payload, copy);
  });

  test("keeps cycles and shared references", () => {
    const shared = { n: 1 };
    const value: Record<string, unknown> = { a: shared, b: shared, list: [shared] };
    value.self = value;
    const map = new Map<string, unknown>();
    map.set("me", map);
    value.map = map;
    const back = roundTrip(v8Serializer, value) as typeof value & { map: Map<string, unknown> };
    assert.equal(back.self, back);
    assert.equal(back.a, back.b);
    assert.equal((back.list as unknown[])[0], back.a);
    assert.equal(back.map.get("me"), back.map);
    assert.deepEqual(back, value);
  });

  for (const Ctor of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
    test(`round-trips a ${Ctor.name} with its name, message and stack`, () => {
      const err = new Ctor("went wrong: ✗");
      const back = roundTrip(v8Serializer, { err }) as { err: Error };
      assert.ok(back.err instanceof Ctor);
      assert.equal(back.err.name, Ctor.name);
      assert.equal(back.err.message, err.message);
      assert.equal(back.err.stack, err.stack);
    });
  }

  test("round-trips an Error's cause", () => {
    const err = new Error("outer", { cause: new RangeError("inner") });
    const back = roundTrip(v8Serializer, err) as Error;
    assert.ok(back.cause instanceof RangeError);
    assert.equal((back.cause as Error).message, "inner");
  });

  test("a custom Error subclass comes back as an Error with its message and stack", () => {
    class PipelineError extends Error {}
    const err = new PipelineError("bad row");
    const back = roundTrip(v8Serializer, err) as Error;
    assert.ok(back instanceof Error);
    assert.equal(back.message, "bad row");
    assert.equal(back.stack, err.stack);
  });

  const UNCLONABLE: [string, () => unknown][] = [
    ["a function", () => ({ f: () => 1 })],
    ["a symbol", () => [Symbol("s")]],
    ["a promise", () => Promise.resolve(1)],
    ["a WeakMap", () => new WeakMap()],
  ];
  for (const [name, make] of UNCLONABLE) {
    test(`refuses ${name} with a TypeError that says what it keeps`, () => {
      assert.throws(
        () => v8Serializer.serialize(make()),
        (err: unknown) =>
          err instanceof TypeError && /v8 serializer cannot store/.test(err.message) && /could not be cloned/.test(err.message) && err.cause instanceof Error,
      );
    });
  }
});

describe("v8 fast path for plain arrays of numbers", () => {
  const mixedElements = (): unknown[] => {
    // An array that once held an object keeps generic elements: small integers are written
    // as 'I' (zigzag varint) and other numbers as 'N' (a double), in one payload.
    const a: unknown[] = [{}, 1, 2.5, -3, 2 ** 31, -0];
    a.shift();
    return a;
  };
  const FAST: [string, () => number[]][] = [
    ["the empty array", () => []],
    ["one double", () => [0.1]],
    ["-0", () => [-0]],
    ["NaN and ±Infinity", () => [NaN, Infinity, -Infinity]],
    ["small integers (written as int32)", () => [0, 1, -1, 63, -64, 64, 2 ** 30 - 1, -(2 ** 30)]],
    ["int32 boundaries", () => [2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -(2 ** 53)]],
    ["extreme doubles", () => [Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, Number.EPSILON, 2.2250738585072014e-308]],
    ["integers and doubles in generic elements", mixedElements as () => number[]],
  ];
  for (const [name, make] of FAST) {
    test(`reads ${name} exactly as v8.deserialize does`, () => {
      const payload = v8Serializer.serialize(make());
      const fast = readV8NumberArray(payload);
      assert.ok(fast, "the fast path takes it");
      assert.equal(Object.getPrototypeOf(fast), Array.prototype);
      assert.deepEqual(fast, make());
      assert.deepEqual(fast, v8.deserialize(payload));
      assert.deepEqual(v8Serializer.deserialize(payload), make());
    });
  }

  test("the generic-elements case really mixes int32 and double tags", () => {
    const payload = v8Serializer.serialize(mixedElements());
    assert.ok(payload.includes(0x49) && payload.includes(0x4e));
  });

  test("a large array of arbitrary doubles comes back bit-exact (Object.is per element, -0 and NaN too)", () => {
    const rand = seeded(7);
    const view = new DataView(new ArrayBuffer(8));
    const specials = [-0, 0, NaN, Infinity, -Infinity, 5e-324, 1, -1, 2 ** 31];
    const value = Array.from({ length: 200_000 }, (_, i) => {
      if (i % 97 === 0) return specials[(i / 97) % specials.length]!;
      view.setUint32(0, (rand() * 2 ** 32) >>> 0);
      view.setUint32(4, (rand() * 2 ** 32) >>> 0);
      return view.getFloat64(0); // any bit pattern: subnormals, huge, NaNs
    });
    const back = v8Serializer.deserialize(v8Serializer.serialize(value)) as number[];
    assert.ok(Array.isArray(back));
    assert.equal(back.length, value.length);
    for (let i = 0; i < value.length; i++) {
      if (!Object.is(back[i], value[i])) assert.fail(`element ${i}: ${back[i]} is not ${value[i]}`);
    }
  });

  const isNumberArray = (v: unknown): boolean =>
    Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype && Object.keys(v).length === v.length && v.every((x) => typeof x === "number");
  // deepEqual, except that two invalid Dates are equal (Node 20's deepEqual says NaN !== NaN):
  // values v8 writes as the same bytes are the same.
  const sameValue = (a: unknown, b: unknown, message: string): void => {
    if (!isDeepStrictEqual(a, b)) assert.deepEqual(v8.serialize(a), v8.serialize(b), message);
  };
  const NORMAL: [string, () => unknown][] = [
    ["an array with a hole", () => [1, , 3]],
    ["an array with a string", () => [1, 2, "3"]],
    ["an array with undefined", () => [1, undefined]],
    ["an array with null", () => [1, null]],
    ["an array with a boxed number", () => [1, Object(2)]],
    ["an array with a BigInt", () => [1, 2n]],
    ["a nested array of numbers", () => [[1, 2], [3]]],
    ["an array with a named property", named],
    ["a Float64Array", () => new Float64Array([1, 2])],
    ["a number", () => 1.5],
    ["an object with numeric keys", () => ({ 0: 1, 1: 2, length: 2 })],
    ...V8_TABLE.filter(([, make]) => !isNumberArray(make())),
  ];
  for (const [name, make] of NORMAL) {
    test(`leaves ${name} to v8.deserialize`, () => {
      const payload = v8Serializer.serialize(make());
      assert.equal(readV8NumberArray(payload), undefined);
      assert.deepEqual(v8Serializer.deserialize(payload), make());
    });
  }

  test("skips payloads of another format version", () => {
    const payload = Buffer.from(v8Serializer.serialize([1.5, 2.5]));
    payload[1] = 13;
    assert.equal(readV8NumberArray(payload), undefined);
  });

  test("accepts nothing v8.deserialize would read differently (mutation fuzz)", () => {
    const rand = seeded(2024);
    const bases = [[1.5, -0, NaN, 3], [0, 1, -1, 2 ** 31], [], [7], [1, , 3], [1, "a"], named(), { a: 1 }, new Float64Array(2), 2 ** 40, [[1]]].map(
      (v) => Buffer.from(v8Serializer.serialize(v)),
    );
    const interesting = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x41, 0x4e, 0x49, 0x24, 0x2d, 0x5f, 0x61, 0x40];
    let accepted = 0;
    let acceptedChanged = 0;
    for (let round = 0; round < 20_000; round++) {
      const base = bases[round % bases.length]!;
      let m = Buffer.from(base);
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (m.length + 1));
        const byte = rand() < 0.5 ? interesting[Math.floor(rand() * interesting.length)]! : Math.floor(rand() * 256);
        const kind = Math.floor(rand() * 4);
        if (kind === 0 && at < m.length) m[at] = byte;
        else if (kind === 1) m = Buffer.concat([m.subarray(0, at), Buffer.of(byte), m.subarray(at)]);
        else if (kind === 2) m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1)]);
        else m = m.subarray(0, at);
      }
      const fast = readV8NumberArray(m);
      let reference: { value: unknown } | { error: unknown };
      try {
        reference = { value: v8.deserialize(m) };
      } catch (error) {
        reference = { error };
      }
      if (fast !== undefined) {
        accepted++;
        if (!m.equals(base)) acceptedChanged++;
        assert.ok("value" in reference, `fast path accepted bytes v8 rejects: ${m.toString("hex")}`);
        assert.deepEqual(fast, reference.value, m.toString("hex"));
      }
      // Whatever path it takes, the serializer agrees with v8.deserialize.
      if ("value" in reference) sameValue(v8Serializer.deserialize(m), reference.value, m.toString("hex"));
      else assert.throws(() => v8Serializer.deserialize(m));
    }
    assert.ok(accepted > 200 && acceptedChanged > 100, `the fuzz exercised the fast path (${accepted} / ${acceptedChanged})`);
  });
});

describe("json serializer", () => {
  const JSON_TABLE: [string, unknown][] = [
    ["null", null],
    ["booleans", [true, false]],
    ["numbers", [0, 1, -1, 0.1, 1e300, -5e-324, 2 ** 53]],
    ["strings with non-ASCII, astral and escaped characters", ["héllo", "𝄞", 'q"\\\n\t\u0000']],
    ["a lone surrogate", "a\udc00b"],
    ["nested objects and arrays", { a: [1, { b: [[], {}] }], c: { d: "e" }, "key with spaces": 1 }],
    ["an empty object", {}],
    ["a __proto__ key (as an own property)", JSON.parse('{"__proto__": {"x": 1}}') as unknown],
  ];
  for (const [name, value] of JSON_TABLE) {
    test(`round-trips ${name}`, () => {
      assert.deepEqual(roundTrip(jsonSerializer, value), value);
    });
  }

  test("writes plain UTF-8 JSON", () => {
    assert.equal(Buffer.from(jsonSerializer.serialize({ a: [1, "é"] })).toString("utf8"), '{"a":[1,"é"]}');
  });

  test("stores a shared reference as two equal copies", () => {
    const shared = { n: 1 };
    assert.deepEqual(roundTrip(jsonSerializer, { a: shared, b: shared }), { a: { n: 1 }, b: { n: 1 } });
  });

  class Point {
    constructor(readonly x: number) {}
  }
  const cyclic = (): unknown => {
    const o: Record<string, unknown> = { inner: { list: [] as unknown[] } };
    ((o.inner as Record<string, unknown[]>).list as unknown[]).push(o.inner);
    return o;
  };
  const REFUSED: [string, () => unknown, RegExp][] = [
    ["undefined at the top level", () => undefined, /store \$ faithfully: undefined \(JSON has no undefined\)/],
    ["undefined in an object", () => ({ a: undefined }), /\$\.a .*JSON drops the key/],
    ["undefined in an array", () => [1, undefined], /\$\[1\] .*JSON writes it as null/],
    ["a hole in a sparse array", () => [1, , 2], /\$\[1\] .*hole in a sparse array/],
    ["a BigInt", () => ({ n: 1n }), /\$\.n .*a BigInt/],
    ["a function", () => ({ run() {} }), /\$\.run .*a function/],
    ["a toJSON method", () => ({ toJSON: () => 1 }), /\$\.toJSON .*toJSON method/],
    ["a Symbol value", () => [Symbol("s")], /\$\[0\] .*a Symbol/],
    ["a Symbol-keyed property", () => ({ [Symbol("k")]: 1 }), /\$ .*Symbol-keyed property/],
    ["a cycle", cyclic, /\$\.inner\.list\[0\] .*a cycle \(it is \$\.inner again\)/],
    ["an object that contains itself", () => { const o: Record<string, unknown> = {}; o.self = o; return o; }, /\$\.self .*a cycle \(it is \$ again\)/],
    ["NaN", () => ({ x: NaN }), /\$\.x .*NaN \(JSON writes it as null\)/],
    ["Infinity", () => [-Infinity], /\$\[0\] .*-Infinity/],
    ["-0", () => ({ "a-b": -0 }), /\$\["a-b"\] .*-0 \(JSON writes it as 0\)/],
    ["a Date", () => ({ at: new Date(0) }), /\$\.at .*a Date/],
    ["a Map", () => new Map(), /a Map/],
    ["a Set", () => new Set(), /a Set/],
    ["a RegExp", () => /x/, /a RegExp/],
    ["a Buffer", () => Buffer.from("x"), /a Buffer/],
    ["a Uint8Array", () => new Uint8Array(1), /a Uint8Array/],
    ["a Float64Array", () => new Float64Array(1), /a Float64Array/],
    ["an Error", () => new Error("x"), /an Error/],
    ["a boxed primitive", () => Object("s"), /boxed primitive/],
    ["a class instance", () => ({ p: new Point(1) }), /\$\.p .*an instance of Point/],
    ["an Array subclass", () => new (class Row extends Array<number> {})(), /Array subclass/],
  ];
  for (const [name, make, message] of REFUSED) {
    test(`refuses ${name} with a TypeError naming where and why`, () => {
      assert.throws(
        () => jsonSerializer.serialize(make()),
        (err: unknown) => err instanceof TypeError && message.test(err.message) && /use the v8 serializer/.test(err.message),
      );
    });
  }

  test("rejects bytes that are not UTF-8 JSON", () => {
    assert.throws(() => jsonSerializer.deserialize(Uint8Array.of(0x22, 0xff, 0x22)), TypeError);
    assert.throws(() => jsonSerializer.deserialize(Buffer.from("{nope")), SyntaxError);
  });
});

describe("bytes serializer", () => {
  test("stores a Buffer as its raw bytes and gives back a Buffer", () => {
    const value = Buffer.from([0, 1, 2, 255]);
    const bytes = bytesSerializer.serialize(value);
    assert.deepEqual([...bytes], [0, 1, 2, 255]);
    const back = bytesSerializer.deserialize(bytes);
    assert.ok(Buffer.isBuffer(back));
    assert.deepEqual(back, value);
  });

  test("stores a Uint8Array, and only the bytes of its view, and gives back a Buffer", () => {
    const whole = Uint8Array.of(9, 1, 2, 3, 9);
    const bytes = bytesSerializer.serialize(whole.subarray(1, 4));
    assert.deepEqual([...bytes], [1, 2, 3]);
    const back = bytesSerializer.deserialize(bytes);
    assert.ok(Buffer.isBuffer(back));
    assert.deepEqual([...(back as Buffer)], [1, 2, 3]);
  });

  test("round-trips empty bytes", () => {
    assert.deepEqual(roundTrip(bytesSerializer, Buffer.alloc(0)), Buffer.alloc(0));
  });

  test("copies nothing: the result is a Buffer over the bytes it was given", () => {
    const stored = Buffer.from("raw");
    const back = bytesSerializer.deserialize(stored) as Buffer;
    assert.equal(back.buffer, stored.buffer);
    assert.equal(back.byteOffset, stored.byteOffset);
  });

  for (const [name, value] of [
    ["a string", "abc"],
    ["a number", 1],
    ["null", null],
    ["undefined", undefined],
    ["an ArrayBuffer", new ArrayBuffer(2)],
    ["a Float64Array", new Float64Array(1)],
    ["a Uint8ClampedArray", new Uint8ClampedArray(1)],
    ["an array of bytes", [1, 2]],
  ] as [string, unknown][]) {
    test(`refuses ${name} with a TypeError`, () => {
      assert.throws(() => bytesSerializer.serialize(value), (err: unknown) => err instanceof TypeError && /only a Buffer or Uint8Array/.test(err.message));
    });
  }
});

describe("defaultSerializerFor", () => {
  for (const [name, value, expected] of [
    ["a Buffer", Buffer.from("x"), "bytes"],
    ["a Uint8Array", new Uint8Array(3), "bytes"],
    ["a Uint8Array subclass", new (class Bytes extends Uint8Array {})(2), "bytes"],
    ["a Uint8ClampedArray", new Uint8ClampedArray(3), "v8"],
    ["a Float64Array", new Float64Array(3), "v8"],
    ["an ArrayBuffer", new ArrayBuffer(3), "v8"],
    ["a string", "text", "v8"],
    ["a plain array of numbers", [1, 2], "v8"],
    ["an object holding a Buffer", { b: Buffer.from("x") }, "v8"],
    ["undefined", undefined, "v8"],
  ] as [string, unknown, string][]) {
    test(`chooses ${expected} for ${name}`, () => {
      const s = defaultSerializerFor(value);
      assert.equal(s.name, expected);
      assert.equal(s, serializerByName(expected));
    });
  }

  test("a 10 MiB Buffer is stored as exactly its bytes", () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 7);
    const bytes = defaultSerializerFor(big).serialize(big);
    assert.equal(bytes.byteLength, big.byteLength);
    assert.equal(bytes.buffer, big.buffer);
  });
});

describe("serializer registry", () => {
  const upper: Serializer = {
    name: "upper-text",
    serialize: (value) => Buffer.from(String(value).toUpperCase(), "utf8"),
    deserialize: (bytes) => Buffer.from(bytes).toString("utf8"),
  };

  test("finds each built-in by name", () => {
    assert.deepEqual(builtinSerializers.map((s) => s.name), ["v8", "json", "bytes"]);
    for (const s of builtinSerializers) assert.equal(serializerByName(s.name), s);
    assert.equal(serializerByName("v8", [upper]), v8Serializer);
  });

  test("the built-ins cannot be changed", () => {
    assert.ok(Object.isFrozen(v8Serializer) && Object.isFrozen(jsonSerializer) && Object.isFrozen(bytesSerializer));
    assert.ok(Object.isFrozen(builtinSerializers));
  });

  test("an unknown name is an UnknownSerializerError that names it and what is known", () => {
    assert.throws(
      () => serializerByName("msgpack", [upper]),
      (err: unknown) =>
        err instanceof UnknownSerializerError &&
        err instanceof InvalidInputError &&
        err instanceof CashetError &&
        err.code === "EINVALID" &&
        err.name === "UnknownSerializerError" &&
        err.serializer === "msgpack" &&
        err.message.includes('"msgpack"') &&
        err.message.includes("v8, json, bytes, upper-text"),
    );
  });

  test("finds a user serializer object, which round-trips with its own format", () => {
    const s = serializerByName("upper-text", [upper]);
    assert.equal(s, upper);
    assert.equal(roundTrip(s, "shout"), "SHOUT");
  });

  test("a class instance with the three members is a serializer too", () => {
    class LinesSerializer implements Serializer {
      readonly name = "lines";
      serialize(value: unknown): Uint8Array {
        return Buffer.from((value as string[]).join("\n"));
      }
      deserialize(bytes: Uint8Array): unknown {
        return Buffer.from(bytes).toString().split("\n");
      }
    }
    const lines = new LinesSerializer();
    assert.ok(isSerializer(lines));
    assert.equal(serializerByName("lines", [upper, lines]), lines);
    assert.deepEqual(roundTrip(lines, ["a", "b"]), ["a", "b"]);
  });

  test("isSerializer wants a non-empty name and both methods", () => {
    assert.ok(isSerializer(upper));
    assert.ok(!isSerializer(null));
    assert.ok(!isSerializer({ ...upper, name: "" }));
    assert.ok(!isSerializer({ name: "x", serialize: () => new Uint8Array() }));
    assert.ok(!isSerializer({ name: "x", serialize: 1, deserialize: () => 1 }));
  });

  test("refuses a custom serializer that takes a built-in's name", () => {
    const fakeV8: Serializer = { ...upper, name: "v8" };
    assert.throws(() => serializerByName("v8", [fakeV8]), (err: unknown) => err instanceof InvalidInputError && /built-in's name/.test(err.message));
    assert.throws(() => serializerByName("upper-text", [upper, fakeV8]), InvalidInputError);
  });

  test("accepts a built-in passed again as a custom serializer", () => {
    assert.equal(serializerByName("json", [jsonSerializer]), jsonSerializer);
  });

  test("refuses two different custom serializers with one name, and non-serializers", () => {
    assert.throws(() => serializerByName("upper-text", [upper, { ...upper }]), (err: unknown) => err instanceof InvalidInputError && /two different/.test(err.message));
    assert.throws(() => serializerByName("v8", [{ name: "x" } as unknown as Serializer]), (err: unknown) => err instanceof InvalidInputError && /custom serializer 0/.test(err.message));
  });
});

describe("deserializing never executes code", () => {
  test("a class instance comes back as a plain object without running its constructor", () => {
    let constructed = 0;
    class Tracked {
      payload = [1, 2];
      constructor() {
        constructed++;
      }
      method(): number {
        return 1;
      }
    }
    const payload = v8Serializer.serialize(new Tracked());
    assert.equal(constructed, 1);
    const back = v8Serializer.deserialize(payload) as Record<string, unknown>;
    assert.equal(constructed, 1);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.ok(!(back instanceof Tracked));
    assert.equal(back.method, undefined);
    assert.deepEqual(back, { payload: [1, 2] });
  });

  test("getters run when the value is written, never when it is read back", () => {
    let reads = 0;
    const value = {
      get x(): number {
        reads++;
        return 42;
      },
    };
    for (const s of [v8Serializer, jsonSerializer]) {
      reads = 0;
      const payload = s.serialize(value);
      const afterWrite = reads;
      const back = s.deserialize(payload) as object;
      assert.equal(reads, afterWrite, s.name);
      assert.deepEqual(Object.getOwnPropertyDescriptor(back, "x"), { value: 42, writable: true, enumerable: true, configurable: true });
    }
  });

  test("reading back defines properties: no setter on Object.prototype runs", () => {
    let setterCalls = 0;
    Object.defineProperty(Object.prototype, "trap", {
      configurable: true,
      set() {
        setterCalls++;
      },
    });
    try {
      for (const s of [v8Serializer, jsonSerializer]) {
        const back = s.deserialize(s.serialize(JSON.parse('{"trap": 1}') as unknown)) as Record<string, unknown>;
        assert.equal(Object.getOwnPropertyDescriptor(back, "trap")?.value, 1, s.name);
      }
      assert.equal(setterCalls, 0);
    } finally {
      delete (Object.prototype as Record<string, unknown>).trap;
    }
  });

  test("a __proto__ key stays an own property and pollutes nothing", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    for (const s of [v8Serializer, jsonSerializer]) {
      const back = s.deserialize(s.serialize(value)) as object;
      assert.equal(Object.getPrototypeOf(back), Object.prototype, s.name);
      assert.ok(Object.hasOwn(back, "__proto__"), s.name);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });

  test("a crafted host-object index is an error, not a constructor call", () => {
    const payload = Buffer.from(v8Serializer.serialize(new Uint8Array([1, 2])));
    assert.equal(payload[2], 0x5c); // V8's host-object tag; Node's type index follows
    payload[3] = 99;
    assert.throws(() => v8Serializer.deserialize(payload));
  });

  test("the serializers' code holds no eval, Function constructor or JSON reviver", () => {
    const source = readFileSync(new URL("../../plumbing/serializers.js", import.meta.url), "utf8");
    assert.doesNotMatch(source, /\beval\s*\(/);
    assert.doesNotMatch(source, /\bFunction\s*\(/);
    assert.doesNotMatch(source, /JSON\.parse\([^()]*(\([^()]*\))?[^()]*,/);
    assert.doesNotMatch(source, /globalThis\s*\[/);
  });
});
