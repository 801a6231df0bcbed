// The cold-process workload's child: start, import cashet, 1000 hits of a warmed store, exit.
// `node dist/bench/cold-hits.js <store dir>`.
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { twice } from "./tasks.js";

const store = new FsStore(process.argv[2]!, { create: false });
const client = new Client({ store });
let misses = 0;
for (let i = 0; i < 1000; i++) if (!(await client.submit(twice, i)).cached) misses++;
await client.close();
if (misses) throw new Error(`${misses} of 1000 calls were not hits`);
