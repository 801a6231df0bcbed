// The remote cache: `cashet serve` as the store of other machines. Two "machines" (two store
// directories) share results through HttpStore — from the library and from `cashet run` with
// CASHET_REMOTE — with every byte verified on both sides: a read-only token reads but never
// writes, a lying server's bytes are refused, a server that is down only costs the cache.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "../../../lib/client.js";
import { commitBlobs } from "../../../plumbing/commit.js";
import { compress } from "../../../plumbing/compress.js";
import { sha256 } from "../../../plumbing/ids.js";
import { objectPath } from "../../../plumbing/backends/fs/layout.js";
import { ObjectDb } from "../../../plumbing/objects.js";
import { FsStore } from "../../../plumbing/backends/fs/store.js";
import { HttpStore } from "../../../plumbing/backends/http/store.js";
import { ForbiddenError, UnauthorizedError, UnsupportedError } from "../../../plumbing/errors.js";
import { RemoteCachedStore } from "../../../plumbing/backends/remote.js";
import { serve, type Listening } from "../../../porcelain/server/serve.js";
import { cashet } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";

const calls: Record<string, number> = {};
const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);

export function triple(x: number): number {
  count("triple");
  return x * 3;
}
export function noise(n: number, seed: number): Buffer {
  count("noise");
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  return out;
}
export function label(x: string): string {
  count("label");
  return `label:${x}`;
}

