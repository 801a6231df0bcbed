// Scope analysis for function identity: which outside names a piece of code reads, how (whole, or
// only through static members such as `ns.a`), whether it writes them, and whether evaluating it
// runs code. Works on normalized trees (types already erased), in one pass fused with nothing
// else; docs/decisions.md §5 has the measurement that made us write it rather than load
// @typescript-eslint/scope-manager on every cold hash, and test/plumbing/scope.test.ts holds it
// to that library's answers.
import type { Normalized } from "./normalize.js";

/** How a piece of code uses one name it does not declare itself. */
export interface NameUse {
  /** Read as a value of its own (passed, called, spread, …), not only through static members. */
  whole: boolean;
  /** Static members read: `ns.a`, `ns["a"]` (what a namespace import needs). */
  members: Set<string>;
  /** Assigned, updated, deleted from, or a property of it assigned (state it changes). */
  writes: boolean;
  /** Static member chains read, two deep (`env.HOME`, `now`), and `new` for `new X()` without arguments. */
  chains: Set<string>;
}

export interface ScopeInfo {
  /** Every name read or written that the code does not declare, by name. */
  uses: Map<string, NameUse>;
  /** Whether evaluating the code runs anything (a call, an assignment, await …) outside function bodies. */
  runs: boolean;
  /** Literal specifiers of `require("…")` and `import("…")`. */
  requires: string[];
  /** A direct `eval(…)`: it can read any name in scope. */
  evals: boolean;
}

type Node = { type: string; [key: string]: Normalized };

class Scope {
  readonly names = new Set<string>();
  constructor(
    readonly parent: Scope | null,
    /** A function (or namespace, static block) scope: where `var` lands. */
    readonly isFunction: boolean,
  ) {}
  has(name: string): boolean {
    for (let s: Scope | null = this; s; s = s.parent) if (s.names.has(name)) return true;
    return false;
  }
  /** The nearest function scope: `var` and hoisted declarations bind there. */
  get functionScope(): Scope {
    let s: Scope = this;
    while (!s.isFunction && s.parent) s = s.parent;
    return s;
  }
}

/** Objects whose properties are the global scope: writing through them changes what every module reads. */
export const GLOBAL_OBJECTS = new Set(["globalThis", "window", "self", "global"]);

/**
 * Analyses `tree` (a normalized declaration, statement or expression) as code placed directly in a
 * module: its own declarations are local, everything else it names is a use. A top-level function
 * or class does not bind its own name for itself, so recursion and `C.cache` read the module's
 * binding of that name (which is what `readsItself` needs).
 */
export function analyseScope(tree: Normalized): ScopeInfo {
  const w = new Walker();
  const top = new Scope(null, true);
  w.topLevel(tree, top);
  return { uses: w.uses, runs: w.runs, requires: w.requires, evals: w.evals };
}

function isNode(v: Normalized | undefined): v is Node {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as Node).type === "string";
}

function nodes(v: Normalized | undefined): Node[] {
  return Array.isArray(v) ? (v.filter(isNode) as Node[]) : isNode(v) ? [v] : [];
}

/** A static property name: `.a`, `["a"]`, `[0]`; null for a computed one. */
function staticKey(member: Node): string | null {
  const p = member.property as Node;
  if (!member.computed) return p.type === "Identifier" || p.type === "PrivateIdentifier" ? (p.name as string) : null;
  if (p.type === "Literal" && (typeof p.value === "string" || typeof p.value === "number")) return String(p.value);
  return null;
}

const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);
const CLASSES = new Set(["ClassDeclaration", "ClassExpression"]);

class Walker {
  uses = new Map<string, NameUse>();
  runs = false;
  requires: string[] = [];
  evals = false;
  /** Depth of function bodies (and instance field initializers) around the node: code there does not run at evaluation. */
  private deferred = 0;

  private use(name: string, scope: Scope): NameUse | null {
    if (scope.has(name)) return null;
    let u = this.uses.get(name);
    if (!u) this.uses.set(name, (u = { whole: false, members: new Set(), writes: false, chains: new Set() }));
    return u;
  }

  private ran(): void {
    if (this.deferred === 0) this.runs = true;
  }

