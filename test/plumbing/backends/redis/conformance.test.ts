// RedisStore against a real Redis: the conformance suite every store passes, then what only a
// shared, networked store has to get right.
import type { RedisStore } from "../../../../plumbing/backends/redis/store.js";
import { redisOrSkip, tempRedisStore } from "../../../helpers/redis.js";
import { storeConformance } from "../../store-conformance.js";

const available = await redisOrSkip();
const disposers = new Map<RedisStore, () => Promise<void>>();

if (available) {
  storeConformance("RedisStore", {
    open: async () => {
      const { store, dispose } = tempRedisStore({ claimTtlMs: 2000 });
      disposers.set(store, dispose);
      return store;
    },
    dispose: async (store) => {
      await disposers.get(store as RedisStore)!();
      disposers.delete(store as RedisStore);
    },
  });
}
