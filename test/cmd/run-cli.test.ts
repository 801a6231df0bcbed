// `cashet run` and `cashet get` as a user runs them: real processes over a real FsStore in a temp
// directory — what is cached, what is executed (counted through side-effect files), what stdout
// carries, the exit codes, and make -j4 over one fresh store.
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { CLI, cashet, exec, type CliResult } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const ENV = { env: { CASHET_DAEMON_IDLE_MS: "500" } };

describe("cashet run / get", () => {
  let t: { dir: string; remove: () => void };
  let store: string;
  const stores: string[] = [];
  const p = (name: string): string => join(t.dir, name);
  const count = (name: string): number => (existsSync(p(name)) ? readFileSync(p(name), "utf8").length : 0);
  const run = (args: string[], s = store): Promise<CliResult> => cashet(["run", "--store", s, ...args], ENV);
  /** A store of its own for a test that must not share results. */
  const fresh = (label: string): string => {
    const dir = p(`store-${label}`);
    stores.push(dir);
    return dir;
  };

  before(() => {
    t = tempDir("cashet-run-");
    store = fresh("main");
    const js = (name: string) => JSON.stringify(p(name));
    writeFileSync(
      p("tasks.mjs"),
      `import { appendFileSync, readFileSync } from "node:fs";
appendFileSync(${js("imported")}, "i"); // a top-level side effect: counts imports
export default function add(a, b) { appendFileSync(${js("add.count")}, "x"); return a + b; }
export function greet(name) { appendFileSync(${js("greet.count")}, "x"); return "hello " + name; }
export function echo(...args) { appendFileSync(${js("echo.count")}, "x"); return args; }
export function bytes() { return Buffer.from([0, 1, 2, 255, 10]); }
export function obj(x) { return { x, list: [1, 2] }; }
export function num() { return 42; }
export function lines(path) { appendFileSync(${js("lines.count")}, "x"); return readFileSync(path, "utf8").split("\\n").length; }
export function boom() { throw new Error("kaboom"); }
export function flaky() {
  appendFileSync(${js("flaky.count")}, "x");
  if (readFileSync(${js("flaky.count")}, "utf8").length < 2) throw new Error("first try fails");
  return "ok";
}
export function slow() { return new Promise((r) => setTimeout(() => r("late"), 10000)); }
export function busy(ms) { appendFileSync(${js("busy.count")}, "x"); const end = Date.now() + ms; while (Date.now() < end) {} return "done"; }
export function tick() { appendFileSync(${js("tick.count")}, "x"); return Date.now(); }
export function square(n) { appendFileSync(${js("square.count")}, "x"); return n * n; }
export const notfn = 5;
`,
    );
    writeFileSync(p("consts.ts"), `export const FACTOR: number = 10;\nexport type Shape = { n: number };\n`);
    writeFileSync(
      p("typed.ts"),
      `import { appendFileSync } from "node:fs";
import { FACTOR, type Shape } from "./consts.js";
interface Input { n: number }
export function scale(input: Input): Shape {
  appendFileSync(${js("typed.count")}, "x");
  const n: number = input.n * FACTOR;
  return { n };
}
`,
    );
  });

  after(async () => {
    for (const dir of stores) if (existsSync(dir)) await new FsStore(dir).stopDaemon().catch(() => undefined);
    t.remove();
  });

  test("a miss runs the task, a hit returns the same result without running it", async () => {
    const a = await run([p("tasks.mjs"), "1", "2"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.out, "3\n");
    const b = await run([p("tasks.mjs"), "1", "2"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.out, "3\n");
    assert.equal(count("add.count"), 1);
    assert.equal(b.stderr, "", "no status line on a non-TTY");
  });

  test("a hit never imports the script", async () => {
    await run([p("tasks.mjs"), "5", "6"]);
    const imports = count("imported");
    for (let i = 0; i < 3; i++) assert.equal((await run([p("tasks.mjs"), "5", "6"])).out, "11\n");
    assert.equal(count("imported"), imports);
  });

  test("a .ts task with type annotations and a relative import written ./x.js runs, then hits", async () => {
    const a = await run([`${p("typed.ts")}#scale`, '{"n":3}']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.out, '{"n":30}\n');
    const b = await run([`${p("typed.ts")}#scale`, '{"n":3}']);
    assert.equal(b.out, '{"n":30}\n');
    assert.equal(count("typed.count"), 1);
  });

  test("words are JSON when they parse, else strings; @@ is a literal @", async () => {
    const r = await run([`${p("tasks.mjs")}#echo`, "1", "true", "null", '{"a":[1]}', "hello", "@@x", "1.5e3", '"quoted"']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.out), [1, true, null, { a: [1] }, "hello", "@x", 1500, "quoted"]);
    const s = await run([`${p("tasks.mjs")}#echo`, "--args-json", '[1,"1",[2]]']);
    assert.deepEqual(JSON.parse(s.out), [1, "1", [2]]);
    // "1" as a word and 1 in --args-json are the same call; "1" as a JSON string is another
    const before = count("echo.count");
    await run([`${p("tasks.mjs")}#echo`, "--args-json", '[1,true,null,{"a":[1]},"hello","@x",1500,"quoted"]']);
    assert.equal(count("echo.count"), before, "the same arguments given as --args-json hit");
  });

  test("@file is keyed by content: the task gets the path, editing the file re-runs", async () => {
    writeFileSync(p("input.txt"), "a\nb");
    const args = [`${p("tasks.mjs")}#lines`, `@${p("input.txt")}`];
    assert.equal((await run(args)).out, "2\n");
    assert.equal((await run(args)).out, "2\n");
    assert.equal(count("lines.count"), 1);
    appendFileSync(p("input.txt"), "\nc");
    assert.equal((await run(args)).out, "3\n");
    assert.equal(count("lines.count"), 2);
  });

  test("stdout is exactly the result: a string raw, a number and an object as JSON, bytes raw", async () => {
    assert.equal((await run([`${p("tasks.mjs")}#greet`, "world"])).out, "hello world");
    assert.equal((await run([`${p("tasks.mjs")}#num`])).out, "42\n");
    assert.equal((await run([`${p("tasks.mjs")}#obj`, '"a"'])).out, '{"x":"a","list":[1,2]}\n');
    assert.deepEqual((await run([`${p("tasks.mjs")}#bytes`])).stdout, Buffer.from([0, 1, 2, 255, 10]));
    assert.deepEqual((await run([`${p("tasks.mjs")}#bytes`])).stdout, Buffer.from([0, 1, 2, 255, 10]), "on a hit too");
  });

  test("-o FILE writes the same bytes and prints nothing", async () => {
    const r = await run([`${p("tasks.mjs")}#bytes`, "-o", p("out.bin")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "");
    assert.deepEqual(readFileSync(p("out.bin")), Buffer.from([0, 1, 2, 255, 10]));
    await run([`${p("tasks.mjs")}#greet`, "file", "--output", p("out.txt")]);
    assert.equal(readFileSync(p("out.txt"), "utf8"), "hello file");
    assert.ok(!readdirSync(t.dir).some((f) => f.endsWith(".tmp")), "no temp file left behind");
  });

  test("--json prints {commit, output, cached, durationMs, result, reason}; bytes as base64", async () => {
    const a = JSON.parse((await run([`${p("tasks.mjs")}#obj`, '"j"', "--json"])).out);
    assert.deepEqual(Object.keys(a), ["commit", "output", "cached", "durationMs", "result", "reason"]);
    assert.equal(typeof a.reason, "string", "why it missed");
    assert.match(a.commit, /^[0-9a-f]{64}$/);
    assert.match(a.output, /^[0-9a-f]{64}$/);
    assert.equal(a.cached, false);
    assert.equal(typeof a.durationMs, "number");
    assert.deepEqual(a.result, { x: "j", list: [1, 2] });
    const b = JSON.parse((await run([`${p("tasks.mjs")}#obj`, '"j"', "--json"])).out);
    assert.equal(b.cached, true);
    assert.equal(b.commit, a.commit);
    assert.equal(b.reason, null);
    const c = JSON.parse((await run([`${p("tasks.mjs")}#bytes`, "--json"])).out);
    assert.equal(c.result, Buffer.from([0, 1, 2, 255, 10]).toString("base64"));
  });

  test("--force runs again and the new result becomes the head; --no-cache always runs", async () => {
    const s = fresh("force");
    const a = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--json"], s)).out);
    const b = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--force", "--json"], s)).out);
    assert.equal(b.cached, false);
    assert.notEqual(b.commit, a.commit);
    const c = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--json"], s)).out);
    assert.equal(c.cached, true);
    assert.equal(c.commit, b.commit, "the forced run is the head");
    assert.equal(count("tick.count"), 2);
    const d = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--no-cache", "--json"], s)).out);
    const e = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--no-cache", "--json"], s)).out);
    assert.equal(d.cached, false);
    assert.equal(e.cached, false);
    assert.equal(count("tick.count"), 4);
    assert.equal(JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--json"], s)).out).commit, b.commit, "--no-cache does not move the head");
  });

  test("--tag is recorded and visible in log --json", async () => {
    const s = fresh("tags");
    const r = await run([`${p("tasks.mjs")}#greet`, "tags", "--tag", "exp=a", "--tag", "lr=0.1"], s);
    assert.equal(r.code, 0, r.stderr);
    const log = await cashet(["log", "--store", s, "--json"], ENV);
    const commits = JSON.parse(log.out) as Array<{ tags: Record<string, string> }>;
    assert.deepEqual(commits[0]!.tags, { exp: "a", lr: "0.1" });
  });

  test("--ttl: the result expires and the call runs again", async () => {
    const s = fresh("ttl");
    const a = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--ttl", "0.5", "--json"], s)).out);
    const log = JSON.parse((await cashet(["log", "--store", s, "--json"], ENV)).out) as Array<{ expiresAt: string | null }>;
    assert.ok(log[0]!.expiresAt, "expiresAt recorded");
    await new Promise((r) => setTimeout(r, 700));
    const b = JSON.parse((await run([`${p("tasks.mjs")}#tick`, "--ttl", "0.5", "--json"], s)).out);
    assert.equal(b.cached, false);
    assert.notEqual(b.commit, a.commit);
  });

  test("--retries retries a failing task; attempts are recorded", async () => {
    const s = fresh("retries");
    const r = await run([`${p("tasks.mjs")}#flaky`, "--retries", "2"], s);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "ok");
    assert.equal(count("flaky.count"), 2);
    const log = JSON.parse((await cashet(["log", "--store", s, "--json"], ENV)).out) as Array<{ attempts: number }>;
    assert.equal(log[0]!.attempts, 2);
  });

  test("--timeout fails the task with exit 1, promptly", async () => {
    const started = Date.now();
    const r = await run([`${p("tasks.mjs")}#slow`, "--timeout", "0.3"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cashet: .*timed out/);
    assert.equal(r.out, "");
    assert.ok(Date.now() - started < 8000, "the process does not wait for the abandoned task");
  });

  test("--timeout fails a synchronous task that returns after its deadline: exit 1, not cached, retried", async () => {
    const s = fresh("busy");
    const r = await run([`${p("tasks.mjs")}#busy`, "700", "--timeout", "0.2"], s);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^cashet: busy failed: timed out after 0.2 s .*cannot interrupt synchronous code/);
    assert.equal(r.out, "");
    const again = await run([`${p("tasks.mjs")}#busy`, "700", "--timeout", "0.2"], s);
    assert.equal(again.code, 1, "a late attempt is never a hit");
    assert.equal(count("busy.count"), 2);
    const retried = await run([`${p("tasks.mjs")}#busy`, "700", "--timeout", "0.2", "--retries", "1"], s);
    assert.equal(retried.code, 1);
    assert.match(retried.stderr, /busy failed after 2 attempts: timed out/);
    assert.equal(count("busy.count"), 4);
    const log = JSON.parse((await cashet(["log", "--store", s, "--json"], ENV)).out) as Array<{ status: string; attempts: number }>;
    assert.deepEqual(log.map((c) => [c.status, c.attempts]), [["failed", 2], ["failed", 1], ["failed", 1]]);
  });

  test("a throwing task exits 1 with a cashet: line, then its error and stack on stderr", async () => {
    const r = await run([`${p("tasks.mjs")}#boom`]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const [first, second, third] = r.stderr.split("\n");
    assert.match(first!, /^cashet: boom failed: kaboom/);
    assert.equal(second, "Error: kaboom");
    assert.match(third!, /at boom .*tasks\.mjs/);
  });

  test("bad input exits 2 with one line and creates or changes nothing", async () => {
    const s = fresh("bad");
    const cases: string[][] = [
      [p("tasks.mjs"), "1", "2", "--tag", "nokey"],
      [p("tasks.mjs"), "1", "2", "--tag", "=v"],
      [p("tasks.mjs"), "1", "2", "--timeout", "abc"],
      [p("tasks.mjs"), "1", "2", "--timeout", "-1"],
      [p("tasks.mjs"), "1", "2", "--ttl", "0"],
      [p("tasks.mjs"), "1", "2", "--ttl", "soon"],
      [p("tasks.mjs"), "1", "2", "--retries", "-1"],
      [p("tasks.mjs"), "1", "2", "--retries", "1.5"],
      [p("tasks.mjs"), "--args-json", "[1,"],
      [p("tasks.mjs"), "--args-json", '{"a":1}'],
      [`${p("tasks.mjs")}#lines`, `@${p("no-such-input.txt")}`],
      [p("no-such-task.mjs")],
      [`${p("tasks.mjs")}#nope`],
      [p("tasks.mjs"), "--bogus"],
      [],
    ];
    const imports = count("imported");
    for (const args of cases) {
      const r = await run(args, s);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^cashet: [^\n]+\n$/, args.join(" "));
      assert.equal(r.out, "");
    }
    assert.ok(!existsSync(s), "no store was created");
    assert.equal(count("imported"), imports, "the script was not imported");
    // an export that is not a function is found on import, and still exits 2
    const r = await run([`${p("tasks.mjs")}#notfn`], s);
    assert.equal(r.code, 2, r.stderr);
    const log = await cashet(["log", "--store", s, "--json"], ENV);
    assert.deepEqual(JSON.parse(log.out), [], "nothing recorded");
  });

  test("get prints exactly what run printed; failed, unknown and malformed ids", async () => {
    for (const args of [[`${p("tasks.mjs")}#greet`, "get"], [`${p("tasks.mjs")}#obj`, '"g"'], [`${p("tasks.mjs")}#bytes`], [`${p("tasks.mjs")}#num`]]) {
      const printed = await run(args);
      const id = JSON.parse((await run([...args, "--json"])).out).commit as string;
      const got = await cashet(["get", "--store", store, id.slice(0, 12)], ENV);
      assert.equal(got.code, 0, got.stderr);
      assert.deepEqual(got.stdout, printed.stdout, args.join(" "));
      await cashet(["get", "--store", store, id, "-o", p("got.out")], ENV);
      assert.deepEqual(readFileSync(p("got.out")), printed.stdout);
    }
    const objId = JSON.parse((await run([`${p("tasks.mjs")}#obj`, '"g"', "--json"])).out).commit as string;
    assert.deepEqual(JSON.parse((await cashet(["get", "--store", store, objId, "--json"], ENV)).out), { result: { x: "g", list: [1, 2] } });

    await run([`${p("tasks.mjs")}#boom`]);
    const log = JSON.parse((await cashet(["log", "--store", store, "--status", "failed", "--json"], ENV)).out) as Array<{ id: string }>;
    const failed = await cashet(["get", "--store", store, log[0]!.id], ENV);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^cashet: .*kaboom/);
    assert.match(failed.stderr, /\nError: kaboom\n/);
    assert.equal(failed.out, "");

    const unknown = await cashet(["get", "--store", store, "ffffffff"], ENV);
    assert.equal(unknown.code, 1);
    const malformed = await cashet(["get", "--store", store, "not-an-id"], ENV);
    assert.equal(malformed.code, 2);
  });

  test("make -j4 over four cashet run targets in one fresh store: stdout carries only results", async () => {
    const s = fresh("make");
    const targets = [1, 2, 3, 4];
    writeFileSync(
      p("Makefile"),
      `CASHET = ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run --store ${JSON.stringify(s)}\n` +
        `.PHONY: all ${targets.map((n) => `t${n}`).join(" ")}\n` +
        `all: ${targets.map((n) => `t${n}`).join(" ")}\n` +
        targets.map((n) => `t${n}:\n\t@$(CASHET) ${JSON.stringify(`${p("tasks.mjs")}#square`)} ${n}\n`).join(""),
    );
    const make = async (): Promise<{ code: number; out: string; err: string }> => {
      const r = await exec("make", ["-s", "-j4", "-f", p("Makefile")], { cwd: t.dir, env: { CASHET_DAEMON_IDLE_MS: "500" } });
      return { code: r.code, out: r.out, err: r.stderr };
    };
    const first = await make();
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(first.out.split("\n").filter(Boolean).sort(), ["1", "16", "4", "9"]);
    assert.match(first.out, /^(\d+\n){4}$/, "nothing but the four result lines");
    assert.equal(count("square.count"), 4);
    const second = await make();
    assert.equal(second.code, 0, second.err);
    assert.deepEqual(second.out.split("\n").filter(Boolean).sort(), ["1", "16", "4", "9"]);
    assert.equal(count("square.count"), 4, "the second make is all hits");
  });
});

// tsx gives a directory without `"type": "module"` the CommonJS kind: TypeScript there once ran
// from a `data:` URL, so a failure's stack named that URL and a relative import() could not resolve.
describe("cashet run of TypeScript in either module kind", () => {
  const t = tempDir("cashet-run-ts-");
  const store = join(t.dir, "store");
  const kinds = { commonjs: join(t.dir, "cjs"), module: join(t.dir, "esm") };
  const TASK = `import { helper } from "./helper.js";
export function boom(n: number): number {
  const k: number = helper(n);
  throw new Error("boom " + k);
}
export async function viaImport(n: number): Promise<number> {
  const { times } = await import("./lazy.js");
  return times(helper(n));
}
`;
  before(() => {
    for (const [kind, dir] of Object.entries(kinds)) {
      mkdirSync(dir);
      if (kind === "module") writeFileSync(join(dir, "package.json"), `{ "type": "module" }\n`);
      writeFileSync(join(dir, "task.ts"), TASK);
      writeFileSync(join(dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
      writeFileSync(join(dir, "lazy.ts"), `export const times = (n: number): number => n * 10;\n`);
      writeFileSync(join(dir, "esm.mts"), `export async function viaImport(n: number): Promise<number> {\n  return (await import("./lazy.js")).times(n);\n}\n`);
      writeFileSync(join(dir, "cjs.cts"), `export function boom(): never {\n  throw new Error("cts boom");\n}\n`);
    }
  });
  after(async () => {
    if (existsSync(store)) await new FsStore(store).stopDaemon().catch(() => undefined);
    t.remove();
  });
  const run = (args: string[]): Promise<CliResult> => cashet(["run", "--store", store, ...args], ENV);
  const failedStack = async (func: string): Promise<string> => {
    const log = JSON.parse((await cashet(["log", "--store", store, "--status", "failed", "--func", func, "--json"], ENV)).out) as Array<{ error: { stack: string } }>;
    return log[0]!.error.stack;
  };

  test("a hit of a TypeScript task never loads tsx", async () => {
    // tsx's CommonJS hook adds a ".ts" loader to Module._extensions: a probe reports it at exit.
    const probe = join(t.dir, "probe.mjs");
    writeFileSync(probe, `import { createRequire } from "node:module";\nconst M = createRequire(import.meta.url)("node:module");\nprocess.on("exit", () => process.stderr.write("ts hooks: " + (".ts" in M._extensions) + "\\n"));\n`);
    const env = { env: { ...ENV.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}` } };
    const args = ["run", "--store", store, `${join(kinds.commonjs, "task.ts")}#viaImport`, "7"];
    const miss = await cashet(args, env);
    assert.equal(miss.out, "80\n", miss.stderr);
    assert.match(miss.stderr, /ts hooks: true/);
    const hit = await cashet(args, env);
    assert.equal(hit.out, "80\n", hit.stderr);
    assert.equal(hit.stderr, "ts hooks: false\n");
  });

  for (const [kind, dir] of Object.entries(kinds)) {
    test(`a failing task in a ${kind}-kind directory reports task.ts:line:col, on stderr and in its commit`, async () => {
      const r = await run([`${join(dir, "task.ts")}#boom`, "1"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^cashet: boom failed: boom 2 /);
      assert.match(r.stderr, /task\.ts:4:9\)?\n/);
      assert.doesNotMatch(r.stderr, /data:/);
      assert.ok(r.stderr.length < 2000, `a short stack, not a data: URL (${r.stderr.length} chars)`);
      const stack = await failedStack("boom");
      assert.match(stack, /task\.ts:4:9/);
      assert.doesNotMatch(stack, /data:/);
    });

    test(`a relative import("./x.js") of a TypeScript module works in a ${kind}-kind directory, in .ts and .mts`, async () => {
      const ts = await run([`${join(dir, "task.ts")}#viaImport`, "2"]);
      assert.equal(ts.code, 0, ts.stderr);
      assert.equal(ts.out, "30\n");
      const mts = await run([`${join(dir, "esm.mts")}#viaImport`, "4"]);
      assert.equal(mts.code, 0, mts.stderr);
      assert.equal(mts.out, "40\n");
    });

    test(`a failing .cts task in a ${kind}-kind directory reports cjs.cts:line:col`, async () => {
      const r = await run([`${join(dir, "cjs.cts")}#boom`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cjs\.cts:2:9\)?\n/);
      assert.doesNotMatch(r.stderr, /data:/);
    });
  }
});
