import { MemoryStore } from "../../../plumbing/backends/memory.js";
import { storeConformance } from "../store-conformance.js";

storeConformance("MemoryStore", {
  open: async () => new MemoryStore(),
  dispose: (store) => store.close(),
});
