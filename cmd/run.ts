// cashet run <file>[#export] [args…]
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { InvalidInputError } from "../plumbing/errors.js";
import { redisUrl } from "../plumbing/backends/open.js";
import { answerJson, runFile, type Answer } from "../porcelain/call.js";
import type { QueueExecutorOptions } from "../porcelain/exec/queue.js";
import { formatWait, TaskError, TaskTimeoutError, type RunOptions } from "../porcelain/run.js";
import type { ClaimInfo } from "../plumbing/store.js";
import { parseSeconds, parseTags, parseWholeNumber } from "../plumbing/validate.js";
import type * as Progress from "./progress.js";
import { reportTaskError, writeResult } from "./get.js";
import { EXIT, parse, outJson, splitCall, splitTarget, STORE_FLAGS, STORE_HELP, JSON_FLAG, type CallFlags, type Command } from "./common.js";

const HELP = `
  Usage: cashet run <file>[#export] [args…]

  Calls the function exported as #export (the default export when omitted) from a .js/.mjs/.cjs
  or .ts/.mts/.cts/.tsx file, through the cache: a hit prints the stored result without even
  importing the file. Each argument is JSON when it parses as JSON, else a string; @path is a
  file argument (keyed by its contents; the function receives the path); @@x is the literal @x.

  stdout is the result only: a string as its text, a Buffer/Uint8Array as its raw bytes,
  anything else as one line of JSON — so $(cashet run …) and > out.json work. On a TTY, one
  status line goes to stderr (hit or ran, the commit, the time, and why a miss missed:
  \`— helper scale (helpers.ts) changed\`), and while another process runs this very call, a
  line saying which (pid, host, for how long).

  Options
    --args-json '<array>'  all arguments as one JSON array (instead of words)
    --force                run even if cached, and make the new result the head
    --no-cache             always run; record the run under a fingerprint of its own
    --tag k=v              metadata, not part of the key (repeatable)
    --retries N            extra attempts after a failure (exponential backoff)
    --timeout SECONDS      an attempt that runs longer fails (fractions allowed); in this process
                           synchronous code cannot be interrupted: it fails when it returns late
    --ttl SECONDS          the result stays valid this long
    --no-track             record nothing the task reads (files, environment variables): a
                           later change to them is then not seen, and the call stays a hit
    --wait-timeout SECONDS give up (exit 4) after waiting this long for another process that
                           runs this very call (default: wait as long as it lives)
    -o, --output FILE      write the result to FILE (atomically) and print nothing
    --queue[=NAME]         run it on a \`cashet worker\` (BullMQ on the Redis store) instead of
                           here, from queue NAME (default cashet). A name only ever follows =:
                           the next word is never taken for one. The module is named relative
                           to the working directory. Untaken after 3 s: one line on stderr
    --queue-timeout SECONDS
                           with --queue: give up (exit 4) when no worker has taken the call
                           within this long; the call is taken off the queue
    --explain              print on stderr why it missed (as \`cashet explain\` says it), or
                           which run a hit served
    --json                 print {"commit","output","cached","durationMs","result","reason"}:
                           output is the result's blob id; result the value as JSON (a
                           Buffer/Uint8Array as a base64 string, undefined as null, BigInt as a
                           string); reason why it missed (null for a hit)
${STORE_HELP}

  Exit codes: 0 success; 1 the task failed (its error and stack on stderr) — also when this call
  waited for another process's run of it, which failed; 2 bad input (missing file or export,
  unparseable argument, bad flag value); 3 store unreachable; 4 gave up waiting (--wait-timeout,
  --queue-timeout).
`;

const FLAGS = {
  ...STORE_FLAGS,
  ...JSON_FLAG,
  force: { type: "boolean", default: false },
  cache: { type: "boolean", default: true },
  tag: { type: "string", isMultiple: true },
  retries: { type: "string" },
  timeout: { type: "string" },
  ttl: { type: "string" },
  waitTimeout: { type: "string" },
  output: { type: "string", shortFlag: "o" },
  argsJson: { type: "string" },
  queue: { type: "string" }, // a bare --queue reaches parse() as --queue= (see queueFlag)
  queueTimeout: { type: "string" },
  explain: { type: "boolean", default: false },
  track: { type: "boolean", default: true },
} as const;

