// cashet run <file>[#export] [args…]
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { InvalidInputError } from "../plumbing/errors.js";
import { resultJson } from "../porcelain/get.js";
import { redisUrl, storeDir } from "../plumbing/backends/open.js";
import { fileTask, keepAnalysesIn } from "../porcelain/run-file.js";
import { run, formatWait, TaskError, TaskTimeoutError, decodeResult, type RunOptions, type RunResult } from "../porcelain/run.js";
import type { ClaimInfo } from "../plumbing/store.js";
import { parseSeconds } from "../plumbing/units.js";
import type * as Progress from "./progress.js";
import { reportTaskError, writeResult } from "./get.js";
import { splitTarget } from "./hash-fn.js";
import { EXIT, parse, withStore, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet run <file>[#export] [args…]

  Calls the function exported as #export (the default export when omitted) from a .js/.mjs/.cjs
  or .ts/.mts/.cts/.tsx file, through the cache: a hit prints the stored result without even
  importing the file. Each argument is JSON when it parses as JSON, else a string; @path is a
  file argument (keyed by its contents; the function receives the path); @@x is the literal @x.

  stdout is the result only: a string as its text, a Buffer/Uint8Array as its raw bytes,
  anything else as one line of JSON — so $(cashet run …) and > out.json work. On a TTY, one
  status line goes to stderr (hit or ran, the commit, the time), and while another process runs
  this very call, a line saying which (pid, host, for how long).

  Options
    --args-json '<array>'  all arguments as one JSON array (instead of words)
    --force                run even if cached, and make the new result the head
    --no-cache             always run; record the run under a fingerprint of its own
    --tag k=v              metadata, not part of the key (repeatable)
    --retries N            extra attempts after a failure (exponential backoff)
    --timeout SECONDS      give up on an attempt after this long (fractions allowed)
    --ttl SECONDS          the result stays valid this long
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
    --json                 print {"commit","output","cached","durationMs","result"}: output is
                           the result's blob id; result the value as JSON (a Buffer/Uint8Array
                           as a base64 string, undefined as null, BigInt as a string)
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
} as const;

const command: Command = {
  summary: "run a function through the cache and print its result",
  async run(argv) {
    const { before, target, rest } = splitArgv(argv);
    const after = flagsAfter(rest);
    const cli = parse([...before, ...after.flags].map(queueFlag), HELP, FLAGS);
    if (target === undefined) throw new InvalidInputError("missing file[#export] (see --help)");
    const words = after.words;
    const { file, exportName } = splitTarget(target);
    const options: RunOptions = {
      force: cli.flags.force,
      cache: cli.flags.cache,
      tags: parseTags(cli.flags.tag ?? []),
      retries: wholeNumber(cli.flags.retries, "--retries"),
      timeout: parseSeconds(cli.flags.timeout, "--timeout"),
      ttl: parseSeconds(cli.flags.ttl, "--ttl"),
      waitTimeout: parseSeconds(cli.flags.waitTimeout, "--wait-timeout"),
      onWait: showWait,
    };
    const queueTimeout = parseSeconds(cli.flags.queueTimeout, "--queue-timeout");
    if (queueTimeout !== undefined && cli.flags.queue === undefined) throw new InvalidInputError("--queue-timeout is for a call run with --queue");
    // Everything that can be refused is checked before the store is opened: bad input changes nothing.
    if (!redisUrl(cli.flags.redis)) keepAnalysesIn(storeDir(cli.flags.store));
    const task = await fileTask({ file, exportName, words, argsJson: cli.flags.argsJson }).catch((err: unknown) => {
      // `run --queue gpu f.js` read the queue's name as the target: say how to name one
      if (err instanceof InvalidInputError && before.at(-1) === "--queue" && !existsSync(file)) throw new InvalidInputError(`${err.message} (to name a queue, write --queue=${target})`);
      throw err;
    });
    let queue: import("../porcelain/exec/queue.js").QueueExecutor | undefined;
    if (cli.flags.queue !== undefined) {
      const url = redisUrl(cli.flags.redis);
      if (!url) throw new InvalidInputError("--queue needs the Redis store the workers use (--redis URL or CASHET_REDIS)");
      const { QueueExecutor } = await import("../porcelain/exec/queue.js");
      options.executor = queue = new QueueExecutor({
        redis: url,
        ...(cli.flags.queue ? { queue: cli.flags.queue } : {}),
        ...(queueTimeout !== undefined ? { queueTimeout } : {}),
        onQueueWait: ({ queue: name }) => {
          process.stderr.write(`cashet: waiting for a worker on queue "${name}" (start one with: cashet worker --queue ${name}, on the same Redis and project)\n`);
        },
      });
    }
    let result: RunResult;
    try {
      result = await withStore(cli.flags, true, (store) => run(store, task, options));
    } catch (err) {
      if (!(err instanceof TaskError)) throw err;
      if (err.cause instanceof TaskTimeoutError) exitWhenDone(EXIT.failed); // the soft-timed-out task may still be running
      return reportTaskError(err);
    } finally {
      await queue?.close(); // its connections would keep a failed or timed-out command alive
    }
    const value = "value" in result ? result.value : decodeResult(result.commit, result.bytes);
    if (cli.flags.json) {
      await outJson({ commit: result.commit.id, output: result.commit.output!.hash, cached: result.cached, durationMs: result.durationMs, result: resultJson(value) });
    } else {
      await writeResult(value, { file: cli.flags.output });
    }
    if (process.stderr.isTTY) {
      process.stderr.write(`cashet: ${result.cached ? "hit" : "ran"} ${result.commit.id.slice(0, 12)} ${result.commit.func.name} in ${formatMs(result.durationMs)}\n`);
    }
    exitWhenDone(EXIT.ok); // a task's leftover timers or sockets must not keep the command alive
    return EXIT.ok;
  },
};
export default command;

