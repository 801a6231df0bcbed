// Module analyses kept in the store: a later process (a CLI cache hit above all) hashes its
// function without loading the parser, and the cache can never make a hash stale or wrong.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { hashExportedFunction } from "../../../plumbing/hash/function.js";
import { setAnalysisCache } from "../../../plumbing/hash/module.js";
import { cashet } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";

const TASK = `import { scale } from "./helper.js";\nexport function area(w: number, h: number): number {\n  return scale(w * h);\n}\n`;
const HELPER = `export const scale = (x: number): number => x * 2;\n`;

test("a cached analysis gives the same hash as parsing; damaged cache files and edits never give a wrong one", () => {
  const t = tempDir();
  const cache = join(t.dir, "cache");
  // The in-process memo is keyed by path: a fresh directory of the same files must go to the cache.
  const checkout = (name: string, helper = HELPER): string => {
    mkdirSync(join(t.dir, name));
    writeFileSync(join(t.dir, name, "task.ts"), TASK);
    writeFileSync(join(t.dir, name, "helper.ts"), helper);
    return join(t.dir, name, "task.ts");
  };
  // module analyses only (the tsconfig answer is kept beside them)
  const stored = (): string[] => readdirSync(cache).filter((f) => f.endsWith(".json") && !f.startsWith("tsconfig-")).sort();
  try {
    const parsed = hashExportedFunction(checkout("plain"), "area").hash; // no cache set: parsed

    setAnalysisCache(cache);
    assert.equal(hashExportedFunction(checkout("first"), "area").hash, parsed);
    const files = stored();
    assert.equal(files.length, 2, "one analysis per module (task and helper)");
    assert.equal(hashExportedFunction(checkout("second"), "area").hash, parsed, "answered from the cache");
    assert.deepEqual(stored(), files);

    for (const f of files) writeFileSync(join(cache, f), "{ not json");
    assert.equal(hashExportedFunction(checkout("third"), "area").hash, parsed, "damaged analyses are redone");
    for (const f of files) assert.doesNotThrow(() => JSON.parse(readFileSync(join(cache, f), "utf8")), "and rewritten");

    const edited = hashExportedFunction(checkout("edited", HELPER.replace("x * 2", "x * 3")), "area").hash;
    assert.notEqual(edited, parsed, "a semantic edit in a dependency changes the hash");
    assert.equal(stored().length, 3);
  } finally {
    setAnalysisCache(null);
    t.remove();
  }
});

test("cashet run: the second call is a hit that never loads the parser, and editing the task still re-runs it", async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, "task.ts"), TASK);
    writeFileSync(join(t.dir, "helper.ts"), HELPER);
    // Records every CommonJS load of oxc-parser (the analyser requires it lazily).
    const probe = join(t.dir, "probe.cjs");
    const loads = join(t.dir, "loads.txt");
    writeFileSync(
      probe,
      `const M = require("node:module"); const fs = require("node:fs"); const load = M._load;
       M._load = function (request, ...rest) { if (request === "oxc-parser") fs.appendFileSync(${JSON.stringify(loads)}, "oxc\\n"); return load.call(this, request, ...rest); };`,
    );
    const store = join(t.dir, ".cashet");
    const run = (...args: string[]) => cashet(["run", join(t.dir, "task.ts") + "#area", ...args, "--store", store], { env: { NODE_OPTIONS: `--require ${probe}` } });
    const loadsSoFar = (): number => readFileSync(loads, "utf8").split("\n").filter(Boolean).length;
    writeFileSync(loads, "");

    assert.equal((await run("3", "4")).out, "24\n");
    assert.equal(loadsSoFar(), 1, "the first run (no store yet) parses");
    assert.equal((await run("3", "5")).out, "30\n");
    assert.equal(loadsSoFar(), 2, "the second run parses once more and stores its analyses");
    const hit = await run("3", "4");
    assert.equal(hit.out, "24\n");
    assert.equal(loadsSoFar(), 2, "a hit with stored analyses never loads the parser");
    assert.ok(readdirSync(join(store, "cache", "analysis")).length >= 2);

    writeFileSync(join(t.dir, "helper.ts"), HELPER.replace("x * 2", "x * 10"));
    assert.equal((await run("3", "4")).out, "120\n", "an edited dependency is a miss, cache or not");
  } finally {
    t.remove();
  }
});
