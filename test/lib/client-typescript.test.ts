// One cache for the shell and for code, with TypeScript as users run it: a script run under
// `node --import tsx` imports a task module and submits its export; `cashet run` of the same export
// is then a hit on the same commit, and `cashet hash-fn` prints the same function hash — in a
// directory of either module kind, with an export that shares its name with a nested function.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { cashet, exec } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const LIB = new URL("../../lib/index.js", import.meta.url).href;
const TSX = import.meta.resolve("tsx");

// `submit` is both the export and a nested function's name: matching by name alone cannot tell
// them apart, and tsx gives an ESM importer of a CommonJS-kind module a data: URL to look at.
const PIPELINE = `import { helper } from "./helper.js";
export function submit(n: number): number {
  return helper(n) * 2;
}
export function outer(): (n: number) => number {
  function submit(n: number): number {
    return helper(n) * 3;
  }
  return submit;
}
`;

const MAIN = `import { Client } from ${JSON.stringify(LIB)};
import { submit } from "./pipeline.js";
const client = new Client({ storeDir: process.argv[2] });
const ref = await client.submit(submit, Number(process.argv[3]));
const commit = await client.show(ref.commit);
process.stdout.write(JSON.stringify({ value: await ref.load(), cached: ref.cached, commit: ref.commit, hash: commit.func.hash }));
await client.close();
`;

async function node(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  const r = await exec(process.execPath, args, { cwd, env: { CASHET_DAEMON_IDLE_MS: "500" } });
  return { code: r.code, out: r.out, err: r.stderr };
}

const warnings = (stderr: string): string[] => stderr.split("\n").filter((l) => l.includes("CASHET_FUNCTION_HASH"));

describe("client.submit under tsx and cashet run share one cache", () => {
  const t = tempDir("cashet-client-ts-");
  const stores: string[] = [];
  after(async () => {
    for (const s of stores) await new FsStore(s).stopDaemon().catch(() => undefined);
    t.remove();
  });

  for (const kind of ["commonjs", "module"]) {
    test(`in a ${kind}-kind directory: the submitted export hits as cashet run, with the hash-fn hash and no warnings`, async () => {
      const dir = join(t.dir, kind);
      const store = join(dir, "store");
      stores.push(store);
      mkdirSync(dir);
      if (kind === "module") writeFileSync(join(dir, "package.json"), `{ "type": "module" }\n`);
      writeFileSync(join(dir, "pipeline.ts"), PIPELINE);
      writeFileSync(join(dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
      writeFileSync(join(dir, "main.mts"), MAIN);

      const script = await node(["--import", TSX, "main.mts", store, "3"], dir);
      assert.equal(script.code, 0, script.err);
      assert.deepEqual(warnings(script.err), []);
      const made = JSON.parse(script.out) as { value: number; cached: boolean; commit: string; hash: string };
      assert.deepEqual([made.value, made.cached], [8, false]);

      const cli = await cashet(["run", "--json", "--store", store, "pipeline.ts#submit", "3"].map((a) => (a === "pipeline.ts#submit" ? join(dir, a) : a)));
      assert.equal(cli.code, 0, cli.stderr);
      const hit = JSON.parse(cli.out) as { commit: string; cached: boolean };
      assert.deepEqual([hit.commit, hit.cached], [made.commit, true], "cashet run is a hit on the script's commit");

      const hashFn = await cashet(["hash-fn", `${join(dir, "pipeline.ts")}#submit`]);
      assert.equal(hashFn.out.trim(), made.hash);

      const again = await node(["--import", TSX, "main.mts", store, "3"], dir);
      assert.equal(again.code, 0, again.err);
      assert.deepEqual(JSON.parse(again.out), { ...made, cached: true });
    });
  }
});
