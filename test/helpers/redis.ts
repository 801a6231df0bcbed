// Redis for tests: the real server (127.0.0.1:6379, or $CASHET_TEST_REDIS), a unique key prefix
// per store, every key removed afterwards. Without a server the Redis tests skip with a loud
// message — except where Redis is required ($CASHET_REQUIRE_REDIS=1, set by .ci/run): there
// they fail.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RedisStore, type RedisStoreOptions } from "../../plumbing/backends/redis/store.js";

export const REDIS_URL = process.env.CASHET_TEST_REDIS ?? "redis://127.0.0.1:6379";

let reachable: Promise<boolean> | undefined;

/** Whether the test Redis answers; throws when it does not and Redis is required. */
export async function redisOrSkip(): Promise<boolean> {
  reachable ??= (async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  })();
  const ok = await reachable;
  if (!ok && process.env.CASHET_REQUIRE_REDIS === "1") throw new Error(`Redis is required here (CASHET_REQUIRE_REDIS=1) but ${REDIS_URL} does not answer`);
  if (!ok) process.stderr.write(`\n!!! SKIPPING REDIS TESTS: no Redis at ${REDIS_URL} (set CASHET_TEST_REDIS, or CASHET_REQUIRE_REDIS=1 to make this fail) !!!\n\n`);
  return ok;
}

/** A unique prefix, so tests never see each other's keys. */
export function uniquePrefix(label = "t"): string {
  return `cashet-test:${label}:${randomBytes(6).toString("hex")}:`;
}

/** A RedisStore on a fresh prefix; `dispose` deletes its keys and closes it. */
export function tempRedisStore(options: RedisStoreOptions = {}): { store: RedisStore; prefix: string; dispose: () => Promise<void> } {
  const prefix = options.prefix ?? uniquePrefix();
  const store = new RedisStore(REDIS_URL, { ...options, prefix });
  return {
    store,
    prefix,
    dispose: async () => {
      await store.destroy();
      await store.close();
    },
  };
}