  topLevel(tree: Normalized, scope: Scope): void {
    if (!isNode(tree)) return this.visit(tree, scope);
    if (FUNCTIONS.has(tree.type)) return this.fn(tree, scope, { bindOwnName: false });
    if (CLASSES.has(tree.type)) return this.cls(tree, scope, { bindOwnName: false });
    if (tree.type === "VariableDeclarator") {
      this.patternDefaults(tree.id, scope);
      const init = tree.init;
      // `const f = function f() {}` / `class C {}` as initializers: their own names are theirs
      return this.visit(init, scope);
    }
    this.statementList([tree], scope, { hoist: true });
  }

  /** Statements sharing `scope`: their lexical declarations (and with `hoist`, `var`s) bind there first. */
  private statementList(stmts: Node[], scope: Scope, opts: { hoist: boolean }): void {
    if (opts.hoist) for (const s of stmts) this.hoistVars(s, scope.functionScope);
    for (const s of stmts) this.declareLexical(s, scope);
    for (const s of stmts) this.visit(s, scope);
  }

  /** `var` declarations anywhere in a function body bind in the function scope (not inside nested functions). */
  hoistVars(n: Normalized, fnScope: Scope): void {
    if (Array.isArray(n)) return n.forEach((x) => this.hoistVars(x, fnScope));
    if (!isNode(n)) return;
    switch (n.type) {
      case "VariableDeclaration":
        if (n.kind === "var") for (const d of nodes(n.declarations)) patternNames(d.id, fnScope.names);
        return;
      case "ForStatement":
        this.hoistVars(n.init, fnScope);
        return this.hoistVars(n.body, fnScope);
      case "ForInStatement":
      case "ForOfStatement":
        this.hoistVars(n.left, fnScope);
        return this.hoistVars(n.body, fnScope);
      case "BlockStatement":
      case "StaticBlock":
        return this.hoistVars(n.body, fnScope);
      case "IfStatement":
        this.hoistVars(n.consequent, fnScope);
        return this.hoistVars(n.alternate, fnScope);
      case "WhileStatement":
      case "DoWhileStatement":
      case "LabeledStatement":
      case "WithStatement":
        return this.hoistVars(n.body, fnScope);
      case "TryStatement":
        this.hoistVars(n.block, fnScope);
        if (isNode(n.handler)) this.hoistVars(n.handler.body, fnScope);
        return this.hoistVars(n.finalizer, fnScope);
      case "SwitchStatement":
        for (const c of nodes(n.cases)) this.hoistVars(c.consequent, fnScope);
        return;
      case "ExportNamedDeclaration":
        return this.hoistVars(n.declaration, fnScope);
      default:
        return;
    }
  }

  /** Block-scoped declarations of one statement (let, const, class, function in a block, enum, namespace). */
  private declareLexical(n: Node, scope: Scope): void {
    switch (n.type) {
      case "VariableDeclaration":
        if (n.kind !== "var") for (const d of nodes(n.declarations)) patternNames(d.id, scope.names);
        return;
      case "FunctionDeclaration":
      case "ClassDeclaration":
      case "TSEnumDeclaration":
      case "TSImportEqualsDeclaration":
        if (isNode(n.id) && n.id.type === "Identifier") scope.names.add(n.id.name as string);
        return;
      case "TSModuleDeclaration":
        if (isNode(n.id) && n.id.type === "Identifier") scope.names.add(n.id.name as string);
        return;
      case "ExportNamedDeclaration":
      case "ExportDefaultDeclaration":
        if (isNode(n.declaration)) this.declareLexical(n.declaration, scope);
        return;
      default:
        return;
    }
  }

