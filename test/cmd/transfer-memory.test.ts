// Export and import stream: a store holding 1 GiB of results goes through a .tar.zst and back
// with each process's peak memory (max RSS) under 150 MB; the server takes and serves one large
// object in flat memory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { Client } from "../../lib/client.js";
import { compress } from "../../plumbing/compress.js";
import { sha256 } from "../../plumbing/ids.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { HttpStore } from "../../plumbing/backends/http/store.js";
import { CLI, startServe } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const MIB = 1024 * 1024;
/** `seed` only makes each call distinct; the bytes are incompressible, so the archive is as big as the store. */
export function chunk(seed: number, mib: number): Buffer {
  void seed;
  return randomBytes(mib * MIB);
}

test("1 GiB of results: export and import each peak under 150 MB of memory", { timeout: 600_000 }, async (ctx) => {
  const t = tempDir("cashet-gib-");
  const from = join(t.dir, "from");
  const to = join(t.dir, "to");
  const archive = join(t.dir, "all.tar.zst");
  const source = new FsStore(from);
  try {
    const client = new Client({ store: source });
    for (let i = 0; i < 64; i++) await client.submit(chunk, i, 16);
    assert.equal((await source.index.stats()).blobBytes > 1024 * MIB, true, "the store holds over 1 GiB");
    await source.stopDaemon();

    /** `cashet args…` under GNU time: its peak resident memory (MB) and stdout. */
    const run = (args: string[]): { peakMB: number; out: string } => {
      const r = spawnSync("/usr/bin/time", ["-f", "peak-kb %M", process.execPath, CLI, ...args], { encoding: "utf8", env: { ...process.env, CASHET_DAEMON_IDLE_MS: "2000" } });
      assert.equal(r.status, 0, r.stderr);
      const kb = Number(/peak-kb (\d+)/.exec(r.stderr)![1]);
      return { peakMB: kb / 1024, out: r.stdout };
    };
    const ex = run(["export", archive, "--store", from]);
    assert.match(ex.out, /exported 64 commits, 64 blobs/);
    assert.ok(ex.peakMB < 150, `export peaked at ${ex.peakMB.toFixed(0)} MB`);
    const im = run(["import", archive, "--store", to]);
    assert.match(im.out, /imported 64 commits, 64 blobs/);
    assert.ok(im.peakMB < 150, `import peaked at ${im.peakMB.toFixed(0)} MB`);
    ctx.diagnostic(`peak memory: export ${ex.peakMB.toFixed(0)} MB, import ${im.peakMB.toFixed(0)} MB`);
    const dest = new FsStore(to, { create: false });
    assert.equal((await new Client({ store: dest }).submit(chunk, 63, 16)).cached, true);
    await dest.stopDaemon();
    await dest.close();
  } finally {
    await source.close();
    t.remove();
  }
});

test("the server takes and serves a 384 MiB object in flat memory (peak RSS under 200 MB), verifying both ways", { timeout: 300_000 }, async () => {
  const t = tempDir("cashet-serve-mem-");
  const { url, child } = await startServe(["--store", join(t.dir, "server")]);
  try {
    const raw = randomBytes(384 * MIB);
    const id = sha256(raw);
    const stored = compress(raw);
    const http = new HttpStore(url);
    assert.equal(await http.objects.write(id, stored), true);
    assert.equal(await http.objects.size(id), stored.length);
    const back = await http.objects.read(id);
    assert.ok(back && Buffer.from(back).equals(stored), "the same bytes come back");
    await http.close();
    const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) * 1024;
    assert.ok(peak < 200 * 1e6, `the server peaked at ${(peak / 1e6).toFixed(0)} MB`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await new FsStore(join(t.dir, "server")).stopDaemon().catch(() => undefined);
    t.remove();
  }
});
