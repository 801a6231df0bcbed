// A child process for the multi-process fs store tests (test/plumbing/fs-multiprocess.test.ts).
// Spawned as `node dist/test/helpers/worker.js <mode> <storeDir> ...`; talks to the test through
// stdout lines. Modes:
//   write <storeDir> <workerNo> <count> [pauseMs]
//       writes `count` distinct blobs (large ones as files, small ones inline in their commit),
//       a commit for each (unique fingerprint), index.addCommit(id), refs.update(fp/<fp>, id, null);
//       prints one JSON line {worker, items: WrittenItem[]}.
//   claim <storeDir> <key> <holdMs>
//       tryAcquire(key): if won, prints "won", holds holdMs, prints "releasing <ms>", releases;
//       if not, prints "lost", waits for release, prints "released <ms>". (<ms> = Date.now().)
//   hold <storeDir> <key>
//       acquires, prints "held" and stays alive until killed; prints "claim lost" if the store
//       ever takes the claim away. Prints "busy" and exits 1 if the key is held by someone else.
//   cas <storeDir> <ref> <expected|-> <tag>
//       stores a blob unique to `tag`, then refs.update(ref, thatBlob, expected ("-" = null));
//       prints one JSON line {mine, ok}.
//   incr <storeDir> <ref> <workerNo> <times>
//       increments a counter held in `ref` `times` times by read / compare-and-swap / retry. Each
//       value is a blob {n, prev, by, attempt} (unique per attempt); prints {successes, failures}.
// With CASHET_TEST_BARRIER=1 the worker first connects to the store's daemon, prints "ready" and
// waits for a "go" line on stdin before doing its work, so the test can start many at once.
// Any error: message on stderr, exit 1.
import { createInterface } from "node:readline";
import { INLINE_LIMIT, type CommitRecord } from "../../plumbing/commit.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";

