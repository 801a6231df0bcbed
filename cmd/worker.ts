// cashet worker [--concurrency N] [--queue NAME] [--root DIR]
import { InvalidInputError } from "../plumbing/errors.js";
import { openStore, redisUrl } from "../plumbing/backends/open.js";
import { parseWholeNumber } from "../plumbing/validate.js";
import type { JobReport } from "../porcelain/exec/queue.js";
import { EXIT, parse, positionals, STORE_FLAGS, STORE_HELP, type Command } from "./common.js";

const HELP = `
  Usage: cashet worker [--concurrency N] [--queue NAME] [--root DIR]

  Takes calls queued by \`cashet run --queue\` or a Client with a QueueExecutor (BullMQ on the
  Redis store) and runs them through the normal run path on that store: a call already cached
  is answered from the cache, and claims make each call run once across all workers. Start any
  number, on any machines with the same code. A worker only runs module exports of the project
  under --root; jobs name code, they never carry any. SIGTERM or Ctrl-C finishes the running
  calls and stops; a worker killed outright loses its calls to the others within ≈ 2.5 s: its
  job lock ($CASHET_WORKER_LOCK_MS, default 2000 ms) plus the stalled check (a quarter of the
  lock, 0.25–1 s), or its claims' ttl ($CASHET_CLAIM_TTL_MS) if that is longer.

  One line on stderr per call taken: its function and argument count, ran / hit / failed, the
  time on this worker and the commit — \`cashet worker: train(3 args) ran 1.24 s 1f5bab80c2d4\`.

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
    const lockMs = parseWholeNumber(process.env.CASHET_WORKER_LOCK_MS || undefined, "CASHET_WORKER_LOCK_MS", { min: 300 });
    const store = await openStore({ redis: url });
    const { startWorker } = await import("../porcelain/exec/queue.js");
    const w = await startWorker(store, {
      redis: url,
      concurrency,
      ...(cli.flags.queue ? { queue: cli.flags.queue } : {}),
      ...(cli.flags.root ? { root: cli.flags.root } : {}),
      ...(lockMs !== undefined ? { lockMs } : {}),
      onJob: (job) => process.stderr.write(`${jobLine(job)}\n`),
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

/** `cashet worker: train(3 args) ran 1.24 s 1f5bab80c2d4`: one job, as the log shows it. */
function jobLine(job: JobReport): string {
  const call = `${job.name}(${job.args} arg${job.args === 1 ? "" : "s"})`;
  const ms = job.durationMs < 1000 ? `${Math.round(job.durationMs)} ms` : `${(job.durationMs / 1000).toFixed(2)} s`;
  const commit = job.commit ? ` ${job.commit.slice(0, 12)}` : "";
  // A job BullMQ delivered again (its worker died or lost its lock); a hit then may be the commit of its earlier take.
  const earlier = job.outcome === "hit" && !job.cached ? " (delivered again: its earlier take ran it)" : job.again ? " (delivered again)" : "";
  const error = job.outcome === "failed" ? `: ${job.error?.split("\n")[0] ?? "failed"}` : "";
  return `cashet worker: ${call} ${job.outcome} ${ms}${commit}${earlier}${error}`;
}
