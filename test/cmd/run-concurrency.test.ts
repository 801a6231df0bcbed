// Many `cashet run` processes on one store at once: one execution per call (a failing one too),
// distinct calls all succeed, a runner killed mid-task has its claim taken over, and a runner
// behind a frozen one says whom it waits for and gives up at --wait-timeout.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { CLI, cashet, exec } from "../helpers/cli.js";
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
      `import { appendFileSync, existsSync, writeFileSync } from "node:fs";
export async function slow(x) {
  appendFileSync(${js("slow.log")}, "ran " + x + "\\n");
  await new Promise((r) => setTimeout(r, 500));
  return x * 10;
}
// The first runner announces itself and hangs; a runner that finds it already started finishes.
// It looks for a marker it never changes afterwards: a file a run reads and then changes is an
// observed input that changed, so that run's commit would never be served.
export async function stuck(x) {
  appendFileSync(${js("stuck.log")}, "start\\n");
  if (!existsSync(${js("stuck.started")})) {
    writeFileSync(${js("stuck.started")}, "");
    await new Promise((r) => setTimeout(r, 600000));
  }
  return "finished by a later runner " + x;
}
export async function failing(x) {
  appendFileSync(${js("failing.log")}, "ran " + x + "\\n");
  await new Promise((r) => setTimeout(r, 1500));
  throw new RangeError("failed on purpose " + x);
}
export async function frozen(x) {
  appendFileSync(${js("frozen.log")}, "start " + x + "\\n");
  await new Promise((r) => setTimeout(r, 600000));
  return x;
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

  test("5 processes running one failing call execute it once, and all exit 1 with that run's failed commit", async () => {
    const s = store("failing");
    const results = await Promise.all(Array.from({ length: 5 }, () => cashet(["run", "--store", s, `${p("tasks.mjs")}#failing`, "3"], { env: ENV })));
    assert.deepEqual(lines("failing.log"), ["ran 3"], "executed exactly once");
    const commits = results.map((r) => {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.out, "");
      assert.match(r.stderr, /^cashet: failing failed: failed on purpose 3 \(commit [0-9a-f]{12}\)\nRangeError: failed on purpose 3\n\s+at failing /);
      return /\(commit ([0-9a-f]{12})\)/.exec(r.stderr)![1];
    });
    assert.equal(new Set(commits).size, 1, `all got the same failed commit: ${commits.join(" ")}`);
    const log = await cashet(["log", "--json", "--store", s, "--status", "failed"], { env: ENV });
    assert.equal((JSON.parse(log.out) as unknown[]).length, 1, "one failed commit was recorded");

    // A later run did not wait for that one: it executes again.
    const later = await cashet(["run", "--store", s, `${p("tasks.mjs")}#failing`, "3"], { env: ENV });
    assert.equal(later.code, 1);
    assert.notEqual(/\(commit ([0-9a-f]{12})\)/.exec(later.stderr)?.[1], commits[0]);
    assert.deepEqual(lines("failing.log"), ["ran 3", "ran 3"]);
  });

  test("behind a frozen runner, a run says whom it waits for on a TTY and gives up at --wait-timeout (exit 4)", async () => {
    const s = store("frozen");
    const holder: ChildProcess = spawn(process.execPath, [CLI, "run", "--store", s, `${p("tasks.mjs")}#frozen`, "1"], {
      env: { ...process.env, ...ENV },
      stdio: "ignore",
    });
    try {
      const deadline = Date.now() + 30_000;
      while (lines("frozen.log").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(lines("frozen.log").length, 1, "the first runner started");
      holder.kill("SIGSTOP");

      const started = Date.now();
      const r = await cashet(["run", "--store", s, "--wait-timeout", "1", `${p("tasks.mjs")}#frozen`, "1"], { env: ENV });
      const took = Date.now() - started;
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.out, "");
      // on a pipe: only the error, one line, naming the holder
      assert.match(r.stderr, new RegExp(`^cashet: gave up after 1 s waiting for another run of frozen \\(pid ${holder.pid} on \\S+ has been running it for \\d+ s\\); it may be stuck[^\\n]*\\n$`));
      assert.ok(took >= 1000 && took < 10_000, `gave up after ${took} ms`);

      // `script` gives the command a pseudo-terminal, as a user's shell would.
      const command = [process.execPath, CLI, "run", "--store", s, "--wait-timeout", "2.5", `${p("tasks.mjs")}#frozen`, "1"].map((a) => JSON.stringify(a)).join(" ");
      const tty = await exec("script", ["-qec", command, "/dev/null"], { env: ENV });
      assert.equal(tty.code, 4, tty.out);
      assert.match(tty.out, new RegExp(`cashet: waiting for pid ${holder.pid} on \\S+, running this call for \\d+ s`), "the status line says who holds it");
      assert.match(tty.out, /\r\x1b\[Kcashet: gave up after 2\.5 s/, "the status line is erased before the error");
      assert.deepEqual(lines("frozen.log"), ["start 1"], "nobody else ran it");

      const bad = await cashet(["run", "--store", s, "--wait-timeout", "0", `${p("tasks.mjs")}#frozen`, "1"], { env: ENV });
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr, 'cashet: --wait-timeout must be a positive number of seconds, not "0"\n');
    } finally {
      holder.kill("SIGKILL");
    }
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
