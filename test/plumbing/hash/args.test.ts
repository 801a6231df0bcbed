import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { InvalidInputError } from "../../../plumbing/errors.js";
import { hashArgs, IDENTITY, PREVIEW, type HashArgsOptions } from "../../../plumbing/hash/args.js";
import { previewArgs } from "../../../plumbing/hash/preview.js";
import { file, FileArg } from "../../../plumbing/hash/file-arg.js";
import { tempDir } from "../../helpers/fixtures.js";

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}
class Vec {
  constructor(
    public x: number,
    public y: number,
  ) {}
}
class WithPrivate {
  #secret: number;
  visible = 1;
  constructor(secret: number) {
    this.#secret = secret;
  }
  get secret(): number {
    return this.#secret;
  }
}
class MyArray extends Array<number> {}

const identified = (id: string): object => ({ [IDENTITY]: () => id });
const identifiedAsync = (id: string): object => ({ [IDENTITY]: async () => id });
const sparse = (): unknown[] => {
  const a: unknown[] = [];
  a[1] = 2;
  return a;
};
const f64 = new Float64Array([1.5, -2, 3]);

const h = (args: readonly unknown[], options?: HashArgsOptions): Promise<string> => hashArgs(args, options);

describe("hashArgs: different arguments never share a hash", () => {
  const cases: Array<[string, unknown[], unknown[]]> = [
    ["number 1 / string '1'", [1], ["1"]],
    ["number 1 / bigint 1n", [1], [1n]],
    ["string '1' / bigint 1n", ["1"], [1n]],
    ["1 / 1.0000001", [1], [1.0000001]],
    ["null / undefined", [null], [undefined]],
    ["undefined / no argument", [undefined], []],
    ["0 / -0", [0], [-0]],
    ["NaN / undefined", [NaN], [undefined]],
    ["Infinity / -Infinity", [Infinity], [-Infinity]],
    ["true / 1", [true], [1]],
    ["false / 0", [false], [0]],
    ["true / false", [true], [false]],
    ["'' / no argument", [""], []],
    ["1n / -1n", [1n], [-1n]],
    ["huge bigints", [2n ** 200n], [2n ** 200n + 1n]],
    ["[1,[2]] / [[1],2]", [[1, [2]]], [[[1], 2]]],
    ["['ab'] / ['a','b']", [["ab"]], [["a", "b"]]],
    ["args 'ab' / args 'a','b'", ["ab"], ["a", "b"]],
    ["args [1,2] / [[1,2]]", [1, 2], [[1, 2]]],
    ["[] / {}", [[]], [{}]],
    ["[undefined] / []", [[undefined]], [[]]],
    ["{a:undefined} / {}", [{ a: undefined }], [{}]],
    ["{a:1} / {a:'1'}", [{ a: 1 }], [{ a: "1" }]],
    ["{a:1} / {b:1}", [{ a: 1 }], [{ b: 1 }]],
    ["{a:{b:1}} / {a:{}, b:1}", [{ a: { b: 1 } }], [{ a: {}, b: 1 }]],
    ["{'a,b':1} / {a:1,b:1}", [{ "a,b": 1 }], [{ a: 1, b: 1 }]],
    ["{a:1} / Map a=>1", [{ a: 1 }], [new Map([["a", 1]])]],
    ["Set{1} / [1]", [new Set([1])], [[1]]],
    ["Set{1} / Map 1=>1", [new Set([1])], [new Map([[1, 1]])]],
    ["Map a=>1 / Map a=>2", [new Map([["a", 1]])], [new Map([["a", 2]])]],
    ["Map 1=>2 / Map 2=>1", [new Map([[1, 2]])], [new Map([[2, 1]])]],
    ["Set{1,2} / Set{1}", [new Set([1, 2])], [new Set([1])]],
    ["Set{'1'} / Set{1}", [new Set(["1"])], [new Set([1])]],
    ["Sets of big elements (hashed, not inlined) that differ", [new Set(["y".repeat(5000) + "a", 1])], [new Set(["y".repeat(5000) + "b", 1])]],
    ["Sets of big typed arrays that differ", [new Set([new Float64Array(1000)])], [new Set([new Float64Array(1000).fill(1, 999)])]],
    ["Map{} / Set{}", [new Map()], [new Set()]],
    ["Set{[1,2]} / Set{1,2}", [new Set([[1, 2]])], [new Set([1, 2])]],
    ["Float64Array / Float32Array, same bytes", [new Float64Array([1, 2])], [new Float32Array(new Float64Array([1, 2]).buffer)]],
    ["Uint8Array / Uint8ClampedArray", [new Uint8Array([1, 2])], [new Uint8ClampedArray([1, 2])]],
    ["Uint8Array / Int8Array", [new Uint8Array([1, 2])], [new Int8Array([1, 2])]],
    ["Buffer / Uint8Array, same bytes (a Buffer is its own kind)", [Buffer.from([1, 2, 3])], [new Uint8Array([1, 2, 3])]],
    ["Uint8Array / ArrayBuffer, same bytes", [new Uint8Array([1, 2])], [new Uint8Array([1, 2]).buffer]],
    ["Uint8Array / DataView, same bytes", [new Uint8Array([1, 2])], [new DataView(new Uint8Array([1, 2]).buffer)]],
    ["ArrayBuffer / SharedArrayBuffer, same bytes", [new ArrayBuffer(4)], [new SharedArrayBuffer(4)]],
    ["Uint8Array / its bytes as an array", [new Uint8Array([1, 2])], [[1, 2]]],
    ["Uint8Array [1,2] / [1,3]", [new Uint8Array([1, 2])], [new Uint8Array([1, 3])]],
    ["Uint8Array [1] / [1,0]", [new Uint8Array([1])], [new Uint8Array([1, 0])]],
    ["big Float64Array differs in its last element", [new Float64Array(100_000)], [new Float64Array(100_000).fill(1, 99_999)]],
    ["NFC 'é' / NFD 'é'", ["\u00e9"], ["e\u0301"]],
    ["lone surrogate / U+FFFD", ["\uD800"], ["\uFFFD"]],
    ["lone surrogate / its UTF-16 bytes as a string", ["\uD800"], ["\u0000\uD800"]],
    ["long strings differ at the end", ["x".repeat(100_000) + "a"], ["x".repeat(100_000) + "b"]],
    ["Date / its time value", [new Date(0)], [0]],
    ["Date 0 / Date 1", [new Date(0)], [new Date(1)]],
    ["invalid Date / NaN", [new Date(NaN)], [NaN]],
    ["RegExp /a/g / /a/i", [/a/g], [/a/i]],
    ["RegExp /a/ / string '/a/'", [/a/], ["/a/"]],
    ["RegExp source+flags do not run together", [new RegExp("ag")], [/a/g]],
    ["Point(1,2) / Vec(1,2)", [new Point(1, 2)], [new Vec(1, 2)]],
    ["Point(1,2) / {x:1,y:2}", [new Point(1, 2)], [{ x: 1, y: 2 }]],
    ["Point(1,2) / Point(2,1)", [new Point(1, 2)], [new Point(2, 1)]],
    ["array subclass / array", [MyArray.from([1, 2])], [[1, 2]]],
    ["new Number(1) / 1", [new Number(1)], [1]],
    ["new Number(1) / new String('1')", [new Number(1)], [new String("1")]],
    ["new Boolean(false) / false", [new Boolean(false)], [false]],
    ["new String('a') / 'a'", [new String("a")], ["a"]],
    ["Error('a') / Error('b')", [new Error("a")], [new Error("b")]],
    ["Error / TypeError, same message", [new Error("a")], [new TypeError("a")]],
    ["identity 'x' / string 'x'", [identified("x")], ["x"]],
    ["identity 'x' / identity 'y'", [identified("x")], [identified("y")]],
    ["hole / null", [sparse()], [[null, 2]]],
  ];
  for (const [name, a, b] of cases) {
    test(name, async () => {
      assert.notEqual(await h(a), await h(b));
    });
  }

  test("a function, an identity and a string with the same text differ", async () => {
    const hashFunction = (): string => "x";
    const fn = (): number => 1;
    const hashes = new Set([await h([fn], { hashFunction }), await h([identified("x")]), await h(["x"])]);
    assert.equal(hashes.size, 3);
  });

  test("different function hashes give different argument hashes", async () => {
    const a = (): number => 1;
    const b = (): number => 2;
    const hashFunction = (fn: Function): string => fn.toString();
    assert.notEqual(await h([a], { hashFunction }), await h([b], { hashFunction }));
  });
});