  private visit(n: Normalized | undefined, scope: Scope): void {
    if (Array.isArray(n)) {
      for (const x of n) this.visit(x, scope);
      return;
    }
    if (!isNode(n)) return;
    switch (n.type) {
      case "Identifier": {
        const u = this.use(n.name as string, scope);
        if (u) u.whole = true;
        return;
      }
      case "MemberExpression":
        return this.member(n, scope);
      case "ChainExpression":
      case "ParenthesizedExpression":
        return this.visit(n.expression, scope);
      case "AssignmentExpression":
        this.ran();
        this.target(n.left, scope);
        return this.visit(n.right, scope);
      case "UpdateExpression":
        this.ran();
        return this.target(n.argument, scope);
      case "UnaryExpression":
        if (n.operator === "delete") {
          this.ran();
          return this.target(n.argument, scope);
        }
        return this.visit(n.argument, scope);
      case "CallExpression":
      case "NewExpression":
        return this.call(n, scope);
      case "TaggedTemplateExpression":
      case "AwaitExpression":
      case "YieldExpression":
        this.ran();
        return this.children(n, scope);
      case "ImportExpression": {
        this.ran();
        const src = n.source;
        if (isNode(src) && src.type === "Literal" && typeof src.value === "string") this.requires.push(src.value);
        return this.children(n, scope);
      }
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        return this.fn(n, scope, { bindOwnName: true });
      case "ClassDeclaration":
      case "ClassExpression":
        return this.cls(n, scope, { bindOwnName: true });
      case "BlockStatement": {
        const block = new Scope(scope, false);
        return this.statementList(nodes(n.body), block, { hoist: false });
      }
      case "SwitchStatement": {
        this.visit(n.discriminant, scope);
        const block = new Scope(scope, false);
        const cases = nodes(n.cases);
        for (const c of cases) for (const s of nodes(c.consequent)) this.declareLexical(s, block);
        for (const c of cases) {
          this.visit(c.test, block);
          this.visit(c.consequent, block);
        }
        return;
      }
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        const loop = new Scope(scope, false);
        const head = (n.init ?? n.left) as Normalized;
        if (isNode(head) && head.type === "VariableDeclaration") {
          if (head.kind !== "var") for (const d of nodes(head.declarations)) patternNames(d.id, loop.names);
          for (const d of nodes(head.declarations)) {
            this.patternDefaults(d.id, loop);
            this.visit(d.init, loop);
          }
        } else if (n.type === "ForStatement") this.visit(head, loop);
        else this.target(head, loop);
        if (n.type !== "ForStatement") this.ran(); // iterating runs iterators and getters
        this.visit(n.test, loop);
        this.visit(n.update, loop);
        this.visit(n.right, loop);
        return this.visit(n.body, loop);
      }
      case "CatchClause": {
        const c = new Scope(scope, false);
        patternNames(n.param, c.names);
        this.patternDefaults(n.param, c);
        return this.visit(n.body, c);
      }
      case "VariableDeclaration":
        for (const d of nodes(n.declarations)) {
          this.patternDefaults(d.id, scope);
          this.visit(d.init, scope);
        }
        return;
      case "VariableDeclarator":
        this.patternDefaults(n.id, scope);
        return this.visit(n.init, scope);
      case "LabeledStatement":
        return this.visit(n.body, scope);
      case "BreakStatement":
      case "ContinueStatement":
      case "MetaProperty":
      case "Literal":
      case "TemplateElement":
      case "ThisExpression":
      case "Super":
      case "PrivateIdentifier":
      case "JSXText":
      case "DebuggerStatement":
      case "EmptyStatement":
        return;
      case "Property":
        if (n.computed) this.visit(n.key, scope);
        return this.visit(n.value, scope);
      case "SpreadElement":
        this.ran(); // spreading runs an iterator
        return this.visit(n.argument, scope);
      case "JSXElement":
      case "JSXFragment":
        // The classic JSX runtime compiles `<X />` to `React.createElement(X)`.
        this.useWhole("React", scope);
        this.ran();
        if (isNode(n.openingElement)) {
          this.jsxName(n.openingElement.name, scope);
          this.visit(n.openingElement.attributes, scope);
        }
        return this.visit(n.children, scope);
      case "JSXAttribute":
        return this.visit(n.value, scope);
      case "TSEnumDeclaration": {
        const e = new Scope(scope, false);
        const members = nodes(isNode(n.body) ? n.body.members : n.members);
        for (const m of members) {
          const id = m.id as Node;
          e.names.add(String(id.type === "Identifier" ? id.name : id.value));
        }
        for (const m of members) this.visit(m.initializer, e);
        return;
      }
      case "TSModuleDeclaration": {
        const body = n.body;
        if (!isNode(body)) return;
        if (body.type === "TSModuleDeclaration") return this.visit(body, new Scope(scope, true));
        const ns = new Scope(scope, true);
        return this.statementList(nodes(body.body), ns, { hoist: true });
      }
      case "TSImportEqualsDeclaration": {
        const ref = n.moduleReference as Node;
        if (ref.type === "TSExternalModuleReference") {
          const e = ref.expression as Node;
          if (typeof e.value === "string") this.requires.push(e.value);
          return;
        }
        return this.qualifiedRoot(ref, scope);
      }
      case "TSQualifiedName":
        return this.qualifiedRoot(n, scope);
      case "TSParameterProperty":
        return this.visit(n.parameter, scope);
      case "ExportNamedDeclaration":
        // inside a TypeScript namespace
        this.visit(n.declaration, scope);
        for (const s of nodes(n.specifiers)) this.visit(s.local, scope);
        return;
      case "Decorator":
        this.ran();
        return this.visit(n.expression, scope);
      default:
        return this.children(n, scope);
    }
  }

  private children(n: Node, scope: Scope): void {
    for (const k in n) if (k !== "type") this.visit(n[k], scope);
  }

  private useWhole(name: string, scope: Scope): void {
    const u = this.use(name, scope);
    if (u) u.whole = true;
  }

  private qualifiedRoot(n: Node, scope: Scope): void {
    let root: Node = n;
    while (root.type === "TSQualifiedName") root = root.left as Node;
    if (root.type === "Identifier") this.useWhole(root.name as string, scope);
  }

  /** `a.b.c`: a static chain rooted at a name records the members read; anything else is visited. */
  private member(n: Node, scope: Scope, role: "read" | "write" | "argument" = "read"): void {
    const chain: string[] = [];
    let cur: Node = n;
    while (cur.type === "MemberExpression") {
      const key = staticKey(cur);
      if (key === null) break;
      chain.unshift(key);
      cur = cur.object as Node;
      if (cur.type === "ChainExpression") cur = cur.expression as Node;
    }
    if (cur.type === "Identifier" && chain.length) {
      const u = this.use(cur.name as string, scope);
      if (u) {
        u.members.add(chain[0]!);
        u.chains.add(chain.slice(0, 2).join("."));
        if (role === "write" || (role === "argument" && GLOBAL_OBJECTS.has(cur.name as string))) u.writes = true;
        if (role === "argument" && cur.name === "process") u.writes = true; // Object.assign(process.env, …)
      }
      return;
    }
    // a computed key or a root that is not a name: the object is used whole, computed keys are read
    if (role === "write") this.target(n.object, scope);
    else this.visit(n.object, scope);
    if (n.computed) this.visit(n.property, scope);
  }

  private call(n: Node, scope: Scope): void {
    this.ran();
    const callee = n.callee as Node;
    const args = Array.isArray(n.arguments) ? n.arguments : [];
    if (callee.type === "Identifier" && !scope.has(callee.name as string)) {
      if (callee.name === "eval" && n.type === "CallExpression") this.evals = true;
      const first = args[0];
      if (callee.name === "require" && isNode(first) && first.type === "Literal" && typeof first.value === "string") this.requires.push(first.value);
      if (n.type === "NewExpression" && args.length === 0) this.use(callee.name as string, scope)?.chains.add("new");
    }
    this.visit(callee, scope);
    for (const a of args) {
      // handing a global object to a function (`Object.assign(globalThis, …)`) may change it
      if (isNode(a) && a.type === "Identifier" && GLOBAL_OBJECTS.has(a.name as string)) {
        const u = this.use(a.name as string, scope);
        if (u) u.whole = u.writes = true;
      } else if (isNode(a) && a.type === "MemberExpression") this.member(a, scope, "argument");
      else this.visit(a, scope);
    }
  }

  /** An assignment target: names written, members of names written, defaults and computed keys read. */
  private target(n: Normalized | undefined, scope: Scope): void {
    if (!isNode(n)) return;
    switch (n.type) {
      case "Identifier": {
        const u = this.use(n.name as string, scope);
        if (u) u.whole = u.writes = true;
        return;
      }
      case "MemberExpression":
        return this.member(n, scope, "write");
      case "ObjectPattern":
        for (const p of nodes(n.properties)) {
          if (p.type === "RestElement") this.target(p.argument, scope);
          else {
            if (p.computed) this.visit(p.key, scope);
            this.target(p.value, scope);
          }
        }
        return;
      case "ArrayPattern":
        for (const e of nodes(n.elements)) this.target(e, scope);
        return;
      case "AssignmentPattern":
        this.target(n.left, scope);
        return this.visit(n.right, scope);
      case "RestElement":
        return this.target(n.argument, scope);
      case "ChainExpression":
      case "ParenthesizedExpression":
        return this.target(n.expression, scope);
      default:
        return this.visit(n, scope);
    }
  }

  /** Inside a binding pattern, what is read: default values and computed keys. */
  private patternDefaults(p: Normalized | undefined, scope: Scope): void {
    if (!isNode(p)) return;
    switch (p.type) {
      case "ObjectPattern":
        for (const prop of nodes(p.properties)) {
          if (prop.type === "RestElement") this.patternDefaults(prop.argument, scope);
          else {
            if (prop.computed) this.visit(prop.key, scope);
            this.patternDefaults(prop.value, scope);
          }
        }
        return;
      case "ArrayPattern":
        for (const e of nodes(p.elements)) this.patternDefaults(e, scope);
        return;
      case "AssignmentPattern":
        this.patternDefaults(p.left, scope);
        return this.visit(p.right, scope);
      case "RestElement":
        return this.patternDefaults(p.argument, scope);
      case "TSParameterProperty":
        return this.patternDefaults(p.parameter, scope);
      default:
        return;
    }
  }

  private fn(n: Node, outer: Scope, opts: { bindOwnName: boolean }): void {
    let scope = outer;
    if (opts.bindOwnName && n.type === "FunctionExpression" && isNode(n.id)) {
      scope = new Scope(outer, false);
      scope.names.add(n.id.name as string);
    }
    const f = new Scope(scope, true);
    if (n.type !== "ArrowFunctionExpression") f.names.add("arguments");
    const params = nodes(n.params);
    for (const p of params) patternNames(p.type === "TSParameterProperty" ? p.parameter : p, f.names);
    this.deferred++;
    try {
      for (const p of params) this.patternDefaults(p, f);
      const body = n.body;
      if (isNode(body) && body.type === "BlockStatement") this.statementList(nodes(body.body), f, { hoist: true });
      else this.visit(body, f);
    } finally {
      this.deferred--;
    }
  }

  private cls(n: Node, outer: Scope, opts: { bindOwnName: boolean }): void {
    this.visit(n.decorators, outer);
    const c = new Scope(outer, false);
    if (opts.bindOwnName && isNode(n.id)) c.names.add(n.id.name as string);
    if (n.superClass !== null && n.superClass !== undefined) {
      this.ran(); // `extends` evaluates its expression
      this.visit(n.superClass, c);
    }
    const body = isNode(n.body) ? nodes(n.body.body) : [];
    for (const el of body) {
      this.visit(el.decorators, c);
      if (el.computed) {
        this.ran();
        this.visit(el.key, c);
      }
      switch (el.type) {
        case "MethodDefinition":
          this.fn(el.value as Node, c, { bindOwnName: true });
          break;
        case "PropertyDefinition":
        case "AccessorProperty": {
          // instance fields run at construction, static ones when the class is defined
          if (el.static) this.ran();
          else this.deferred++;
          try {
            const field = new Scope(c, true);
            this.visit(el.value, field);
          } finally {
            if (!el.static) this.deferred--;
          }
          break;
        }
        case "StaticBlock": {
          this.ran();
          const s = new Scope(c, true);
          this.statementList(nodes(el.body), s, { hoist: true });
          break;
        }
        default:
          this.visit(el, c);
      }
    }
  }

  private jsxName(n: Normalized | undefined, scope: Scope): void {
    if (!isNode(n)) return;
    if (n.type === "JSXIdentifier") {
      const name = n.name as string;
      // `<div>` is an intrinsic element (a string); `<Button>` reads a variable
      if (/^[a-z]/.test(name) || name.includes("-")) return;
      return this.useWhole(name, scope);
    }
    if (n.type === "JSXMemberExpression") {
      let root: Node = n;
      while (root.type === "JSXMemberExpression") root = root.object as Node;
      if (root.type === "JSXIdentifier") this.useWhole(root.name as string, scope);
    }
  }
}

/** The `var` names a top-level statement declares for the whole module (`if (x) { var y = 1 }`). */
export function declaredVars(stmt: Normalized): Set<string> {
  const s = new Scope(null, true);
  new Walker().hoistVars(stmt, s);
  return s.names;
}

/** Names bound by a declaration pattern (`a`, `{ a, b: [c] }`, `...rest`, a parameter property). */
export function patternNames(p: Normalized | undefined, out: Set<string>): Set<string> {
  if (!isNode(p)) return out;
  switch (p.type) {
    case "Identifier":
      out.add(p.name as string);
      break;
    case "ObjectPattern":
      for (const prop of nodes(p.properties)) patternNames(prop.type === "RestElement" ? prop.argument : prop.value, out);
      break;
    case "ArrayPattern":
      for (const el of nodes(p.elements)) patternNames(el, out);
      break;
    case "RestElement":
      patternNames(p.argument, out);
      break;
    case "AssignmentPattern":
      patternNames(p.left, out);
      break;
    case "TSParameterProperty":
      patternNames(p.parameter, out);
      break;
  }
  return out;
}