describe("remote cache through HttpStore", () => {
  const t = tempDir("cashet-remote-");
  const server = new FsStore(join(t.dir, "server"));
  let listening: Listening;
  const warnings: string[] = [];
  const machine = (name: string, token = "rw-token"): Client =>
    new Client({
      store: new RemoteCachedStore(new FsStore(join(t.dir, name)), new HttpStore(listening.url, { token }), { onWarning: (m) => warnings.push(`${name}: ${m}`) }),
    });

  before(async () => {
    listening = await serve({ store: server, tasks: async () => null, port: 0, token: "rw-token", readToken: "ro-token" });
  });
  after(async () => {
    await listening.close();
    await server.stopDaemon();
    await server.close();
    t.remove();
  });

  test("a result computed on one machine is a hit on another, and stays one offline", async () => {
    const a = machine("a");
    const b = machine("b");
    const before = calls.triple ?? 0;
    const first = await a.submit(triple, 14);
    assert.equal(first.cached, false);
    assert.equal(await first.load(), 42);
    // The upload happened before submit returned: the server has the run under the call's ref.
    const serverCommit = await new ObjectDb(server.objects).getCommit(first.commit);
    assert.ok(serverCommit, "the commit reached the server");
    assert.equal(await server.refs.read(`fp/${serverCommit.fingerprint}`), first.commit);
    assert.equal((await server.index.entry(first.commit))?.func, "triple", "the server indexed it");

    const second = await b.submit(triple, 14);
    assert.equal(second.cached, true, "machine b found it on the server");
    assert.equal(second.commit, first.commit);
    assert.equal(await second.load(), 42);
    assert.equal(calls.triple! - before, 1, "executed once across both machines");

    // b now holds the run itself: indexed, and a hit with no server at all.
    const bLocal = (b.store as RemoteCachedStore).local;
    assert.equal((await bLocal.index.entry(first.commit))?.status, "completed");
    await a.close();
    await b.close();
    const offline = new Client({ store: new FsStore(join(t.dir, "b")) });
    const again = await offline.submit(triple, 14);
    assert.equal(again.cached, true);
    assert.equal(calls.triple! - before, 1);
    await offline.close();
    assert.deepEqual(warnings, []);
  });

  test("a large result travels both ways, streamed by the server and verified on both sides", async () => {
    const size = 10 * 1024 * 1024; // over the server's 8 MiB stream threshold: left out of /hit, fetched on its own
    const a = machine("large-a");
    const b = machine("large-b");
    const made = await a.submit(noise, size, 7);
    const expected = noise(size, 7);
    const got = await b.submit(noise, size, 7);
    assert.equal(got.cached, true);
    assert.ok(Buffer.from((await got.load()) as Uint8Array).equals(expected));
    const commit = await new ObjectDb(server.objects).getCommit(made.commit);
    const blob = commitBlobs(commit!).find((x) => x.id === commit!.output!.hash)!;
    assert.equal(blob.inline, false, "the output is an object of its own");
    assert.ok((await server.objects.size(blob.id))! > size, "incompressible bytes stored whole on the server");
    const direct = new Client({ store: new HttpStore(listening.url, { token: "rw-token" }) });
    const hit = await direct.submit(noise, size, 7);
    assert.equal(hit.cached, true, "a direct HttpStore hit fetches the left-out output");
    assert.ok(Buffer.from((await hit.load()) as Uint8Array).equals(expected));
    await direct.close();

    // A damaged large object on the server is never delivered whole: the stream is cut.
    const file = objectPath(server.location, blob.id);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    const http = new HttpStore(listening.url, { token: "rw-token" });
    await assert.rejects(http.objects.read(blob.id), (err: Error & { code?: string }) => err.code === "EUNAVAILABLE");
    // A new upload of a blob that does not hash to its id is refused while it streams, and leaves nothing.
    const other = compress(noise(size, 8));
    const wrongId = sha256(noise(size, 9));
    await assert.rejects(http.objects.write(wrongId, other), /not object .*content does not match/);
    assert.equal(await server.objects.size(wrongId), null);
    // The damaged copy is replaced by a verified upload.
    assert.equal(await http.objects.write(blob.id, compress(expected)), true);
    assert.ok(Buffer.from((await http.objects.read(blob.id))!).equals(compress(expected)));
    await http.close();
    await a.close();
    await b.close();
  });

  test("a read-only token reads the shared results but cannot add to them", async () => {
    const writer = machine("ro-writer");
    await writer.submit(label, "shared");
    await writer.close();
    const reader = machine("ro-reader", "ro-token");
    const hit = await reader.submit(label, "shared");
    assert.equal(hit.cached, true);
    const before = calls.label!;
    const own = await reader.submit(label, "reader's own");
    assert.equal(own.cached, false);
    assert.equal(calls.label, before + 1);
    assert.equal(await reader.submit(label, "another").then((r) => r.cached), false);
    assert.equal(await new ObjectDb(server.objects).getCommit(own.commit), null, "nothing the reader ran reached the server");
    const told = warnings.filter((w) => w.startsWith("ro-reader:"));
    assert.equal(told.length, 1, "said once");
    assert.match(told[0]!, /read-only for this token: results stay local/);
    await reader.close();
    warnings.length = 0;
  });

  test("a wrong token is told once and the run goes on locally", async () => {
    const stranger = machine("stranger", "not-the-token");
    const r = await stranger.submit(triple, 100);
    assert.equal(r.cached, false);
    assert.equal(await r.load(), 300);
    assert.equal((await stranger.submit(triple, 100)).cached, true, "a local hit");
    assert.ok(warnings.some((w) => /stranger: remote cache read failed, going on locally: the remote cache refused the token/.test(w)), warnings.join("\n"));
    await stranger.close();
    warnings.length = 0;
  });

  test("a poisoning upload is refused and the shared bytes stay as they were", async () => {
    const a = machine("poison-a");
    const made = await a.submit(noise, 4096, 99);
    await a.close();
    const commit = (await new ObjectDb(server.objects).getCommit(made.commit))!;
    const blobId = commit.output!.hash;
    const original = Buffer.from((await server.objects.read(blobId))!);
    const attacker = new HttpStore(listening.url, { token: "rw-token" });
    // Other content under the existing id: refused as bytes that are not that object.
    const evil = Buffer.from((await server.objects.read(blobId))!);
    evil[evil.length - 5] ^= 0xff;
    await assert.rejects(attacker.objects.write(blobId, evil), (err: Error & { code?: string }) => err.code === "EINVALID" && /not object/.test(err.message));
    // A commit pointing a call at another result cannot be uploaded without verifying either.
    await assert.rejects(attacker.refs.update(`fp/${"0".repeat(64)}`, made.commit), /another call|EINVALID|refused/);
    assert.ok(Buffer.from((await server.objects.read(blobId))!).equals(original));
    const b = machine("poison-b");
    assert.ok(Buffer.from((await (await b.submit(noise, 4096, 99)).load()) as Uint8Array).equals(noise(4096, 99)));
    await b.close();
    await attacker.close();
  });

  test("HttpStore is a store a Client can use directly; what only the server may do is refused", async () => {
    const remote = new HttpStore(listening.url, { token: "rw-token" });
    const direct = new Client({ store: remote });
    const before = calls.label ?? 0;
    const first = await direct.submit(label, "direct");
    assert.equal(first.cached, false);
    const other = new Client({ store: new HttpStore(listening.url, { token: "rw-token" }) });
    const second = await other.submit(label, "direct");
    assert.equal(second.cached, true, "a hit answered by the server in one request");
    assert.equal(second.commit, first.commit);
    assert.equal(await second.load(), "label:direct");
    assert.equal(calls.label! - before, 1);
    await assert.rejects(remote.objects.delete(first.commit), UnsupportedError);
    await assert.rejects(remote.index.log(), (err: Error & { code?: string }) => err.code === "EUNSUPPORTED");
    assert.deepEqual([...(await remote.have([first.commit, "f".repeat(64)]))], [first.commit]);
    await direct.close();
    await other.close();
  });

  test("HttpStore's refusals come back as the typed errors the server named", async () => {
    const stranger = new HttpStore(listening.url, { token: "not-the-token" });
    await assert.rejects(stranger.objects.read("a".repeat(64)), (err: unknown) => err instanceof UnauthorizedError && /refused the token/.test(err.message));
    const reader = new HttpStore(listening.url, { token: "ro-token" });
    await assert.rejects(reader.objects.write(sha256(Buffer.from("x")), Buffer.from("x")), (err: unknown) => err instanceof ForbiddenError && /only lets this token read/.test(err.message));
    await stranger.close();
    await reader.close();
  });

  test("new Client({ remote }) reads through and writes through; remote: false keeps a client local", async () => {
    const writer = new Client({ storeDir: join(t.dir, "opt-a"), remote: { url: listening.url, token: "rw-token" } });
    const made = await writer.submit(label, "via option");
    await writer.close();
    const reader = new Client({ storeDir: join(t.dir, "opt-b"), remote: { url: listening.url, token: "ro-token" } });
    assert.equal((await reader.submit(label, "via option")).commit, made.commit);
    assert.equal((await reader.submit(label, "via option")).cached, true);
    await reader.close();
    const before = calls.label!;
    const alone = new Client({ storeDir: join(t.dir, "opt-c"), remote: false });
    assert.equal(alone.store.kind, "fs");
    assert.equal((await alone.submit(label, "via option")).cached, false, "no remote asked");
    assert.equal(calls.label, before + 1);
    await alone.close();
  });

  test("bad remote URLs are refused in one line before anything happens", () => {
    assert.throws(() => new HttpStore("not a url"), /is not a URL/);
    assert.throws(() => new HttpStore("ftp://example.org"), /must be an http:\/\/ or https:\/\/ URL/);
  });

  test("a server that lies about an object is not believed", async () => {
    // A fake server answering every hit with a real commit whose output bytes were tampered with.
    const honest = machine("liar-source");
    const made = await honest.submit(noise, 8192, 3);
    await honest.close();
    const commitBytes = Buffer.from((await server.objects.read(made.commit))!);
    const commit = (await new ObjectDb(server.objects).getCommit(made.commit))!;
    const blob = Buffer.from((await server.objects.read(commit.output!.hash))!);
    blob[blob.length - 3] ^= 0x55;
    const liar: Server = createServer((req, res) => {
      if (req.url?.startsWith("/hit/")) {
        res.writeHead(200, { "x-cashet-commit": made.commit, "x-cashet-commit-length": String(commitBytes.length) });
        return res.end(Buffer.concat([commitBytes, blob]));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
    const port = (liar.address() as { port: number }).port;
    const local = new FsStore(join(t.dir, "liar-client"));
    const told: string[] = [];
    const client = new Client({ store: new RemoteCachedStore(local, new HttpStore(`http://127.0.0.1:${port}`), { onWarning: (m) => told.push(m) }) });
    try {
      const before = calls.noise!;
      const r = await client.submit(noise, 8192, 3);
      assert.equal(r.cached, false, "the tampered result was not served");
      assert.equal(calls.noise, before + 1);
      assert.ok(Buffer.from((await r.load()) as Uint8Array).equals(noise(8192, 3)));
      assert.equal(told.filter((m) => /sent a damaged object/.test(m)).length, 1, told.join("\n"));
    } finally {
      await client.close();
      liar.closeAllConnections();
      await new Promise((r) => liar.close(r));
    }
  });

  test("a connection reset before any answer is retried once on a new connection", async () => {
    let requests = 0;
    const flaky: Server = createServer((req, res) => {
      requests++;
      if (requests === 1) return void req.socket.destroy(); // as a server closing a kept-alive socket just as it is reused
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ name: "fp/x", id: "c".repeat(64) }));
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const http = new HttpStore(`http://127.0.0.1:${(flaky.address() as { port: number }).port}`);
    try {
      assert.equal(await http.refs.read(`fp/${"a".repeat(64)}`), "c".repeat(64));
      assert.equal(requests, 2);
    } finally {
      await http.close();
      flaky.closeAllConnections();
      await new Promise((r) => flaky.close(r));
    }
  });

  test("a remote that is down costs only the cache", async () => {
    const dead = new Client({
      store: new RemoteCachedStore(new FsStore(join(t.dir, "dead")), new HttpStore("http://127.0.0.1:9"), { onWarning: (m) => warnings.push(m) }),
    });
    const r = await dead.submit(triple, 5);
    assert.equal(await r.load(), 15);
    assert.equal((await dead.submit(triple, 5)).cached, true);
    assert.equal(warnings.length, 2, warnings.join("\n")); // one for reads, one for writes
    assert.match(warnings[0]!, /cannot reach the remote cache at http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
    await dead.close();
    warnings.length = 0;
  });

  test("cashet push uploads what a store made before it had a server; only what the server lacks; a read-only token cannot", async () => {
    const offline = new Client({ storeDir: join(t.dir, "push-old"), remote: false });
    const made = [await offline.submit(label, "old 1"), await offline.submit(label, "old 2"), await offline.submit(noise, 4096, 123)];
    await offline.run(triple, { args: [77], tags: { kept: "locally" } });
    await offline.close();
    const env = (token: string) => ({ CASHET_DIR: join(t.dir, "push-old"), CASHET_REMOTE: listening.url, CASHET_REMOTE_TOKEN: token });
    const denied = await cashet(["push", "--func", "label"], { env: env("ro-token") });
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /^cashet: the remote cache only lets this token read .*\n$/);
    const first = await cashet(["push", "--json", "--func", "label"], { env: env("rw-token") });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.out), { commits: 2, blobs: 0, refs: 2, bytes: JSON.parse(first.out).bytes, skipped: 0 });
    const rest = await cashet(["push", "--json"], { env: env("rw-token") });
    const counts = JSON.parse(rest.out);
    assert.equal(counts.commits, 2, "noise and triple; the two label runs are there already");
    assert.equal(counts.blobs, 1, "noise's output is an object of its own");
    assert.equal(counts.skipped, 2);
    const again = JSON.parse((await cashet(["push", "--json"], { env: env("rw-token") })).out);
    assert.deepEqual({ ...again, skipped: 0 }, { commits: 0, blobs: 0, refs: 0, bytes: 0, skipped: 0 }, "nothing new the second time");
    // Another machine now hits every pushed run.
    const other = machine("push-new");
    const before = { ...calls };
    assert.equal((await other.submit(label, "old 2")).commit, made[1]!.commit);
    assert.equal((await other.submit(noise, 4096, 123)).cached, true);
    assert.deepEqual(calls, before, "nothing ran again");
    await other.close();
    const none = await cashet(["push"], { env: { CASHET_DIR: join(t.dir, "push-old") } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /push needs a server: --remote URL or \$CASHET_REMOTE/);
  });

  test("cashet run with CASHET_REMOTE shares results between two store directories", async () => {
    const project = join(t.dir, "project");
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, "tasks.mjs"),
      `import { appendFileSync } from "node:fs";\nexport function area(w, h) { appendFileSync(new URL("./calls.log", import.meta.url), "area\\n"); return w * h; }\n`,
    );
    const env = (dir: string, token = "rw-token") => ({ CASHET_DIR: join(t.dir, dir), CASHET_REMOTE: listening.url, CASHET_REMOTE_TOKEN: token });
    const one = await cashet(["run", "--json", join(project, "tasks.mjs#area"), "6", "7"], { env: env("cli-a") });
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.out).cached, false);
    const two = await cashet(["run", "--json", join(project, "tasks.mjs#area"), "6", "7"], { env: env("cli-b", "ro-token") });
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual({ ...JSON.parse(two.out), durationMs: 0 }, { ...JSON.parse(one.out), cached: true, durationMs: 0, reason: null });
    assert.equal(readFileSync(join(project, "calls.log"), "utf8"), "area\n", "ran on one machine only");
    const bad = await cashet(["run", "--remote", "nope", join(project, "tasks.mjs#area"), "1", "2"], { env: { CASHET_DIR: join(t.dir, "cli-c") } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"nope" is not a URL/);
  });
});