describe("hashArgs: equal arguments share a hash", () => {
  const big = new Float64Array(10_000).map((_, i) => i * 0.5);
  const backing = new Float64Array(12);
  backing.set([7, 8, 9], 4);
  const cases: Array<[string, unknown[], unknown[]]> = [
    ["key order of plain objects", [{ a: 1, b: { c: 2, d: 3 } }], [{ b: { d: 3, c: 2 }, a: 1 }]],
    ["null-prototype object and plain object", [Object.assign(Object.create(null) as object, { a: 1 })], [{ a: 1 }]],
    ["Map insertion order", [new Map<unknown, unknown>([["a", 1], [2, "b"]])], [new Map<unknown, unknown>([[2, "b"], ["a", 1]])]],
    ["Set insertion order", [new Set([1, "a", { b: 2 }])], [new Set([{ b: 2 }, "a", 1])]],
    ["Set insertion order with big elements", [new Set<unknown>([new Float64Array(1000).fill(2), "z".repeat(5000), 1])], [new Set<unknown>([1, "z".repeat(5000), new Float64Array(1000).fill(2)])]],
    ["nested Maps and Sets", [new Map<unknown, unknown>([[new Set([1, 2]), new Map([["a", 1], ["b", 2]])], ["k", 0]])], [new Map<unknown, unknown>([["k", 0], [new Set([2, 1]), new Map([["b", 2], ["a", 1]])]])]],
    ["NaN and NaN", [NaN], [NaN]],
    ["NaNs with different payloads", [NaN], [new Float64Array(new Uint32Array([1, 0x7ff00000]).buffer)[0]]],
    ["0 and 0.0", [0], [0.0]],
    ["equal typed arrays from different buffers", [new Float64Array([1, 2, 3])], [Float64Array.from([1, 2, 3])]],
    ["a subarray and a copy of its bytes", [backing.subarray(4, 7)], [new Float64Array([7, 8, 9])]],
    ["a big array and its copy", [big], [big.slice()]],
    ["a DataView at an offset and its bytes", [new DataView(backing.buffer, 32, 24)], [new DataView(new Float64Array([7, 8, 9]).buffer)]],
    ["a Buffer slice and a fresh Buffer", [Buffer.from("hello world").subarray(6)], [Buffer.from("world")]],
    ["a hole and undefined", [sparse()], [[undefined, 2]]],
    ["two instances with the same data", [new Point(1, 2)], [new Point(1, 2)]],
    ["class instances ignore private fields", [new WithPrivate(1)], [new WithPrivate(2)]],
    ["identity objects with the same identity", [identified("ref:abc")], [identifiedAsync("ref:abc")]],
    ["identity wins over the object's contents", [Object.assign(new Map([[1, 2]]), { [IDENTITY]: () => "m" })], [identified("m")]],
    ["invalid dates", [new Date(NaN)], [new Date("nope")]],
    ["equal bigints", [2n ** 100n], [2n ** 100n]],
    ["strings (long and multi-byte)", ["ü€😀".repeat(30_000)], ["ü€😀".repeat(30_000)]],
    ["boxed primitives with the same value", [new Number(3)], [new Number(3)]],
  ];
  for (const [name, a, b] of cases) {
    test(name, async () => {
      assert.equal(await h(a), await h(b));
    });
  }

  test("a class instance hashed twice", async () => {
    const p = new Point(3, 4);
    assert.equal(await h([p]), await h([p]));
  });

  test("a value shared twice (not a cycle) is fine", async () => {
    const shared = { a: 1 };
    assert.equal(await h([[shared, shared]]), await h([[{ a: 1 }, { a: 1 }]]));
  });

  test("the hash is lowercase hex sha256", async () => {
    assert.match(await h([1, "a", { b: [null] }]), /^[0-9a-f]{64}$/);
  });

  test("the bytes hashed are the documented encoding (format header, tags, 64-bit lengths)", async () => {
    const u64 = (n: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const str = (s: string): Buffer => Buffer.concat([Buffer.from([0]), u64(Buffer.byteLength(s)), Buffer.from(s)]);
    const one = Buffer.alloc(8);
    one.writeDoubleBE(1);
    const expected = Buffer.concat([str("cashet-args-v1"), Buffer.from([0x01]), u64(2), Buffer.from([0x08]), str("a"), Buffer.from([0x06]), one]);
    assert.equal(await h(["a", 1]), createHash("sha256").update(expected).digest("hex"));
  });

  test("the encoding is stable (changing it invalidates every cache: bump FORMAT on purpose)", async () => {
    const value = [1, -0, NaN, "é", 2n, null, undefined, [true, false], { b: 1, a: [2] }, new Map([["k", new Set([1])]]), new Date(0), /x/g, new Uint8Array([1, 2]), Buffer.from("b"), new Point(1, 2)];
    assert.equal(await h(value), "5edfeb53522e856f97e17c01d197767f81f2a05c5b0d7c9834d46d1f6e2693fd");
  });
});

describe("hashArgs: large typed arrays are hashed in place", () => {
  test("a 16 MB Float64Array's hash covers every byte", async () => {
    const a = new Float64Array(2 * 1024 * 1024);
    const before = await h([a]);
    a[a.length >> 1] = 1;
    assert.notEqual(await h([a]), before);
  });

  test("bytes of a view too big to batch (passed to sha256 directly) all count", async () => {
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    b[4095] = 1;
    assert.notEqual(await h([a]), await h([b]));
  });
});

describe("hashArgs: unhashable values are TypeErrors naming the path", () => {
  const cases: Array<[string, unknown[], RegExp]> = [
    ["a Symbol", [1, { opts: { cb: Symbol("x") } }], /^cannot hash args\[1\]\.opts\.cb: a Symbol$/],
    ["a Symbol.for symbol", [Symbol.for("x")], /^cannot hash args\[0\]: a Symbol$/],
    ["a boxed Symbol", [Object(Symbol("x"))], /^cannot hash args\[0\]: a Symbol/],
    ["a WeakMap", [[0, 1, 2, new WeakMap()]], /^cannot hash args\[0\]\[3\]: a WeakMap$/],
    ["a WeakSet", [{ "a b": new WeakSet() }], /^cannot hash args\[0\]\["a b"\]: a WeakSet$/],
    ["a WeakRef", [new WeakRef({})], /^cannot hash args\[0\]: a WeakRef$/],
    ["a Promise", [{ p: Promise.resolve(1) }], /^cannot hash args\[0\]\.p: a Promise/],
    ["a thenable", [{ then: (): void => undefined }], /^cannot hash args\[0\]: a thenable/],
    ["a generator", [(function* () {})()], /^cannot hash args\[0\]: a generator/],
    ["a Map iterator", [new Map().keys()], /^cannot hash args\[0\]: an iterator/],
    ["an array iterator", [[1].values()], /^cannot hash args\[0\]: an iterator/],
    ["a function without hashFunction", [1, { opts: { cb: (): void => undefined } }], /^cannot hash args\[1\]\.opts\.cb: a function/],
    ["a Map key", [new Map<unknown, number>([[1, 1], [2, 2], [Symbol("k"), 3]])], /^cannot hash args\[0\]<map key 2>: a Symbol$/],
    ["a Map value", [new Map([["a", Symbol("v")]])], /^cannot hash args\[0\]<map value 0>: a Symbol$/],
    ["a Set element", [new Set([new WeakMap()])], /^cannot hash args\[0\]<set element 0>: a WeakMap$/],
    ["inside a class instance", [new Point(1, Symbol("y") as unknown as number)], /^cannot hash args\[0\]\.y: a Symbol$/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      await assert.rejects(h(args), (err: unknown) => {
        assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test("a cycle is a TypeError naming where it closes", async () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    await assert.rejects(h([0, a]), { name: "TypeError", message: /^cannot hash args\[1\]\.self: a cycle .*args\[1\]\)$/ });
  });

  test("a cycle through an array, a Map and a class instance is detected", async () => {
    const p = new Point(1, 2) as Point & { m?: unknown };
    const arr: unknown[] = [p];
    p.m = new Map([["back", arr]]);
    await assert.rejects(h([arr]), { name: "TypeError", message: /a cycle/ });
  });

  test("arguments that contain the argument list are a cycle", async () => {
    const args: unknown[] = [1];
    args.push({ all: args });
    await assert.rejects(h(args), { name: "TypeError", message: /^cannot hash args\[1\]\.all: a cycle .*at args\)$/ });
  });

  test("a typed array over a detached buffer is a TypeError naming the path", async () => {
    const a = new Uint8Array(8);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    await assert.rejects(h([{ a }]), { name: "TypeError", message: /^cannot hash args\[0\]\.a: a Uint8Array over a detached ArrayBuffer$/ });
  });

  test("hashArgs refuses something that is not an array of arguments", async () => {
    await assert.rejects(hashArgs("abc" as unknown as unknown[]), TypeError);
  });
});

describe("hashArgs: functions", () => {
  test("a function with hashFunction is hashed by what it returns, and gets its path", async () => {
    const seen: Array<[Function, string]> = [];
    const cb = (): number => 1;
    const hashFunction = (fn: Function, path: string): string => {
      seen.push([fn, path]);
      return "fnhash";
    };
    const one = await h([1, { opts: { cb } }], { hashFunction });
    const other = await h([1, { opts: { cb: (): number => 2 } }], { hashFunction });
    assert.deepEqual(seen.map(([, p]) => p), ["args[1].opts.cb", "args[1].opts.cb"]);
    assert.equal(seen[0]![0], cb);
    assert.equal(one, other); // the function hash alone decides
  });

  test("an async hashFunction works", async () => {
    const fn = (): void => undefined;
    assert.equal(await h([fn], { hashFunction: async () => "abc" }), await h([fn], { hashFunction: () => "abc" }));
  });

  test("a hashFunction that returns a non-string is a TypeError", async () => {
    await assert.rejects(h([() => 1], { hashFunction: () => 1 as unknown as string }), /args\[0\]: hashFunction gave a number/);
  });

  test("a function with [IDENTITY] needs no hashFunction", async () => {
    const fn = Object.assign(() => 1, { [IDENTITY]: () => "fn-id" });
    assert.equal(await h([fn]), await h([identified("fn-id")]));
  });
});

describe("hashArgs: IDENTITY objects", () => {
  test("a sync identity is hashed by its string alone", async () => {
    class Ref {
      constructor(readonly blob: string, readonly payload: unknown) {}
      [IDENTITY](): string {
        return `ref:${this.blob}`;
      }
    }
    assert.equal(await h([new Ref("ab", 1)]), await h([new Ref("ab", 2)]));
    assert.notEqual(await h([new Ref("ab", 1)]), await h([new Ref("cd", 1)]));
  });

  test("an async identity is awaited, nested anywhere (arrays, objects, Maps, Sets)", async () => {
    const deep = (id: object): unknown[] => [{ a: [id] }, new Map([["k", id]]), new Set([id])];
    assert.equal(await h(deep(identifiedAsync("q"))), await h(deep(identified("q"))));
    assert.notEqual(await h(deep(identifiedAsync("q"))), await h(deep(identifiedAsync("r"))));
  });

  test("identity is called once per occurrence and reads nothing else", async () => {
    let calls = 0;
    const o = {
      [IDENTITY]: (): string => {
        calls++;
        return "once";
      },
      get boom(): never {
        throw new Error("must not be read");
      },
    };
    await h([o]);
    assert.equal(calls, 1);
  });

  test("an identity that is not a string is a TypeError naming the path", async () => {
    await assert.rejects(h([{ a: { [IDENTITY]: () => 42 } }]), { name: "TypeError", message: /^cannot hash args\[0\]\.a: .*not a string$/ });
  });

  test("an identity that rejects rejects hashArgs with the same error", async () => {
    const boom = new Error("no");
    await assert.rejects(h([{ [IDENTITY]: () => Promise.reject(boom) }]), (err) => err === boom);
  });
});

describe("FileArg", () => {
  const tmp = tempDir("cashet-filearg-");
  after(() => tmp.remove());
  const write = (name: string, content: string): string => {
    const p = join(tmp.dir, name);
    writeFileSync(p, content);
    return p;
  };

  test("its identity is file:<sha256 of the contents>", async () => {
    const p = write("a.csv", "x,y\n1,2\n");
    assert.equal(await file(p)[IDENTITY](), `file:${createHash("sha256").update("x,y\n1,2\n").digest("hex")}`);
  });

  test("the same content at two paths hashes the same (the path is not part of it)", async () => {
    const a = write("one.csv", "same");
    mkdirSync(join(tmp.dir, "other"), { recursive: true });
    const b = write("other/two.csv", "same");
    assert.equal(await h([file(a)]), await h([file(b)]));
  });

  test("changing the file's content changes the hash", async () => {
    const p = write("c.csv", "v1");
    const before = await h([file(p)]);
    writeFileSync(p, "v2");
    assert.notEqual(await h([file(p)]), before);
  });

  test("an instance reads the file once and keeps its identity", async () => {
    const p = write("d.csv", "v1");
    const f = file(p);
    const before = await h([f]);
    writeFileSync(p, "v2");
    assert.equal(await h([f]), before);
  });

  test("a large file (several chunks) hashes like its bytes", async () => {
    const content = "0123456789abcdef".repeat(300_000); // 4.8 MB
    const p = write("big.bin", content);
    assert.equal(await new FileArg(p)[IDENTITY](), `file:${createHash("sha256").update(content).digest("hex")}`);
  });

  test("an empty file has an identity", async () => {
    const p = write("empty", "");
    assert.equal(await file(p)[IDENTITY](), `file:${createHash("sha256").digest("hex")}`);
  });

  test("a file differs from a string of its path and of its contents", async () => {
    const p = write("e.csv", "abc");
    const hf = await h([file(p)]);
    assert.notEqual(hf, await h([p]));
    assert.notEqual(hf, await h(["abc"]));
  });

  test("a missing file is an InvalidInputError naming the path", async () => {
    const p = join(tmp.dir, "missing.csv");
    await assert.rejects(h([file(p)]), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.code, "EINVALID");
      assert.ok(err.message.includes(p), err.message);
      assert.match(err.message, /does not exist/);
      return true;
    });
  });

  test("a failure is not remembered: the file may appear later", async () => {
    const p = join(tmp.dir, "later.csv");
    const f = file(p);
    await assert.rejects(f[IDENTITY](), InvalidInputError);
    writeFileSync(p, "now");
    assert.match(await f[IDENTITY](), /^file:[0-9a-f]{64}$/);
  });

  test("a directory is an InvalidInputError naming the path", async () => {
    const d = join(tmp.dir, "adir");
    mkdirSync(d, { recursive: true });
    await assert.rejects(file(d)[IDENTITY](), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.ok(err.message.includes(d), err.message);
      assert.match(err.message, /directory/);
      return true;
    });
  });

  test("an empty path is an InvalidInputError", () => {
    assert.throws(() => file(""), InvalidInputError);
  });
});