const command: Command = {
  summary: "run a function through the cache and print its result",
  async run(argv) {
    const { flags, target, words } = splitCall(argv, CALL_FLAGS);
    const cli = parse(flags.map(queueFlag), HELP, FLAGS);
    if (target === undefined) throw new InvalidInputError("missing file[#export] (see --help)");
    const { file, exportName } = splitTarget(target);
    const options: RunOptions = {
      force: cli.flags.force,
      cache: cli.flags.cache,
      tags: parseTags(cli.flags.tag ?? [], "--tag"),
      retries: parseWholeNumber(cli.flags.retries, "--retries"),
      timeout: parseSeconds(cli.flags.timeout, "--timeout"),
      ttl: parseSeconds(cli.flags.ttl, "--ttl"),
      track: cli.flags.track,
      waitTimeout: parseSeconds(cli.flags.waitTimeout, "--wait-timeout"),
      onWait: showWait,
      // why a miss missed: for the status line (a terminal), --json's reason, --explain
      explain: cli.flags.explain || cli.flags.json || process.stderr.isTTY === true,
    };
    const queueTimeout = parseSeconds(cli.flags.queueTimeout, "--queue-timeout");
    if (queueTimeout !== undefined && cli.flags.queue === undefined) throw new InvalidInputError("--queue-timeout is for a call run with --queue");
    if (cli.flags.queue !== undefined && !redisUrl(cli.flags.redis)) throw new InvalidInputError("--queue needs the Redis store the workers use (--redis URL or CASHET_REDIS)");
    const queue: QueueExecutorOptions | undefined =
      cli.flags.queue === undefined
        ? undefined
        : {
            ...(cli.flags.queue ? { queue: cli.flags.queue } : {}),
            ...(queueTimeout !== undefined ? { queueTimeout } : {}),
            onQueueWait: ({ queue: name }) => {
              process.stderr.write(`cashet: waiting for a worker on queue "${name}" (start one with: cashet worker --queue ${name}, on the same Redis and project)\n`);
            },
          };
    let answer: Answer;
    try {
      answer = await runFile(
        { file, exportName, words, argsJson: cli.flags.argsJson },
        { ...options, store: { dir: cli.flags.store, redis: cli.flags.redis, remote: cli.flags.remote }, ...(queue ? { queue } : {}) },
      );
    } catch (err) {
      // `run --queue gpu f.js` read the queue's name as the target: say how to name one
      if (err instanceof InvalidInputError && argv[argv.indexOf(target) - 1] === "--queue" && !existsSync(file)) throw new InvalidInputError(`${err.message} (to name a queue, write --queue=${target})`);
      if (!(err instanceof TaskError)) throw err;
      if (err.cause instanceof TaskTimeoutError) exitWhenDone(EXIT.failed); // the soft-timed-out task may still be running
      return reportTaskError(err);
    }
    const reason = answer.cached ? null : answer.explanation?.reason ?? null;
    if (cli.flags.json) await outJson({ ...(await answerJson(answer)), reason });
    else await writeResult(await answer.result.load(), { file: cli.flags.output });
    if (cli.flags.explain) {
      const { hitExplanation } = await import("../porcelain/explain.js");
      const { renderExplanation } = await import("./explain-format.js");
      process.stderr.write(renderExplanation(answer.explanation ?? hitExplanation(answer.commit)));
    }
    if (process.stderr.isTTY) {
      const why = reason ? ` — ${reason}` : "";
      process.stderr.write(`cashet: ${answer.cached ? "hit" : "ran"} ${answer.commit.id.slice(0, 12)} ${answer.commit.func.name} in ${formatMs(answer.durationMs)}${why}\n`);
    }
    exitWhenDone(EXIT.ok); // a task's leftover timers or sockets must not keep the command alive
    return EXIT.ok;
  },
};
export default command;

/** run's flags as splitCall tells them from the task's arguments. */
const CALL_FLAGS: CallFlags = {
  values: ["--redis", "--remote", "--store", "--tag", "--retries", "--timeout", "--ttl", "--wait-timeout", "--queue-timeout", "-o", "--output", "--args-json"],
  switches: ["--force", "--no-cache", "--cache", "--no-track", "--track", "--json", "--queue", "--explain", "--help"],
};

/**
 * `--queue` names its queue only as `--queue=NAME`: a bare `--queue` never takes the next word,
 * so `run --queue f.js 3` keeps f.js as the target. parse() sees it as an empty name: the default queue.
 */
function queueFlag(word: string): string {
  return word === "--queue" ? "--queue=" : word;
}

/**
 * While this call waits for another process's run of it: on a TTY, one line on stderr saying who
 * runs it and for how long, kept current each second and erased when the wait ends; nothing on a pipe.
 */
function showWait(holder: ClaimInfo | null): () => void {
  // loaded only when a call waits: a hit never pays for it
  const line = (createRequire(import.meta.url)("./progress.js") as typeof Progress).statusLine();
  const say = (): void =>
    line.set(
      holder
        ? `cashet: waiting for pid ${holder.pid} on ${holder.hostname}, running this call for ${formatWait(Date.now() - holder.since)}`
        : "cashet: waiting for another run of this call",
    );
  say();
  const timer = setInterval(say, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    line.clear();
  };
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Exits with `code` once this turn is over, if the event loop would otherwise stay alive. */
function exitWhenDone(code: number): void {
  setTimeout(() => process.exit(code), 0).unref();
}
