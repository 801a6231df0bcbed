// The HTTP server on an ephemeral port, as a client sees it: every endpoint, every error status,
// tokens (read-write, read-only, none), body limits on the bytes actually read (chunked too) and a
// 413 that a client still sending reads every time, malformed JSON, unknown tasks, a task that
// throws — and no request shape that runs code it sends.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { connect } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../../plumbing/backends/fs/store.js";
import { fileTask } from "../../../porcelain/task.js";
import { createApp } from "../../../porcelain/server/app.js";
import { serve, type Listening } from "../../../porcelain/server/serve.js";
import { cashet, startServe } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";

const TASKS = `import { appendFileSync } from "node:fs";
const log = new URL("./calls.log", import.meta.url).pathname;
export function add(a, b) { appendFileSync(log, "add\\n"); return a + b; }
export function boom(why) { throw new RangeError("refused: " + why); }
export function bytes(n) { return Buffer.alloc(n, 65); }
export async function slow(ms) { await new Promise((r) => setTimeout(r, ms)); return "slept " + ms; }
`;
const NAMES = new Set(["add", "boom", "bytes", "slow"]);

describe("cashet serve", () => {
  const t = tempDir("cashet-serve-");
  const project = join(t.dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "tasks.mjs"), TASKS);
  const store = new FsStore(join(t.dir, "store"));
  const tasks = async (name: string, args: unknown[]) => (NAMES.has(name) ? fileTask({ file: join(project, "tasks.mjs"), exportName: name, args }) : null);
  let open: Listening;
  let secured: Listening;
  before(async () => {
    open = await serve({ store, tasks, port: 0, bodyLimit: 4096 });
    secured = await serve({ store, tasks, port: 0, token: "rw-token", readToken: "ro-token" });
  });
  after(async () => {
    await open.close();
    await secured.close();
    await store.stopDaemon();
    await store.close();
    t.remove();
  });
  const call = async (base: Listening, method: string, path: string, body?: unknown, token?: string) => {
    const res = await fetch(base.url + path, {
      method,
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text, type: res.headers.get("content-type") ?? "" };
  };

  test("POST /submit runs a registered task and answers like run --json; the second call is a hit", async () => {
    const first = await call(open, "POST", "/submit", { task: "add", args: [2, 3], tags: { via: "http" } });
    assert.equal(first.status, 200);
    assert.equal(first.json.result, 5);
    assert.equal(first.json.cached, false);
    assert.deepEqual(Object.keys(first.json).sort(), ["cached", "commit", "durationMs", "output", "result"]);
    const again = await call(open, "POST", "/submit", { task: "add", args: [2, 3] });
    assert.equal(again.json.cached, true);
    assert.equal(again.json.commit, first.json.commit);
    const forced = await call(open, "POST", "/submit", { task: "add", args: [2, 3], force: true });
    assert.equal(forced.json.cached, false);
  });

  test("GET /result, /commit, /history, /diff, /log, /stats and POST /gc", async () => {
    const a = (await call(open, "POST", "/submit", { task: "add", args: [10, 1] })).json.commit as string;
    const b = (await call(open, "POST", "/submit", { task: "add", args: [10, 2] })).json.commit as string;
    assert.deepEqual((await call(open, "GET", `/result/${a.slice(0, 12)}`)).json, { result: 11 });
    const bin = (await call(open, "POST", "/submit", { task: "bytes", args: [5] })).json.commit as string;
    const raw = await call(open, "GET", `/result/${bin}`);
    assert.equal(raw.type, "application/octet-stream");
    assert.equal(raw.text, "AAAAA");
    const commit = await call(open, "GET", `/commit/${a}`);
    assert.equal(commit.json.id, a);
    assert.equal(commit.json.func.name, "add");
    assert.equal((await call(open, "GET", `/history/${a}`)).json[0].id, a);
    const d = await call(open, "GET", `/diff/${a}/${b}`);
    assert.equal(d.json.argsChanged, true);
    assert.equal(d.json.funcChanged, false);
    const logged = await call(open, "GET", "/log?func=add&limit=2");
    assert.equal(logged.json.length, 2);
    assert.ok(logged.json.every((c: { func: { name: string } }) => c.func.name === "add"));
    assert.deepEqual((await call(open, "GET", "/log?tag=via=http")).json.map((c: { tags: object }) => c.tags), [{ via: "http" }]);
    const st = (await call(open, "GET", "/stats")).json;
    assert.ok(st.totalCommits >= 4);
    assert.ok(st.misses >= 3 && typeof st.hits === "number" && typeof st.savedMs === "number", "the calls this server ran are counted");
    assert.ok(st.functions.some((f: { name: string; misses: number }) => f.name === "add" && f.misses >= 2));
    const dry = await call(open, "POST", "/gc", { olderThan: "0s", dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.json.dryRun, true);
    assert.ok(dry.json.commits >= 4);
    assert.deepEqual((await call(open, "GET", "/healthz")).json, { ok: true });
  });

  test("errors are JSON with a fitting status and never a stack: 400, 404, 405, 413, 422", async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ["POST", "/submit", "{not json", 400, "EINVALID"],
      ["POST", "/submit", [1, 2], 400, "EINVALID"],
      ["POST", "/submit", { task: "add", args: "2,3" }, 400, "EINVALID"],
      ["POST", "/submit", { task: "add", args: [1, 1], retries: "many" }, 400, "EINVALID"],
      ["POST", "/submit", { task: "add", args: [1, 1], tags: { n: 1 } }, 400, "EINVALID"],
      ["POST", "/submit", { task: "nope" }, 404, "ENOTFOUND"],
      ["GET", "/commit/zz", undefined, 400, "EINVALID"],
      ["GET", `/commit/${"0".repeat(12)}`, undefined, 404, "ENOTFOUND"],
      ["GET", "/log?limit=lots", undefined, 400, "EINVALID"],
      ["GET", "/log?status=weird", undefined, 400, "EINVALID"],
      ["POST", "/gc", { olderThan: "soon" }, 400, "EINVALID"],
      ["GET", "/nowhere", undefined, 404, "ENOTFOUND"],
      ["DELETE", "/stats", undefined, 405, "EMETHOD"],
      ["POST", "/submit", { task: "add", args: ["x".repeat(5000)] }, 413, "ETOOLARGE"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(open, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 40)}: ${r.text}`);
      assert.equal(r.json?.error?.code, code, `${method} ${path}: ${r.text}`);
      assert.doesNotMatch(r.text, /\bat .*\.js:\d+/, "no stack trace");
    }
    assert.equal((await call(open, "GET", "/log?limit=lots")).json.error.message, 'limit must be a positive whole number, not "lots"', "names what was sent");
    const failed = await call(open, "POST", "/submit", { task: "boom", args: ["no"] });
    assert.equal(failed.status, 422);
    assert.equal(failed.json.error.code, "ETASK");
    assert.match(failed.json.error.message, /refused: no/);
    assert.match(failed.json.error.commit, /^[0-9a-f]{64}$/);
    assert.doesNotMatch(failed.text, /RangeError: refused: no\n\s+at /);
  });

  test("a chunked body is limited on the bytes actually read", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(open.url + "/submit", { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.write('{"task":"add","args":["');
      for (let i = 0; i < 10; i++) req.write("y".repeat(1000));
      req.end('"]}');
    });
    assert.equal(status, 413);
  });

  test("tokens: none is 401, the read-write one does everything, the read-only one may only read, /healthz is open", async () => {
    assert.equal((await call(secured, "GET", "/stats")).status, 401);
    assert.equal((await call(secured, "GET", "/stats", undefined, "wrong")).status, 401);
    assert.equal((await call(secured, "GET", "/healthz")).status, 200);
    assert.equal((await call(secured, "GET", "/stats", undefined, "ro-token")).status, 200);
    const denied = await call(secured, "POST", "/submit", { task: "add", args: [1, 2] }, "ro-token");
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, "EFORBIDDEN");
    assert.equal((await call(secured, "POST", "/gc", { dryRun: true }, "ro-token")).status, 403);
    assert.equal((await call(secured, "POST", "/submit", { task: "add", args: [1, 2] }, "rw-token")).json.result, 3);
  });

  test("the web view asks a browser for the token (HTTP Basic, token as password); the API keeps to Bearer", async () => {
    const page = await fetch(`${secured.url}/`);
    assert.equal(page.status, 401);
    assert.match(page.headers.get("www-authenticate") ?? "", /^Basic realm="cashet"/);
    assert.match((await fetch(`${secured.url}/stats`)).headers.get("www-authenticate") ?? "", /^Bearer/);
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${password}`).toString("base64")}` });
    const ok = await fetch(`${secured.url}/`, { headers: basic("ro-token") });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type") ?? "", /text\/html/);
    assert.equal((await fetch(`${secured.url}/`, { headers: basic("wrong") })).status, 401);
    const write = await fetch(`${secured.url}/gc`, { method: "POST", headers: { ...basic("ro-token"), "content-type": "application/json" }, body: "{}" });
    assert.equal(write.status, 403, "a Basic read-only token is still read-only");
  });

  test("GET /hit answers alike on the fast path (serve) and through Koa (createApp): tokens, 400, 404, commit + output", async () => {
    const made = await call(secured, "POST", "/submit", { task: "bytes", args: [3000] }, "rw-token");
    assert.equal(made.status, 200);
    const fingerprint = (await call(secured, "GET", `/commit/${made.json.commit}`, undefined, "ro-token")).json.fingerprint as string;
    const app = createApp({ store, tasks, token: "rw-token", readToken: "ro-token" });
    const plain = app.listen(0, "127.0.0.1");
    await new Promise((r) => plain.once("listening", r));
    const viaKoa = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
    try {
      for (const base of [secured.url, viaKoa]) {
        const get = (path: string, token?: string) => fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
        const none = await get(`/hit/fp/${fingerprint}`);
        assert.equal(none.status, 401, base);
        assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.equal(((await none.json()) as { error: { code: string } }).error.code, "EUNAUTHORIZED");
        const bad = await get("/hit/fp/xyz", "ro-token");
        assert.equal(bad.status, 400, base);
        assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "EINVALID");
        const missing = await get(`/hit/fp/${"a".repeat(64)}`, "ro-token");
        assert.equal(missing.status, 404, base);
        assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "ENOTFOUND");
        const hit = await get(`/hit/fp/${fingerprint}`, "ro-token");
        assert.equal(hit.status, 200, base);
        assert.equal(hit.headers.get("x-cashet-commit"), made.json.commit);
        const body = Buffer.from(await hit.arrayBuffer());
        const length = Number(hit.headers.get("x-cashet-commit-length"));
        assert.ok(body.subarray(0, length).equals(Buffer.from((await store.objects.read(made.json.commit))!)), "the commit as stored");
        assert.ok(body.subarray(length).equals(Buffer.from((await store.objects.read(made.json.output))!)), "then the output blob as stored");
      }
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  test("no request shape runs code it sends: only registered task names run, arguments are data", async () => {
    for (const task of ["constructor", "__proto__", "toString", "hasOwnProperty", "../tasks.mjs#add", "process.exit", "eval", "() => 1", ""]) {
      const r = await call(open, "POST", "/submit", { task, args: [] });
      assert.ok(r.status === 404 || r.status === 400, `${JSON.stringify(task)}: ${r.status}`);
    }
    const r = await call(open, "POST", "/submit", { task: "add", args: ["require('fs').writeFileSync('/tmp/owned','x')", "; process.exit(1)"] });
    assert.equal(r.json.result, "require('fs').writeFileSync('/tmp/owned','x'); process.exit(1)", "strings stay strings");
    assert.equal((await call(open, "GET", "/healthz")).status, 200, "the server is still up");
  });

  test("shutdown lets a request in flight finish", async () => {
    const extra = await serve({ store, tasks, port: 0 });
    const inflight = call(extra, "POST", "/submit", { task: "slow", args: [400] });
    await new Promise((r) => setTimeout(r, 100));
    const closed = extra.close();
    const r = await inflight;
    assert.equal(r.json.result, "slept 400");
    await closed;
  });

  test("SIGTERM stops cashet serve after the request in flight has its answer; new connections are refused", async () => {
    const { url, child } = await startServe(["--store", join(t.dir, "sigterm-store"), "--tasks", join(project, "tasks.mjs")]);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const inflight = fetch(`${url}/submit`, { method: "POST", body: JSON.stringify({ task: "slow", args: [700] }) });
    await new Promise((r) => setTimeout(r, 300)); // the task is running
    child.kill("SIGTERM");
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { result: string }).result, "slept 700");
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${url}/healthz`), "nothing listens any more");
  });

  test("a request that does not arrive in time is answered 408 and closed", async () => {
    const slow = await serve({ store, tasks, port: 0, requestTimeoutMs: 400 });
    try {
      const { port } = slow.server.address() as { port: number };
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => socket.write("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"task\":"));
        let got = "";
        socket.on("data", (d) => (got += d));
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
      });
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      await slow.close();
    }
  });

  test("a failure inside the server is 500 with no internals in the answer", async () => {
    const broken = new FsStore(join(t.dir, "broken-store"));
    broken.index.stats = async () => {
      throw new Error("disk on fire at /secret/path/.cashet/index");
    };
    const app = createApp({ store: broken, tasks });
    app.silent = true; // the injected fault would otherwise be reported on stderr, as a real one is
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const quiet = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, close: () => new Promise<void>((r) => server.close(() => r())) } as Listening;
    try {
      const r = await call(quiet, "GET", "/stats");
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, { error: { code: "EINTERNAL", message: "internal error" } });
      assert.doesNotMatch(r.text, /secret|fire|at .*\.js/);
    } finally {
      await quiet.close();
      await broken.stopDaemon();
      await broken.close();
    }
  });

  test("the CLI refuses a non-loopback address without a token, and a bad port, with exit 2", async () => {
    const r = await cashet(["serve", "--host", "0.0.0.0", "--port", "0", "--store", join(t.dir, "cli-store")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cashet: refusing to serve on 0\.0\.0\.0 without a token[^\n]*\n$/);
    const p = await cashet(["serve", "--port", "99999"]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /--port must be 0–65535/);
  });

  test("a task file edited while the server runs runs as it is now (in a fresh thread), never as the code the server loaded", async () => {
    const dir = join(t.dir, "stale");
    mkdirSync(dir);
    const file = join(dir, "tasks.mjs");
    const helper = join(dir, "helper.mjs");
    writeFileSync(helper, `export const greeting = "hello";\n`);
    const shout = `export function shout(name) { return name.toUpperCase(); }\n`;
    writeFileSync(file, `import { greeting } from "./helper.mjs";\nexport function greet(name) { return greeting + " " + name; }\n${shout}`);
    const server = await serve({ store, port: 0, tasks: async (name, args) => (name === "greet" || name === "shout" ? fileTask({ file, exportName: name, args }) : null) });
    try {
      const first = await call(server, "POST", "/submit", { task: "greet", args: ["ada"] });
      assert.equal(first.json.result, "hello ada");
      // An export never called yet, edited after its module was imported: its first call runs it as it is now.
      writeFileSync(file, `import { greeting } from "./helper.mjs";\nexport function greet(name) { return greeting + " " + name; }\n${shout.replace("toUpperCase()", "toUpperCase() + '!'")}`);
      assert.equal((await call(server, "POST", "/submit", { task: "shout", args: ["ada"] })).json.result, "ADA!");
      // The function itself changes: the server's copy of the module is outdated.
      writeFileSync(file, `import { greeting } from "./helper.mjs";\nexport function greet(name) { return greeting + ", " + name + "!"; }\n${shout}`);
      const edited = await call(server, "POST", "/submit", { task: "greet", args: ["ada"] });
      assert.equal(edited.status, 200, edited.text);
      assert.equal(edited.json.result, "hello, ada!", "the code as it is now");
      assert.equal(edited.json.cached, false);
      const shown = await call(server, "GET", `/commit/${edited.json.commit}`);
      assert.match(shown.json.func.source, /greeting \+ ", " \+ name/, "recorded with the source that ran");
      // Only an imported module changes: the key changes, and the fresh thread sees the new import too.
      writeFileSync(helper, `export const greeting = "goodbye";\n`);
      const deps = await call(server, "POST", "/submit", { task: "greet", args: ["ada"] });
      assert.equal(deps.json.result, "goodbye, ada!");
      assert.equal((await call(server, "POST", "/submit", { task: "greet", args: ["ada"] })).json.cached, true);
      assert.equal((await call(server, "GET", "/log?func=greet")).json.length, 3);
      assert.equal((await call(server, "POST", "/submit", { task: "shout", args: ["bob"] })).json.result, "BOB", "shout as it is now");
    } finally {
      await server.close();
    }
  });
});

