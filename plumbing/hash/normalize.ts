// AST normalization for function identity: what runs counts, how it is written does not.
// Locations, raw text (quote style, number spelling), comments and TypeScript-only syntax (types,
// interfaces, type aliases, `as`/`satisfies`/`!`, generics, modifiers) are dropped, so edits that
// cannot change behaviour cannot change a hash.

/** A normalized node: plain JSON data, stable under reformatting and type edits. */
export type Normalized = null | boolean | number | string | Normalized[] | { [key: string]: Normalized };

type Node = { type?: string; [key: string]: unknown };

/** Keys that never affect behaviour: positions, source text, and type-only annotations. */
const DROP_KEYS = new Set([
  "start",
  "end",
  "range",
  "loc",
  "raw",
  "typeAnnotation",
  "returnType",
  "typeParameters",
  "typeArguments",
  "superTypeArguments",
  "superTypeParameters",
  "implements",
  "accessibility",
  "definite",
  "override",
  "readonly",
  "declare",
  "importKind",
  "exportKind",
  "phase",
]);

/** TypeScript nodes that vanish at run time entirely. */
const TYPE_ONLY = new Set([
  "TSInterfaceDeclaration",
  "TSTypeAliasDeclaration",
  "TSDeclareFunction",
  "TSAbstractMethodDefinition",
  "TSAbstractPropertyDefinition",
  "TSAbstractAccessorProperty",
  "TSIndexSignature",
  "TSTypeAnnotation",
]);

/** TypeScript wrappers around a runtime expression: keep the expression. */
const UNWRAP = new Set([
  "TSAsExpression",
  "TSSatisfiesExpression",
  "TSNonNullExpression",
  "TSTypeAssertion",
  "TSInstantiationExpression",
  "ParenthesizedExpression",
]);

/** True for a node that exists only for the type checker. */
export function isTypeOnly(node: unknown): boolean {
  if (!isNode(node)) return false;
  if (TYPE_ONLY.has(node.type!)) return true;
  if (node.declare === true) return true; // `declare const x: T`, `declare module …`
  if (node.importKind === "type" || node.exportKind === "type") return true; // import type / export type
  // overload signatures: `foo(a: string): void;` in a class, `function g(a: string): void;`
  if (node.type === "MethodDefinition" && isNode(node.value) && node.value.type === "TSEmptyBodyFunctionExpression") return true;
  if (node.type === "FunctionDeclaration" && node.body === null) return true;
  return false;
}

type Fields = { [key: string]: Normalized };

/** The normalized form of `node`. */
export function normalize(node: unknown): Normalized {
  if (Array.isArray(node)) {
    const out: Normalized[] = [];
    // `;;` is an empty statement in a statement list: a stray semicolon, nothing runs
    for (const item of node) if (!isTypeOnly(item) && (item as Node | null)?.type !== "EmptyStatement") out.push(normalize(item));
    return out;
  }
  if (!isNode(node)) return (node ?? null) as Normalized;
  const type = node.type!;
  // One shape for .js and .ts parses (oxc gives TypeScript identifiers `decorators: []`).
  if (type === "Identifier") {
    const name = node.name as string;
    const decorators = node.decorators as unknown[] | undefined;
    return decorators?.length ? { decorators: normalize(decorators), name, type } : { name, type };
  }
  if (type === "TemplateLiteral") return template(node, false);
  if (UNWRAP.has(type)) return normalize(node.expression);
  // The generic walk stays in this one self-recursive function, and the rules below only rework
  // its output: splitting the walk in two mutually recursive functions cost the cold bench ~30 ms
  // of CPU (TurboFan spent 67 ms compiling the pair, inlined into each other).
  const out: Fields = {};
  for (const k of keysOf(node)) {
    const v = node[k];
    // `a?: T` on a parameter or a class field is a type-level marker; `a?.b` and `a?.()` are not.
    if (k === "optional" && type !== "MemberExpression" && type !== "CallExpression") continue;
    if (v === undefined) continue;
    if (typeof v === "bigint") out[k] = `${v}n`;
    else if (typeof v === "number" && !Number.isFinite(v)) out[k] = { number: String(v) }; // 1e999 is not "Infinity"
    else if (typeof v === "object" && v !== null && !Array.isArray(v) && !isNode(v) && k === "regex") out[k] = v as Normalized;
    else if (k === "quasi" && type === "TaggedTemplateExpression") out[k] = template(v as Node, true); // the tag sees `strings.raw`
    else out[k] = normalize(v);
  }
  const rule = RULES.get(type);
  if (rule !== undefined) rule(out);
  return out;
}

/** A property, method, class field or accessor with its key in one spelling. */
function member(out: Fields): void {
  if (out.computed === false) out.key = staticKey(out.key);
  // `{ a }` is `{ a: a }` (objects and patterns alike), but `{ __proto__ }` is an own property
  // while `{ __proto__: __proto__ }` sets the prototype
  if (out.shorthand === true && (out.key as { name?: unknown }).name !== "__proto__") out.shorthand = false;
}

function enumMember(out: Fields): void {
  if (out.computed === false) out.id = staticKey(out.id);
}

