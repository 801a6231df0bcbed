// The claim heartbeat's thread (started by ./heartbeat.ts): renews each claim it is told to hold
// every third of the ttl, on its own Redis connection, only while the claim still holds the
// holder's value, and reports a claim that is no longer ours. It lives and dies with its process.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import type { HeartbeatConfig, HeartbeatMessage } from "./heartbeat.js";
import { SCRIPTS, type ScriptedRedis } from "./scripts.js";

const { url, options, ttlMs } = workerData as HeartbeatConfig;
const port = parentPort!;
const { Redis } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
const redis = new Redis(url, { ...options, maxRetriesPerRequest: 1 }) as ScriptedRedis;
redis.on("error", () => undefined); // a blip: the next beat tries again; the ttl covers two misses
redis.defineCommand("cashetRenew", SCRIPTS.cashetRenew);

const held = new Map<string, string>();

port.on("message", (m: HeartbeatMessage) => {
  if ("hold" in m) held.set(m.hold, m.value);
  else if ("drop" in m) held.delete(m.drop);
});

function beat(): void {
  for (const [key, value] of held) {
    redis.cashetRenew(key, value, String(ttlMs)).then(
      (renewed) => {
        if (renewed !== 0 || held.get(key) !== value) return;
        held.delete(key);
        port.postMessage({ lost: key, value } satisfies HeartbeatMessage);
      },
      () => undefined,
    );
  }
}

// Two missed beats still leave a claim alive. The first beat comes as soon as the connection is
// up, so a slow start of this thread never eats into the ttl of the claim that started it.
redis.once("ready", beat);
setInterval(beat, Math.max(50, Math.floor(ttlMs / 3)));