let ticks = 0;
export function tick(label: string): string {
  ticks++;
  return `${label}:${ticks > 0 ? "ran" : "?"}`;
}
export function square(x: number): number {
  return x * x;
}

describe("client.serve", () => {
  test("registers functions and client.task() wrappers by name; a task's own options apply unless the request overrides them", async () => {
    const { Client } = await import("../../../lib/client.js");
    const { MemoryStore } = await import("../../../plumbing/backends/memory.js");
    const client = new Client({ store: new MemoryStore() });
    const server = await client.serve({ port: 0, tasks: { square, tick: client.task(tick, { cache: false }) } });
    try {
      const post = async (body: unknown) => (await fetch(`${server.url}/submit`, { method: "POST", body: JSON.stringify(body) })).json() as Promise<{ result: unknown; cached: boolean }>;
      assert.deepEqual([(await post({ task: "square", args: [7] })).result, (await post({ task: "square", args: [7] })).cached], [49, true]);
      const before = ticks;
      assert.equal((await post({ task: "tick", args: ["a"] })).cached, false);
      assert.equal((await post({ task: "tick", args: ["a"] })).cached, false, "cache: false from client.task applies");
      assert.equal(ticks - before, 2);
      await post({ task: "tick", args: ["b"], cache: true });
      assert.equal((await post({ task: "tick", args: ["b"], cache: true })).cached, true, "the request's cache: true wins");
      const unknown = await fetch(`${server.url}/submit`, { method: "POST", body: JSON.stringify({ task: "hasOwnProperty" }) });
      assert.equal(unknown.status, 404);
    } finally {
      await server.close();
      await client.close();
    }
    await assert.rejects(client.serve({ host: "0.0.0.0", port: 0 }), /without a token/);
  });
});