describe("previewArgs", () => {
  test("shows values briefly", () => {
    assert.equal(
      previewArgs([1, "a", { lr: 0.01 }, new Float64Array(1000), file("data/x.csv")]),
      '[1, "a", {"lr":0.01}, <Float64Array 1000>, <file data/x.csv>]',
    );
  });

  test("shows each kind of value", () => {
    const fn = function train(): void {};
    const got = previewArgs(
      [undefined, null, -0, NaN, 2n, [1, [2]], new Map([["a", 1]]), new Set([1]), new Date(0), /a/g, new Point(1, 2), fn, Symbol("s"), Buffer.from("ab"), new ArrayBuffer(3), { [IDENTITY]: () => "x", [PREVIEW]: () => "<ref 3fa2>" }],
      1000,
    );
    assert.equal(
      got,
      '[undefined, null, -0, NaN, 2n, [1,[2]], Map(1){"a"=>1}, Set(1){1}, <Date 1970-01-01T00:00:00.000Z>, /a/g, Point{"x":1,"y":2}, <function train>, <Symbol(s)>, <Buffer 2>, <ArrayBuffer 3 bytes>, <ref 3fa2>]',
    );
  });

  test("cuts long output to maxLength with …", () => {
    const got = previewArgs(["x".repeat(1000)], 50);
    assert.equal(got.length, 50);
    assert.ok(got.endsWith("…"));
    assert.ok(got.startsWith('["xxx'));
  });

  test("short output is not cut", () => {
    assert.equal(previewArgs([1, 2], 6), "[1, 2]");
    assert.equal(previewArgs([1, 2], 5), "[1, …");
  });

  test("does bounded work on huge inputs", () => {
    let reads = 0;
    const huge = new Proxy(new Array(1_000_000).fill(1), {
      get(target, key, receiver) {
        if (key !== "length") reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const got = previewArgs([huge], 100);
    assert.ok(got.length <= 100);
    assert.ok(reads < 200, `read ${reads} elements`);
  });

  test("never throws: cycles, throwing getters, hostile proxies", () => {
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    const hostile = new Proxy({}, {
      ownKeys() {
        throw new Error("no");
      },
      getPrototypeOf() {
        throw new Error("no");
      },
    });
    const getter = {
      get x(): never {
        throw new Error("no");
      },
    };
    const got = previewArgs([cyc, hostile, getter, { [IDENTITY]: () => "x", [PREVIEW]: () => { throw new Error("no"); } }]);
    assert.match(got, /<cycle>/);
    assert.ok(got.length <= 200);
  });

  test("deep nesting stays short", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const got = previewArgs([deep], 200);
    assert.ok(got.length <= 200);
    assert.match(got, /\[…\]/);
  });
});
