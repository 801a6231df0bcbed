// Import resolution for function identity, by oxc-resolver (Node's algorithm: `exports`/`imports`
// conditions, symlinks followed to real paths, tsconfig `paths`/`baseUrl`, `.js` → `.ts`), and
// the line between source and packages: what lies in a `node_modules` directory (by real path) is
// an installed package, known by name, version and lockfile integrity; anything else — a
// relative file, a workspace package linked into node_modules, a `file:` dependency, a
// `#internal` import — is source, followed into and hashed like the function's own code.
import { readFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { NapiResolveOptions, ResolverFactory as ResolverFactoryType } from "oxc-resolver";
import type * as LockfileLib from "./lockfile.js";
import { tsxTsconfigPath } from "./tsconfig.js";

export type Resolved =
  | { kind: "file"; file: string }
  | { kind: "package"; name: string; version: string | null; integrity: string | null; warnings: string[] }
  | { kind: "builtin"; name: string }
  | { kind: "unresolved"; specifier: string };

/** How a module is loaded: `import` (ESM conditions) or `require` (CommonJS conditions). */
export type ImportKind = "import" | "require";

const require = createRequire(import.meta.url);
let lockfileLib: typeof LockfileLib | undefined;
let lockfileDir: string | null = null;

/** Where parsed lockfiles are kept between processes (lockfile.ts's setLockfileCache), or null. */
export function setLockfileCache(dir: string | null): void {
  lockfileDir = dir;
  lockfileLib?.setLockfileCache(dir);
}
let factory: typeof ResolverFactoryType | undefined;
/** By kind and the tsconfig (its `paths`) they were made with. */
const resolvers = new Map<string, ResolverFactoryType>();

// The loaders' own view: tsx maps `.js` to `.ts` (and `.mjs`/`.cjs` alike) and resolves
// extensionless and directory imports; Node then picks `exports` by these conditions.
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json", ".node"];
const EXTENSION_ALIAS: Record<string, string[]> = {
  ".js": [".ts", ".tsx", ".js", ".jsx"],
  ".jsx": [".tsx", ".jsx"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
};

function resolver(kind: ImportKind): ResolverFactoryType {
  const tsconfig = tsxTsconfigPath();
  const id = `${kind}\0${tsconfig ?? ""}`;
  let r = resolvers.get(id);
  if (!r) {
    // Loaded on first use (≈ 3 ms): hashing a function that imports nothing never pays for it.
    factory ??= (require("oxc-resolver") as { ResolverFactory: typeof ResolverFactoryType }).ResolverFactory;
    const options: NapiResolveOptions = {
      conditionNames: kind === "import" ? ["node", "import", "module-sync", "default"] : ["node", "require", "module-sync", "default"],
      extensions: EXTENSIONS,
      extensionAlias: EXTENSION_ALIAS,
      mainFields: ["main"],
      symlinks: true,
      ...(tsconfig ? { tsconfig: { configFile: tsconfig, references: "auto" as const } } : {}),
    };
    r = new factory(options);
    resolvers.set(id, r);
  }
  return r;
}

/** Forgets what resolution has cached (node_modules and package.json files may have changed). */
export function clearResolutionCache(): void {
  for (const r of resolvers.values()) r.clearCache();
  packages.clear();
  answers.clear();
}

/** Answers since the last clear, by kind, importing file and specifier: one hash asks the same questions many times. */
const answers = new Map<string, Resolved>();

/** Resolves `specifier` as module `fromFile` would load it. */
export function resolveSpecifier(fromFile: string, specifier: string, kind: ImportKind = "import"): Resolved {
  const key = `${kind}\0${fromFile}\0${specifier}`;
  let answer = answers.get(key);
  if (!answer) answers.set(key, (answer = resolveFresh(fromFile, specifier, kind)));
  return answer;
}

function resolveFresh(fromFile: string, specifier: string, kind: ImportKind): Resolved {
  if (specifier.startsWith("node:") || isBuiltin(specifier)) return { kind: "builtin", name: specifier.replace(/^node:/, "") };
  let request = specifier;
  if (specifier.startsWith("file:")) {
    try {
      request = fileURLToPath(specifier);
    } catch {
      return { kind: "unresolved", specifier };
    }
  }
  const dir = dirname(fromFile);
  // The other conditions may find what the first did not (tsx lets ESM name a directory or an
  // extensionless file the CommonJS way).
  const path = resolver(kind).sync(dir, request).path ?? resolver(kind === "import" ? "require" : "import").sync(dir, request).path;
  if (path) return classify(path, fromFile);
  // A package without the entry or subpath asked for (or that does not export it) is still an
  // installed package: its version counts, so upgrading it is a new key.
  const bare = /^(@[^/]+\/)?[^./][^/]*/.exec(specifier)?.[0];
  if (bare) {
    for (const probe of bare === specifier ? [`${bare}/package.json`] : [bare, `${bare}/package.json`]) {
      const found = resolver(kind).sync(dir, probe).path;
      const r = found ? classify(found, fromFile) : null;
      if (r?.kind === "package") return r;
    }
  }
  return { kind: "unresolved", specifier };
}

const MARKER = `${sep}node_modules${sep}`;

/** The installed package a path lies in (its root directory and name), or null for source. */
export function packageOf(path: string): { root: string; name: string } | null {
  const at = path.lastIndexOf(MARKER);
  if (at < 0) return null;
  const rest = path.slice(at + MARKER.length).split(sep);
  const name = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  return { root: join(path.slice(0, at + MARKER.length), ...name.split("/")), name };
}

/**
 * Source or package, by where the file really is. Inside a package, its own files are source to
 * each other (hashing a package's function follows its own modules); another package is a package.
 */
function classify(path: string, fromFile: string): Resolved {
  const pkg = packageOf(path);
  if (!pkg || packageOf(fromFile)?.root === pkg.root) return { kind: "file", file: path };
  return packageAt(pkg.root, pkg.name);
}

const packages = new Map<string, Extract<Resolved, { kind: "package" }>>();

/** The version in the package.json at `root` ("0.0.0" when it names none), or null when there is none to read. */
export function packageVersion(root: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return null;
  }
}

/** name@version and the lockfile's integrity of the package installed at `root`. */
export function packageAt(root: string, name: string): Extract<Resolved, { kind: "package" }> {
  const known = packages.get(root);
  if (known) return known;
  const warnings: string[] = [];
  const version = packageVersion(root);
  if (version === null) warnings.push(`package "${name}" has no readable package.json; its version is not tracked`);
  let integrity: string | null = null;
  if (version !== null) {
    // loaded when a package is first met: a function importing none never pays for it
    if (!lockfileLib) {
      lockfileLib = require("./lockfile.js") as typeof LockfileLib;
      lockfileLib.setLockfileCache(lockfileDir);
    }
    const locked = lockfileLib.lockfileLookup(root, name, version);
    integrity = locked.integrity;
    for (const u of locked.unreadable) warnings.push(`lockfile ${u.kind} could not be read (${u.reason}); the integrity of "${name}" is not tracked`);
  }
  const r = { kind: "package" as const, name, version, integrity, warnings };
  packages.set(root, r);
  return r;
}