describe("remote-cache endpoints", () => {
  test("objects: verified uploads, write-once (409 for other bytes), HEAD/GET, have; refs: lookups and guarded moves; read-only tokens cannot write", async () => {
    const { MemoryStore } = await import("../../../plumbing/backends/memory.js");
    const { compress } = await import("../../../plumbing/compress.js");
    const { encodeCommit } = await import("../../../plumbing/commit.js");
    const { sha256 } = await import("../../../plumbing/ids.js");
    const { makeRecord } = await import("../../helpers/fixtures.js");
    const store = new MemoryStore();
    const server = await serve({ store, tasks: async () => null, port: 0, token: "rw", readToken: "ro" });
    const req = (method: string, path: string, body?: Buffer | string, token = "rw") =>
      fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body } : {}) });
    try {
      const content = Buffer.from("a result worth sharing ".repeat(100));
      const id = sha256(content);
      const frame = compress(content);
      assert.equal((await req("HEAD", `/objects/${id}`)).status, 404);
      assert.equal((await req("PUT", `/objects/${id}`, frame, "ro")).status, 403, "a read-only token cannot upload");
      assert.equal((await req("PUT", `/objects/${sha256("something else")}`, frame)).status, 400, "bytes that are not the id are refused");
      const put = await req("PUT", `/objects/${id}`, frame);
      assert.equal(put.status, 201);
      assert.equal((await req("PUT", `/objects/${id}`, frame)).status, 200, "the same bytes again are fine");
      const head = await req("HEAD", `/objects/${id}`, undefined, "ro");
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get("content-length")), frame.length);
      const got = await req("GET", `/objects/${id}`, undefined, "ro");
      assert.equal(got.headers.get("x-cashet-kind"), "blob");
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(frame));
      // A poisoning attempt: other (valid-looking) bytes under a stored id.
      await store.objects.delete(id);
      await store.objects.write(id, frame);
      const poison = compress(Buffer.from("poison"));
      const refused = await req("PUT", `/objects/${id}`, poison);
      assert.ok(refused.status === 400 || refused.status === 409);
      assert.ok(Buffer.from((await store.objects.read(id))!).equals(frame), "the stored bytes are untouched");

      const have = await (await req("POST", "/objects/have", JSON.stringify({ ids: [id, sha256("absent")] }), "ro")).json();
      assert.deepEqual(have, { have: [id] });

      // A commit lands only after what it names; then a ref may point at it.
      const record = makeRecord({ seed: "remote", outputId: sha256("not uploaded"), outputSize: 9 });
      const { id: commitId, bytes } = encodeCommit(record);
      const early = await req("PUT", `/objects/${commitId}`, bytes);
      assert.equal(early.status, 409);
      const ok = makeRecord({ seed: "remote-ok", outputId: id, outputSize: content.length });
      const enc = encodeCommit(ok);
      assert.equal((await req("PUT", `/objects/${enc.id}`, enc.bytes)).status, 201);
      assert.ok(await store.index.entry(enc.id), "an uploaded commit is indexed");
      const ref = `fp/${ok.fingerprint}`;
      assert.equal((await req("GET", `/refs/${ref}`)).status, 404);
      assert.equal((await req("PUT", `/refs/${ref}`, JSON.stringify({ id: enc.id, expected: null }))).status, 200);
      assert.deepEqual(await (await req("GET", `/refs/${ref}`, undefined, "ro")).json(), { name: ref, id: enc.id });
      assert.equal((await req("PUT", `/refs/${ref}`, JSON.stringify({ id: enc.id, expected: null }), "ro")).status, 403);
      assert.equal((await req("PUT", `/refs/fp/${"0".repeat(64)}`, JSON.stringify({ id: enc.id }))).status, 400, "a run of another call");
      assert.equal((await req("GET", "/objects/not-an-id")).status, 400);

      // A run published in one request: the commit, then its call's ref — only that call's ref.
      const one = makeRecord({ seed: "one-request", outputId: id, outputSize: content.length });
      const oneEnc = encodeCommit(one);
      assert.equal((await req("PUT", `/objects/${oneEnc.id}?ref=fp/${"1".repeat(64)}`, oneEnc.bytes)).status, 400, "another call's ref");
      assert.equal(await store.objects.size(oneEnc.id), null, "a refused publish stores nothing");
      assert.equal((await req("PUT", `/objects/${oneEnc.id}?ref=fp/${one.fingerprint}`, oneEnc.bytes)).status, 201);
      assert.equal(await store.refs.read(`fp/${one.fingerprint}`), oneEnc.id);
    } finally {
      await server.close();
      await store.close();
    }
  });

});

