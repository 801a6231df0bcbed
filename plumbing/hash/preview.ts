// Argument previews: the short human-readable text a commit and `cashet log` show for a call's
// arguments and its result (`[1, "a", {"lr":0.01}, <Float64Array 1000>]`). Never part of a key.
import { types } from "node:util";
import { className, IDENTITY, PREVIEW, typedArrayName, type Identified } from "./args.js";

const PREVIEW_DEPTH = 4;

/**
 * A short human-readable preview of a call's arguments for logs and commits:
 * `[1, "a", {"lr":0.01}, <Float64Array 1000>, <file data/x.csv>]`, cut to `maxLength`
 * characters with "…". Never throws; work is bounded by `maxLength`, not by the input's size.
 */
export function previewArgs(args: readonly unknown[], maxLength = 200): string {
  const max = Math.max(1, Math.floor(maxLength) || 1);
  const p = new Preview(max);
  try {
    if (!Array.isArray(args)) p.value(args, 0);
    else p.list("[", "]", ", ", args.length, (i) => p.value(args[i], 1));
  } catch {
    p.emit("<?>");
  }
  return p.result();
}

/** The preview of one value (`{"lr":0.01}`, `<Float64Array 1000>`), cut to `maxLength` like previewArgs. */
export function previewValue(value: unknown, maxLength = 40): string {
  const p = new Preview(Math.max(1, Math.floor(maxLength) || 1));
  p.value(value, 1);
  return p.result();
}

class Preview {
  private out = "";
  private truncated = false;
  private readonly seen = new Set<object>();

  constructor(private readonly max: number) {}

  get full(): boolean {
    return this.truncated;
  }

  emit(s: string): void {
    if (this.truncated) return;
    this.out += s.length > this.max + 1 ? s.slice(0, this.max + 1) : s;
    if (this.out.length > this.max) this.truncated = true;
  }

  result(): string {
    if (!this.truncated) return this.out;
    let cut = this.max - 1;
    const c = this.out.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
    return `${this.out.slice(0, cut)}…`;
  }

  list(open: string, close: string, sep: string, n: number, item: (i: number) => void): void {
    this.emit(open);
    for (let i = 0; i < n && !this.truncated; i++) {
      if (i > 0) this.emit(sep);
      item(i);
    }
    this.emit(close);
  }

  value(v: unknown, depth: number): void {
    if (this.truncated) return;
    try {
      this.unsafeValue(v, depth);
    } catch {
      this.emit("<?>");
    }
  }

  private unsafeValue(v: unknown, depth: number): void {
    switch (typeof v) {
      case "undefined":
        return this.emit("undefined");
      case "boolean":
        return this.emit(String(v));
      case "number":
        return this.emit(Object.is(v, -0) ? "-0" : String(v));
      case "bigint":
        return this.emit(v > -(10n ** 40n) && v < 10n ** 40n ? `${v}n` : "<BigInt>");
      case "string":
        return this.emit(JSON.stringify(v.length > this.max ? v.slice(0, this.max) : v));
      case "symbol":
        return this.emit(`<Symbol(${(v.description ?? "").slice(0, this.max)})>`);
      case "function":
        if (typeof (v as unknown as Partial<Identified>)[IDENTITY] === "function") return this.identified(v);
        return this.emit(`<function${v.name ? ` ${v.name.slice(0, this.max)}` : ""}>`);
    }
    if (v === null) return this.emit("null");
    const o = v as object;
    if (typeof (o as Partial<Identified>)[IDENTITY] === "function") return this.identified(o);
    if (ArrayBuffer.isView(o)) {
      const name = Buffer.isBuffer(o) ? "Buffer" : typedArrayName.call(o);
      if (name === undefined) return this.emit(`<DataView ${o.byteLength} bytes>`);
      return this.emit(`<${name} ${(o as unknown as { length: number }).length}>`);
    }
    if (types.isAnyArrayBuffer(o)) {
      const name = types.isSharedArrayBuffer(o) ? "SharedArrayBuffer" : "ArrayBuffer";
      return this.emit(`<${name} ${(o as ArrayBuffer).byteLength} bytes>`);
    }
    if (types.isDate(o)) {
      const t = (o as Date).getTime();
      return this.emit(t === t ? `<Date ${(o as Date).toISOString()}>` : "<Date invalid>");
    }
    if (types.isRegExp(o)) return this.emit(String(o));
    if (types.isBoxedPrimitive(o)) {
      this.emit(`<${className(o) || "Object"} `);
      this.unsafeValue((o as { valueOf(): unknown }).valueOf(), depth);
      return this.emit(">");
    }
    if (types.isPromise(o)) return this.emit("<Promise>");
    if (types.isWeakMap(o)) return this.emit("<WeakMap>");
    if (types.isWeakSet(o)) return this.emit("<WeakSet>");
    if (types.isNativeError(o)) return this.emit(`<${className(o) || "Error"}: ${String((o as Error).message).slice(0, this.max)}>`);
    if (this.seen.has(o)) return this.emit("<cycle>");
    if (depth > PREVIEW_DEPTH) return this.emit(Array.isArray(o) ? "[…]" : "{…}");

    this.seen.add(o);
    try {
      if (Array.isArray(o)) {
        const arr = o as unknown[];
        return this.list("[", "]", ",", arr.length, (i) => this.value(arr[i], depth + 1));
      }
      if (types.isMap(o)) {
        this.emit(`Map(${(o as Map<unknown, unknown>).size})`);
        return this.iterate(o as Map<unknown, unknown>, ([k, val]) => {
          this.value(k, depth + 1);
          this.emit("=>");
          this.value(val, depth + 1);
        });
      }
      if (types.isSet(o)) {
        this.emit(`Set(${(o as Set<unknown>).size})`);
        return this.iterate(o as Set<unknown>, (x) => this.value(x, depth + 1));
      }
      const proto: unknown = Object.getPrototypeOf(o);
      if (proto !== Object.prototype && proto !== null) {
        const name = className(o);
        this.emit(name ? name.slice(0, this.max) : "Object");
        if (typeof (o as { then?: unknown }).then === "function") return this.emit("<thenable>");
      }
      this.emit("{");
      let first = true;
      // for…in with an own-property check stops early; Object.keys would list every key first.
      for (const key in o) {
        if (this.truncated) break;
        if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
        if (!first) this.emit(",");
        first = false;
        this.emit(`${JSON.stringify(key.length > this.max ? key.slice(0, this.max) : key)}:`);
        this.value((o as Record<string, unknown>)[key], depth + 1);
      }
      this.emit("}");
    } finally {
      this.seen.delete(o);
    }
  }

  private iterate<X>(items: Iterable<X>, item: (x: X) => void): void {
    this.emit("{");
    let first = true;
    for (const x of items) {
      if (this.truncated) break;
      if (!first) this.emit(",");
      first = false;
      item(x);
    }
    this.emit("}");
  }

  private identified(o: object): void {
    const method = (o as { [PREVIEW]?: unknown })[PREVIEW];
    if (typeof method === "function") {
      const s: unknown = method.call(o);
      if (typeof s === "string") return this.emit(s.length > this.max ? s.slice(0, this.max) : s);
    }
    this.emit(`<${className(o) || "object"}>`);
  }
}
