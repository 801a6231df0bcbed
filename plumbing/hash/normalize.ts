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

/** The normalized form of `node`. */
export function normalize(node: unknown): Normalized {
  if (Array.isArray(node)) {
    const out: Normalized[] = [];
    for (const item of node) if (!isTypeOnly(item)) out.push(normalize(item));
    return out;
  }
  if (!isNode(node)) return (node ?? null) as Normalized;
  if (UNWRAP.has(node.type!)) return normalize(node.expression);
  const out: { [key: string]: Normalized } = {};
  for (const k of keysOf(node)) {
    const v = node[k];
    // `a?: T` on a parameter or a class field is a type-level marker; `a?.b` and `a?.()` are not.
    if (k === "optional" && node.type !== "MemberExpression" && node.type !== "CallExpression") continue;
    if (v === undefined) continue;
    if (typeof v === "bigint") out[k] = `${v}n`;
    else if (typeof v === "number" && !Number.isFinite(v)) out[k] = String(v);
    else if (typeof v === "object" && v !== null && !Array.isArray(v) && !isNode(v) && k === "regex") out[k] = v as Normalized;
    else out[k] = normalize(v);
  }
  return out;
}

/**
 * Names an (already normalized) subtree reads as variables: identifiers in reference position,
 * JSX element names. Over-approximates (a local that shadows a module binding is included),
 * which can only add a dependency, never miss one.
 */
export function referencedNames(tree: Normalized, out = new Set<string>()): Set<string> {
  visit(tree, null, null, out);
  return out;
}

function visit(node: Normalized, parent: { [key: string]: Normalized } | null, key: string | null, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, parent, key, out);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const type = node.type;
  if (type === "Identifier" || type === "JSXIdentifier") {
    if (typeof node.name === "string" && !isNonReference(parent, key)) out.add(node.name);
    return;
  }
  for (const [k, v] of Object.entries(node)) visit(v, node, k, out);
}

/** Identifier positions that name a property or label, not a variable. */
function isNonReference(parent: { [key: string]: Normalized } | null, key: string | null): boolean {
  if (!parent || !key) return false;
  const t = parent.type;
  if (key === "property" && (t === "MemberExpression" || t === "JSXMemberExpression") && !parent.computed) return true;
  if (key === "key" && !parent.computed && (t === "Property" || t === "MethodDefinition" || t === "PropertyDefinition" || t === "AccessorProperty") && !parent.shorthand) return true;
  if (key === "label") return true;
  if (t === "JSXAttribute" && key === "name") return true;
  if ((t === "ExportSpecifier" && key === "exported") || (t === "ImportSpecifier" && key === "imported")) return true;
  if (t === "MetaProperty") return true;
  return false;
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