/** `a["b"]` is `a.b`, `a[1]` is `a["1"]`: a property key is a string however it is written. */
function memberExpression(out: Fields): void {
  const key = out.computed === true ? keyString(out.property) : null;
  if (key === null) return;
  if (IDENTIFIER_NAME.test(key)) {
    out.computed = false;
    out.property = { name: key, type: "Identifier" };
  } else out.property = { type: "Literal", value: key };
}

function ifStatement(out: Fields): void {
  out.consequent = unbrace(out.consequent);
  if (out.alternate !== null) out.alternate = unbrace(out.alternate);
}

function loop(out: Fields): void {
  out.body = unbrace(out.body);
}

/** `() => { return x; }` is `() => x`. */
function arrow(out: Fields): void {
  const body = out.body as { type?: unknown; body?: Normalized[] };
  const only = body.type === "BlockStatement" && body.body!.length === 1 ? (body.body![0] as { type?: unknown; argument?: Normalized }) : null;
  if (only?.type === "ReturnStatement" && only.argument !== null) {
    out.body = only.argument!;
    out.expression = true;
  }
}

/** Node types with more than one spelling for one behaviour: each rule rewrites the normalized node to one. */
const RULES = new Map<string, (out: Fields) => void>(
  Object.entries({
    Property: member,
    MethodDefinition: member,
    PropertyDefinition: member,
    AccessorProperty: member,
    TSEnumMember: enumMember,
    MemberExpression: memberExpression,
    IfStatement: ifStatement,
    ForStatement: loop,
    ForInStatement: loop,
    ForOfStatement: loop,
    WhileStatement: loop,
    DoWhileStatement: loop,
    ArrowFunctionExpression: arrow,
  }),
);

/**
 * A template by what it evaluates to: untagged, escapes are spelled out (`\u0062` is `b`) and one
 * without substitutions is the string literal it equals (backticks are one more quote style); a
 * tag (`String.raw`) also sees the text as written, so there it counts.
 */
function template(node: Node, raw: boolean): Normalized {
  const quasis = node.quasis as Array<{ value: { raw: string; cooked: string | null }; tail: boolean }>;
  if (!raw && quasis.length === 1) return { type: "Literal", value: quasis[0]!.value.cooked };
  const elements: Normalized[] = [];
  for (const q of quasis) elements.push({ tail: q.tail, type: "TemplateElement", value: raw ? { cooked: q.value.cooked, raw: q.value.raw } : q.value.cooked });
  return { expressions: normalize(node.expressions), quasis: elements, type: "TemplateLiteral" };
}

/** ECMAScript IdentifierName: what can follow a dot or stand unquoted as a property key. */
const IDENTIFIER_NAME = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

/**
 * The property key a literal stands for (`"a"`, `1` → `"1"`, `0x10n` → `"16"`), or null for
 * anything else (an identifier, a regular expression, a non-finite number).
 */
function keyString(n: Normalized): string | null {
  if (n === null || typeof n !== "object" || Array.isArray(n) || n.type !== "Literal" || n.regex !== undefined) return null;
  if (typeof n.bigint === "string") return n.bigint;
  if (typeof n.value === "string") return n.value;
  if (typeof n.value === "number") return String(n.value);
  return null;
}

/** A non-computed key in one spelling: `a`, `"a"` → `a`; `1`, `"1"`, `1.0` → `"1"`. */
function staticKey(key: Normalized): Normalized {
  const s = keyString(key);
  if (s === null) return key;
  return IDENTIFIER_NAME.test(s) ? { name: s, type: "Identifier" } : { type: "Literal", value: s };
}

/** Statements that mean the same with or without a block around them (no declaration is scoped by it). */
const UNBRACEABLE = new Set([
  "ExpressionStatement",
  "ReturnStatement",
  "ThrowStatement",
  "BreakStatement",
  "ContinueStatement",
  "IfStatement",
  "ForStatement",
  "ForInStatement",
  "ForOfStatement",
  "WhileStatement",
  "DoWhileStatement",
  "SwitchStatement",
  "TryStatement",
  "BlockStatement",
  "DebuggerStatement",
]);

/** The body of `if`/a loop without needless braces: `{ s; }` is `s;`, `{}` is `;`. */
function unbrace(n: Normalized): Normalized {
  for (;;) {
    const block = n as { type?: unknown; body?: Normalized[] };
    if (block.type !== "BlockStatement") return n;
    if (block.body!.length === 0) return { type: "EmptyStatement" };
    const only = block.body!.length === 1 ? (block.body![0] as { type?: string; kind?: unknown }) : null;
    if (!only || !(UNBRACEABLE.has(only.type!) || (only.type === "VariableDeclaration" && only.kind === "var"))) return n;
    n = only as Normalized;
  }
}

/** Sorted kept keys per node shape: nodes of one shape share them, so sort once per shape. */
const shapes = new Map<string, string[]>();
function keysOf(node: Node): string[] {
  const keys = Object.keys(node);
  const shape = keys.join(",");
  let kept = shapes.get(shape);
  if (!kept) {
    kept = keys.filter((k) => !DROP_KEYS.has(k)).sort();
    shapes.set(shape, kept);
  }
  return kept;
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as Node).type === "string";
}
