// The examples in examples/ work as their READMEs say.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FsStore } from "../plumbing/store/fs/store.js";
import { CLI } from "./helpers/cli.js";
import { tempDir } from "./helpers/fixtures.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

test("examples/makefile: make -j4 runs four memoized calls; a forced remake or a comment edit executes nothing; an input edit re-runs", async () => {
  const t = tempDir();
  const dir = join(t.dir, "makefile");
  cpSync(join(EXAMPLES, "makefile"), dir, { recursive: true });
  const make = (...args: string[]): string =>
    execFileSync("make", ["-j4", `CASHET=${process.execPath} ${CLI}`, ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, CASHET_DAEMON_IDLE_MS: "1000" },
    });
  try {
    make();
    const read = (): Record<string, string> =>
      Object.fromEntries(readdirSync(join(dir, "out")).map((f) => [f, readFileSync(join(dir, "out", f), "utf8")]));
    assert.deepEqual(read(), { "cairo.json": "32\n", "lima.json": "20\n", "nuuk.json": "-6\n", "oslo.json": "4\n" });
    const store = new FsStore(join(dir, ".cashet"), { create: false });
    const runs = async (): Promise<number> => (await store.index.stats()).totalCommits;
    assert.equal(await runs(), 4);
    make("-B");
    assert.equal(await runs(), 4, "a forced remake is all cache hits");
    appendFileSync(join(dir, "tasks.ts"), "// a comment changes nothing\n");
    make("-B");
    assert.equal(await runs(), 4, "a comment edit is still a hit");
    appendFileSync(join(dir, "temps.csv"), "oslo,10\n");
    make("-B");
    assert.equal(await runs(), 8, "every call that reads the edited file ran again");
    assert.equal(read()["oslo.json"], "6\n");
    await store.stopDaemon();
    await store.close();
  } finally {
    t.remove();
  }
});
