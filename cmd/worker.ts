// cashet worker [--concurrency N] [--queue NAME] [--root DIR]
import { InvalidInputError } from "../plumbing/errors.js";
import { openStore, redisUrl } from "../plumbing/backends/open.js";
import { parseWholeNumber } from "../plumbing/validate.js";
import { EXIT, parse, positionals, STORE_FLAGS, STORE_HELP, type Command } from "./common.js";

const HELP = `
  Usage: cashet worker [--concurrency N] [--queue NAME] [--root DIR]

  Takes calls queued by \`cashet run --queue\` or a Client with a QueueExecutor (BullMQ on the
  Redis store) and runs them through the normal run path on that store: a call already cached
  is answered from the cache, and claims make each call run once across all workers. Start any
  number, on any machines with the same code. A worker only runs module exports of the project
  under --root; jobs name code, they never carry any. SIGTERM or Ctrl-C finishes the running
  calls and stops; a worker killed outright loses its calls to the others.

  Options
    --concurrency N   calls run at once (default 1)
    --queue NAME      the queue (default cashet)
    --root DIR        the project root module paths are relative to (default: the working directory)
${STORE_HELP}
  Requires Redis: --redis URL or CASHET_REDIS.
`;

const command: Command = {
  summary: "run queued calls from the Redis store's queue (BullMQ)",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      concurrency: { type: "string" },
      queue: { type: "string" },
      root: { type: "string" },
    });
    positionals(cli.input, []);
    const url = redisUrl(cli.flags.redis);
    if (!url) throw new InvalidInputError("cashet worker needs the Redis store (--redis URL or CASHET_REDIS)");
    const concurrency = parseWholeNumber(cli.flags.concurrency, "--concurrency", { min: 1 }) ?? 1;
    const store = await openStore({ redis: url });
    const { startWorker } = await import("../porcelain/exec/queue.js");
    const w = await startWorker(store, {
      redis: url,
      concurrency,
      ...(cli.flags.queue ? { queue: cli.flags.queue } : {}),
      ...(cli.flags.root ? { root: cli.flags.root } : {}),
      ...(process.env.CASHET_WORKER_LOCK_MS ? { lockMs: Number(process.env.CASHET_WORKER_LOCK_MS) } : {}),
    });
    process.stderr.write(`cashet worker ${process.pid}: taking calls from queue ${cli.flags.queue ?? "cashet"} (concurrency ${concurrency})\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    await w.close();
    await store.close();
    return EXIT.ok;
  },
};
export default command;