const VALUE_FLAGS = new Set(["--redis", "--remote", "--store", "--tag", "--retries", "--timeout", "--ttl", "--wait-timeout", "--queue-timeout", "-o", "--output", "--args-json"]);

/**
 * `--queue` names its queue only as `--queue=NAME`: a bare `--queue` never takes the next word,
 * so `run --queue f.js 3` keeps f.js as the target. parse() sees it as an empty name: the default queue.
 */
function queueFlag(word: string): string {
  return word === "--queue" ? "--queue=" : word;
}

/** The flags before the target (`run --force f.js …`), the target, and the words after it. */
function splitArgv(argv: string[]): { before: string[]; target: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (VALUE_FLAGS.has(w)) {
      i++; // its value
    } else if (w === "--") {
      return { before: argv.slice(0, i), target: argv[i + 1], rest: ["--", ...argv.slice(i + 2)] };
    } else if (!w.startsWith("-")) {
      return { before: argv.slice(0, i), target: w, rest: argv.slice(i + 1) };
    }
  }
  return { before: argv, target: undefined, rest: [] };
}

/**
 * The words after the target: cashet's own flags (so `run f.js 3 --force` works) and the task's
 * arguments. `--` ends flag parsing; a word like `-1` or `-x` that is not a cashet flag is an argument.
 */
function flagsAfter(rest: string[]): { flags: string[]; words: string[] } {
  const flags: string[] = [];
  const words: string[] = [];
  const known = new Set([...VALUE_FLAGS, "--force", "--no-cache", "--cache", "--json", "--queue", "--help"]);
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === "--") {
      words.push(...rest.slice(i + 1));
      break;
    }
    const name = w.includes("=") && w.startsWith("--") ? w.slice(0, w.indexOf("=")) : w;
    if (known.has(name)) {
      flags.push(w);
      if (VALUE_FLAGS.has(w) && i + 1 < rest.length) flags.push(rest[++i]!);
    } else if (/^--[a-z]/.test(w)) {
      flags.push(w); // an unknown flag: parse() refuses it with a usage error
    } else {
      words.push(w);
    }
  }
  return { flags, words };
}

function parseTags(given: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of given) {
    const eq = t.indexOf("=");
    if (eq <= 0) throw new InvalidInputError(`--tag "${t}" must be key=value`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return tags;
}

function wholeNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidInputError(`${flag} must be a whole number ≥ 0, not "${v}"`);
  return n;
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
