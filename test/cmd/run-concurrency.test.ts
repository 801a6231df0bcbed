// Many `cashet run` processes on one store at once: one execution per call, distinct calls all
// succeed, and a runner killed mid-task has its claim taken over.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../plumbing/store/fs/store.js";
import { CLI, cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const ENV = { CASHET_DAEMON_IDLE_MS: "2000" };

describe("concurrent cashet run", () => {
  let t: { dir: string; remove: () => void };
  const p = (name: string): string => join(t.dir, name);
  const lines = (name: string): string[] => (existsSync(p(name)) ? readFileSync(p(name), "utf8").split("\n").filter(Boolean) : []);
  const stores: string[] = [];
  const store = (label: string): string => {
    const dir = p(`store-${label}`);
    stores.push(dir);
    return dir;
  };

  before(() => {
    t = tempDir("cashet-race-");
    const js = (name: string): string => JSON.stringify(p(name));
    writeFileSync(
      p("tasks.mjs"),
      `import { appendFileSync, existsSync, readFileSync } from "node:fs";
export async function slow(x) {
  appendFileSync(${js("slow.log")}, "ran " + x + "\\n");
  await new Promise((r) => setTimeout(r, 500));
  return x * 10;
}
// The first runner announces itself and hangs; a runner that finds it already started finishes.
export async function stuck(x) {
  const before = existsSync(${js("stuck.log")}) ? readFileSync(${js("stuck.log")}, "utf8") : "";
  appendFileSync(${js("stuck.log")}, "start\\n");
  if (!before) await new Promise((r) => setTimeout(r, 600000));
  return "finished by a later runner " + x;
}
`,
    );
  });
  after(async () => {
    for (const dir of stores) if (existsSync(dir)) await new FsStore(dir, { create: false }).stopDaemon().catch(() => undefined);
    t.remove();
  });

  test("6 processes running one slow uncached call execute it once, and all print its result", async () => {
    const s = store("six");
    const results = await Promise.all(Array.from({ length: 6 }, () => cashet(["run", "--store", s, `${p("tasks.mjs")}#slow`, "7"], { env: ENV })));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out, "70\n");
    }
    assert.deepEqual(lines("slow.log"), ["ran 7"], "executed exactly once");
  });

  test("8 concurrent distinct runs all succeed", async () => {
    const s = store("eight");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => cashet(["run", "--store", s, `${p("tasks.mjs")}#slow`, String(100 + i)], { env: ENV })),
    );
    results.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.out, `${(100 + i) * 10}\n`);
    });
    assert.equal(lines("slow.log").filter((l) => /^ran 10\d$/.test(l)).length, 8);
  });

  test("a runner SIGKILLed mid-task loses its claim, and a waiting runner takes over", async () => {
    const s = store("kill");
    const first: ChildProcess = spawn(process.execPath, [CLI, "run", "--store", s, `${p("tasks.mjs")}#stuck`, "1"], {
      env: { ...process.env, ...ENV },
      stdio: "ignore",
    });
    const deadline = Date.now() + 30_000;
    while (lines("stuck.log").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(lines("stuck.log").length, 1, "the first runner started");
    const second = cashet(["run", "--store", s, `${p("tasks.mjs")}#stuck`, "1"], { env: ENV });
    await new Promise((r) => setTimeout(r, 500)); // the second is now waiting on the claim
    assert.equal(lines("stuck.log").length, 1, "the second runner waits instead of running");
    first.kill("SIGKILL");
    const r = await second;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "finished by a later runner 1");
    assert.equal(lines("stuck.log").length, 2);
    const again = await cashet(["run", "--store", s, `${p("tasks.mjs")}#stuck`, "1"], { env: ENV });
    assert.equal(again.out, "finished by a later runner 1", "the takeover's result is cached");
    assert.equal(lines("stuck.log").length, 2);
  });
});
