import { MemoryStore } from "../../plumbing/store/memory.js";
import { storeConformance } from "./conformance.js";

storeConformance("MemoryStore", {
  open: async () => new MemoryStore(),
  dispose: (store) => store.close(),
});