/** What `write` reports for each item it wrote. */
export interface WrittenItem {
  fingerprint: string;
  commit: string;
  blob: string;
  /** Uncompressed blob size. */
  size: number;
  inline: boolean;
  status: "completed" | "failed";
  /** Stored size of the commit. */
  commitBytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Deterministic, distinct content: large (≥ 1 KiB, a file) for two of every three items. */
function blobContent(worker: number, item: number): Buffer {
  const head = `worker ${worker} item ${item}\n`;
  if (item % 3 === 2) return Buffer.from(`${head}small\n`);
  const size = INLINE_LIMIT + ((worker * 7919 + item * 104729) % 4096);
  const out = Buffer.alloc(size);
  out.write(head);
  let x = (worker + 1) * 1_000_003 + item * 97;
  for (let i = head.length; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = 97 + (x % 26);
  }
  return out;
}

async function barrier(store: FsStore): Promise<void> {
  if (process.env.CASHET_TEST_BARRIER !== "1") return;
  await store.claims.list(); // connected (daemon started if needed)
  say("ready");
  await new Promise<void>((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.on("line", (line) => {
      if (line.trim() !== "go") return;
      rl.close();
      process.stdin.destroy();
      resolve();
    });
  });
}

async function write(store: FsStore, worker: number, count: number, pauseMs: number): Promise<void> {
  const db = new ObjectDb(store.objects);
  const items: WrittenItem[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = blobContent(worker, i);
    const blob = sha256(bytes);
    const inline = bytes.length < INLINE_LIMIT;
    if (!inline) {
      const put = await db.putBlob(bytes);
      if (put.id !== blob || !put.created) throw new Error(`blob ${i}: unexpected put result ${JSON.stringify(put)}`);
    }
    const failed = i % 5 === 4;
    const fingerprint = sha256(`fingerprint ${worker} ${i}`);
    const record: CommitRecord = {
      fingerprint,
      status: failed ? "failed" : "completed",
      func: { name: `fn${worker % 3}`, module: "test/worker.ts", hash: sha256(`fn${worker % 3}`), source: "(x) => x", deps: [] },
      args: { hash: sha256(`args ${worker} ${i}`), preview: `[${worker}, ${i}]`, blob: failed ? blob : null },
      output: failed ? null : { hash: blob, size: bytes.length, serializer: "raw", preview: `${bytes.length} bytes` },
      error: failed ? { name: "Error", message: `item ${i} failed`, stack: "Error: failed" } : null,
      parent: null,
      createdAt: new Date().toISOString(),
      durationMs: i,
      attempts: 1,
      tags: { worker: String(worker) },
      expiresAt: null,
      provenance: { pid: process.pid },
      ...(inline ? { inline: { [blob]: bytes.toString("base64") } } : {}),
    };
    const put = await db.putCommit(record);
    await store.index.addCommit(put.id);
    const moved = await store.refs.update(`fp/${fingerprint}`, put.id, null);
    if (!moved) throw new Error(`ref fp/${fingerprint} was not created`);
    items.push({ fingerprint, commit: put.id, blob, size: bytes.length, inline, status: record.status, commitBytes: put.size });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  say(JSON.stringify({ worker, items }));
}

async function claim(store: FsStore, key: string, holdMs: number): Promise<void> {
  const handle = await store.claims.tryAcquire(key);
  if (handle) {
    say("won");
    await sleep(holdMs);
    say(`releasing ${Date.now()}`);
    await handle.release();
  } else {
    say("lost");
    await store.claims.waitRelease(key);
    say(`released ${Date.now()}`);
  }
}

async function hold(store: FsStore, key: string): Promise<void> {
  const handle = await store.claims.tryAcquire(key);
  if (!handle) {
    say("busy");
    process.exit(1);
  }
  say("held");
  const timer = setInterval(() => {
    if (handle.lost) {
      say("claim lost");
      clearInterval(timer);
    }
  }, 50);
  await new Promise(() => setInterval(() => undefined, 1 << 30)); // until SIGKILL
}

async function cas(store: FsStore, ref: string, expected: string, tag: string): Promise<void> {
  const db = new ObjectDb(store.objects);
  const { id: mine } = await db.putBlob(Buffer.from(`cas candidate ${tag}`));
  await barrier(store);
  const ok = await store.refs.update(ref, mine, expected === "-" ? null : expected);
  say(JSON.stringify({ mine, ok }));
}

async function incr(store: FsStore, ref: string, worker: number, times: number): Promise<void> {
  const db = new ObjectDb(store.objects);
  await barrier(store);
  let successes = 0;
  let failures = 0;
  for (let attempt = 0; successes < times; attempt++) {
    const cur = await store.refs.read(ref);
    let n = 0;
    if (cur !== null) {
      const bytes = await db.getBlob(cur);
      if (!bytes) throw new Error(`counter blob ${cur} is missing or corrupt`);
      n = (JSON.parse(bytes.toString("utf8")) as { n: number }).n;
    }
    const { id: next } = await db.putBlob(Buffer.from(JSON.stringify({ n: n + 1, prev: cur, by: worker, attempt })));
    if (await store.refs.update(ref, next, cur)) successes++;
    else failures++;
  }
  say(JSON.stringify({ successes, failures }));
}

async function main(): Promise<void> {
  const [mode, dir, ...rest] = process.argv.slice(2);
  if (!mode || !dir) throw new Error("usage: worker.js <mode> <storeDir> ...");
  const store = new FsStore(dir);
  switch (mode) {
    case "write": {
      await barrier(store);
      await write(store, Number(rest[0]), Number(rest[1]), Number(rest[2] ?? 0));
      break;
    }
    case "claim":
      await barrier(store);
      await claim(store, rest[0]!, Number(rest[1]));
      break;
    case "hold":
      await hold(store, rest[0]!);
      break;
    case "cas":
      await cas(store, rest[0]!, rest[1]!, rest[2]!);
      break;
    case "incr":
      await incr(store, rest[0]!, Number(rest[1]), Number(rest[2]));
      break;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  await store.close();
}

// `node --test dist/test/` runs every file, this one too, without arguments: nothing to do then.
const run = process.argv.length > 2 ? main() : Promise.resolve();
run.then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