/** What a client that sends its whole request before it reads (as most simple clients do) got back, on a real socket. */
interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** A socket error (EPIPE, ECONNRESET: the server cut the connection while the client was sending), or null. */
  error: string | null;
  /** The server closed the connection (within the wait) after its answer. */
  closed: boolean;
  /** Bytes of the body handed to the socket. */
  sent: number;
}

/**
 * Sends `method path` with a body of `size` bytes (declared by Content-Length, or chunked; asking
 * to keep the connection alive, or `close`), then reads the answer.
 */
function sendWhole(port: number, method: string, path: string, options: { size: number; chunked: boolean; close?: boolean; waitMs?: number }): Promise<Exchange> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let error: string | null = null;
    const socket = connect(port, "127.0.0.1");
    let sent = 0;
    const answer = (): Omit<Exchange, "error" | "closed" | "sent"> & { whole: boolean } => {
      const text = Buffer.concat(got).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine, ...lines] = (split < 0 ? "" : text.slice(0, split)).split("\r\n");
      const headers: Record<string, string> = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const body = split < 0 ? "" : text.slice(split + 4);
      const whole = split >= 0 && body.length >= Number(headers["content-length"]);
      return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0), headers, body, whole };
    };
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const { whole: _, ...r } = answer();
      resolve({ ...r, error, closed, sent });
    };
    // A stalled upload, or a connection the server holds open after an answer that said it would close, ends the wait.
    const timer = setTimeout(() => finish(false), options.waitMs ?? 5000);
    socket.on("data", (d: Buffer) => {
      got.push(d);
      const r = answer();
      if (r.whole && r.headers.connection !== "close") finish(false); // kept alive: nothing more comes
    });
    socket.on("error", (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on("close", () => finish(true));
    socket.on("connect", async () => {
      const write = (chunk: string | Buffer): Promise<void> => new Promise((r) => (socket.write(chunk) ? r() : socket.once("drain", r)));
      await write(`${method} ${path} HTTP/1.1\r\nHost: cashet\r\nContent-Type: application/json\r\n${options.close ? "Connection: close\r\n" : ""}${options.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${options.size}`}\r\n\r\n`);
      const piece = Buffer.alloc(64 * 1024, 0x20);
      while (sent < options.size && !socket.destroyed) {
        const part = piece.subarray(0, Math.min(piece.length, options.size - sent));
        sent += part.length;
        await write(options.chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]) : part);
      }
      if (options.chunked && !socket.destroyed) await write("0\r\n\r\n");
    });
  });
}

describe("request bodies over the limit", () => {
  // The server in its own process, as cashet serve runs: its stderr is all it logs.
  const SERVER = `
    import { serve } from ${JSON.stringify(new URL("../../../porcelain/server/serve.js", import.meta.url).href)};
    import { MemoryStore } from ${JSON.stringify(new URL("../../../plumbing/backends/memory.js", import.meta.url).href)};
    const listening = await serve({ store: new MemoryStore(), tasks: async () => null, port: 0, bodyLimit: 4096, objectLimit: 65536 });
    process.stdout.write(listening.url + "\\n");
    process.once("SIGTERM", () => listening.close().then(() => process.exit(0)));
  `;
  let child: ChildProcess;
  let url: string;
  let port: number;
  let stderr = "";
  before(async () => {
    child = spawn(process.execPath, ["--input-type=module", "-e", SERVER], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(String(d).trim()));
      child.once("exit", (code) => reject(new Error(`the server exited ${code}: ${stderr}`)));
    });
    port = Number(new URL(url).port);
  });
  after(async () => {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  });

  const id = "a".repeat(64);
  // Every route that reads a body, with the limit it reads up to (4 KiB of JSON; 64 KiB for an object here).
  const routes: Array<[string, string]> = [
    ["POST", "/submit"],
    ["POST", "/gc"],
    ["POST", "/objects/have"],
    ["PUT", `/objects/${id}`],
    ["PUT", `/refs/fp/${id}`],
    ["PUT", "/refs/pin/release"],
  ];
  // Megabytes: more than the sockets buffer, so a server that closes while the client still sends
  // cuts the client off before it reads the answer.
  const SIZE = 6 * 1024 * 1024;

  for (const [method, path] of routes) {
    for (const chunked of [false, true]) {
      test(`${method} ${path.replace(id, "<id>")} with a ${chunked ? "chunked" : "plain"} body over the limit: 413 with Connection: close, 20 times in a row`, async () => {
        for (let i = 0; i < 20; i++) {
          // Every other client asks for the connection to be closed; every fifth body is only just over.
          const r = await sendWhole(port, method, path, { size: i % 5 === 4 ? 70_000 : SIZE, chunked, close: i % 2 === 1 });
          const what = `attempt ${i + 1}: ${JSON.stringify({ ...r, body: r.body.slice(0, 120) })}`;
          assert.equal(r.error, null, what);
          assert.equal(r.status, 413, what);
          assert.equal(r.headers.connection, "close", what);
          assert.equal(JSON.parse(r.body).error.code, "ETOOLARGE", what);
          assert.match(JSON.parse(r.body).error.message, /over the \d+-byte limit/, what);
          assert.ok(r.closed, `${what}: the server closes the connection after its answer`);
        }
      });
    }
  }

  test("a route that reads no body answers as usual when sent one, drained rather than reset: GET /hit (a body takes it off the fast path), GET /healthz", async () => {
    for (const [path, status] of [[`/hit/fp/${id}`, 404], ["/healthz", 200]] as const) {
      for (const chunked of [false, true]) {
        for (let i = 0; i < 20; i++) {
          const r = await sendWhole(port, "GET", path, { size: i % 5 === 4 ? 70_000 : SIZE, chunked, close: i % 2 === 1 });
          const what = `GET ${path} ${chunked ? "chunked" : "plain"} attempt ${i + 1}: ${JSON.stringify({ ...r, body: r.body.slice(0, 120) })}`;
          assert.equal(r.error, null, what);
          assert.equal(r.status, status, what);
          assert.deepEqual(JSON.parse(r.body), status === 200 ? { ok: true } : { error: { code: "ENOTFOUND", message: `no completed run at fp/${id}` } }, what);
        }
      }
    }
  });

  test("a body without end is drained only so far: the 413 goes out at once, and the connection is cut after a bounded read", async () => {
    // A client that reads while it sends has the answer at once (and stops sending).
    const early = await new Promise<{ status: number; connection: string | undefined; sent: number }>((resolve, reject) => {
      const req = request(`${url}/gc`, { method: "POST", headers: { "content-length": String(1024 ** 3) } });
      let sent = 0;
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode!, connection: res.headers.connection, sent });
      });
      req.on("error", reject);
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (!req.destroyed && sent < 1024 ** 3) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once("drain", pump);
        }
      };
      pump();
    });
    assert.equal(early.status, 413);
    assert.equal(early.connection, "close");
    assert.ok(early.sent < 1024 ** 3, "answered while the body was still coming");
    // One that only sends is cut off once the server has read what it will: not a gigabyte.
    const cut = await sendWhole(port, "POST", "/gc", { size: 1024 ** 3, chunked: false, waitMs: 15_000 });
    assert.ok(cut.closed, "the server closed the connection");
    assert.ok(cut.sent < 256 * 1024 ** 2, `the server stopped reading after ${cut.sent} bytes of the 1 GiB it was promised`);
  });

  test("a chunked body over the limit whose framing then breaks: the one answer is the 413, and the parse error is the client's, not logged", async () => {
    for (const [method, path] of routes) {
      const got = await new Promise<string>((resolve) => {
        let text = "";
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(`${method} ${path} HTTP/1.1\r\nHost: cashet\r\nTransfer-Encoding: chunked\r\n\r\n${(100_000).toString(16)}\r\n${" ".repeat(100_000)}\r\n`);
          setTimeout(() => socket.write("not a chunk size\r\n\r\n"), 50); // once the 413 is out
        });
        socket.on("data", (d: Buffer) => (text += d));
        socket.on("error", () => {});
        socket.on("close", () => resolve(text));
        setTimeout(() => socket.destroy(), 5000);
      });
      assert.match(got, /^HTTP\/1\.1 413 /, `${method} ${path}: ${got.slice(0, 200)}`);
      assert.equal(got.split("HTTP/1.1 ").length, 2, `${method} ${path}: one answer only: ${got}`);
    }
  });

  test("the server keeps serving afterwards and has logged nothing: a client's oversize body is not a server failure", async () => {
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { ok: true });
    const gc = await fetch(`${url}/gc`, { method: "POST", body: JSON.stringify({ dryRun: true }) });
    assert.equal(gc.status, 200);
    assert.deepEqual(await (await fetch(`${url}/objects/have`, { method: "POST", body: JSON.stringify({ ids: [id] }) })).json(), { have: [] });
    assert.equal(stderr, "");
  });
});
