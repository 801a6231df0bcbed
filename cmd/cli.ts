#!/usr/bin/env node
// The cashet command line: picks the command, loads only its module (a cache hit must not pay
// for the rest), runs it, and turns errors into one line on stderr and an exit code.
import { readFileSync } from "node:fs";
import { InvalidInputError } from "../plumbing/errors.js";
import { EXIT, report, STORE_FLAGS, type Command } from "./common.js";

const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  "hash-object": () => import("./hash-object.js"),
  "cat-object": () => import("./cat-object.js"),
  "cat-commit": () => import("./cat-commit.js"),
  "show-ref": () => import("./show-ref.js"),
  "update-ref": () => import("./update-ref.js"),
  "rev-list": () => import("./rev-list.js"),
  "hash-fn": () => import("./hash-fn.js"),
  "hash-args": () => import("./hash-args.js"),
  fsck: () => import("./fsck.js"),
  stats: () => import("./stats.js"),
  log: () => import("./log.js"),
  show: () => import("./show.js"),
  history: () => import("./history.js"),
  diff: () => import("./diff.js"),
  rm: () => import("./rm.js"),
  pin: () => import("./pin.js"),
  unpin: () => import("./unpin.js"),
  invalidate: () => import("./invalidate.js"),
  clear: () => import("./clear.js"),
  gc: () => import("./gc.js"),
  run: () => import("./run.js"),
  explain: () => import("./explain.js"),
  get: () => import("./get.js"),
  worker: () => import("./worker.js"),
  export: () => import("./export.js"),
  push: () => import("./push.js"),
  import: () => import("./import.js"),
  serve: () => import("./serve.js"),
};

async function usage(): Promise<string> {
  const lines = await Promise.all(
    Object.entries(COMMANDS).map(async ([name, load]) => `    ${name.padEnd(13)} ${(await load()).default.summary}`),
  );
  return `
  Usage: cashet [--store DIR | --redis URL] [--remote URL] <command> [args] [--json]

  Commands
${lines.join("\n")}

  Every command takes --help. The store is --store DIR, else $CASHET_DIR, else ./.cashet; the store
  flags (--store, --redis, --remote) may also come before the command.
  Exit codes: 0 success; 1 failed or nothing matched; 2 usage or bad input; 3 store unreachable or corrupt;
  4 run gave up waiting for another process running the same call (--wait-timeout).
`;
}

/**
 * The store flags given before the command (`cashet --store DIR log`), and what follows them. They
 * are the only flags every store-using command shares, so they are the only ones allowed there.
 */
function globalFlags(argv: string[]): { flags: string[]; after: string[] } {
  const known = Object.keys(STORE_FLAGS).map((k) => `--${k}`);
  const flags: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--help" || arg === "--version") break;
    const name = arg.split("=")[0]!;
    if (!known.includes(name)) throw new InvalidInputError(`unknown flag ${name} before the command (only ${known.join(", ")} may come first; see cashet --help)`);
    if (arg.includes("=")) {
      flags.push(arg);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || value === "" || value.startsWith("-")) throw new InvalidInputError(`${arg} needs a value`);
    flags.push(arg, value);
    i++;
  }
  return { flags, after: argv.slice(i) };
}

async function main(argv: string[]): Promise<number> {
  const global = globalFlags(argv);
  const [name, ...rest] = global.after;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(await usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-v") {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`cashet: unknown command "${name}" (see cashet --help)\n`);
    return EXIT.usage;
  }
  return (await load()).default.run([...global.flags, ...rest]);
}

// `cashet … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
