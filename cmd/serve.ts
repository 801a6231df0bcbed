// cashet serve [--host H] [--port N] [--token T] [--read-token T] [--tasks file.ts] [--insecure]
import { resolve } from "node:path";
import { InvalidInputError } from "../plumbing/errors.js";
import { openStore } from "../plumbing/backends/open.js";
import { loadTaskModule } from "../porcelain/exec/load-export.js";
import { fileTask } from "../porcelain/task.js";
import { parseWholeNumber } from "../plumbing/validate.js";
import { isLoopback, serve } from "../porcelain/server/serve.js";
import { EXIT, parse, positionals, STORE_FLAGS, STORE_HELP, type Command } from "./common.js";

const HELP = `
  Usage: cashet serve [--host 127.0.0.1] [--port 8000] [--token T] [--read-token T] [--tasks file.ts]

  Serves the store over HTTP (JSON): POST /submit runs a task registered with --tasks (its
  exported functions, by name) and answers like run --json; GET /result/:id, /commit/:id,
  /history/:id, /diff/:a/:b, /log?func=&tag=&status=&limit=, /stats; POST /gc; GET /healthz.
  No request can make the server run code it sends: only registered tasks run.

  Options
    --host HOST        the address to listen on (default 127.0.0.1)
    --port N           default 8000; 0 for any free port (the URL is printed)
    --token T          require "Authorization: Bearer T" on every endpoint but /healthz
                       (default $CASHET_TOKEN)
    --read-token T     a second token that may only read (GET and HEAD)
    --tasks FILE       register FILE's exported functions as tasks
    --insecure         listen on a non-loopback address without a token (refused otherwise)
${STORE_HELP}
  SIGTERM or Ctrl-C stops taking requests and lets those in flight finish.
`;

const command: Command = {
  summary: "serve the store and registered tasks over HTTP (Koa)",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8000" },
      token: { type: "string" },
      readToken: { type: "string" },
      tasks: { type: "string" },
      insecure: { type: "boolean", default: false },
    });
    positionals(cli.input, []);
    const port = parseWholeNumber(cli.flags.port, "--port", { min: 0, max: 65535 });
    const token = cli.flags.token ?? process.env.CASHET_TOKEN;
    if (!token && !isLoopback(cli.flags.host) && !cli.flags.insecure) {
      throw new InvalidInputError(`refusing to serve on ${cli.flags.host} without a token: anyone who reaches it could run tasks (give --token, or --insecure)`);
    }
    // The registered tasks: the module's exported functions, known before any request comes.
    const registered = new Map<string, string>();
    if (cli.flags.tasks) {
      const file = resolve(cli.flags.tasks);
      for (const name of await loadTaskModule(file)) registered.set(name, file);
    }
    const store = await openStore({ dir: cli.flags.store, redis: cli.flags.redis, remote: cli.flags.remote, create: true });
    const listening = await serve({
      store,
      host: cli.flags.host,
      port,
      ...(token ? { token } : {}),
      ...(cli.flags.readToken ? { readToken: cli.flags.readToken } : {}),
      tasks: async (name, args) => {
        const file = registered.get(name);
        return file ? fileTask({ file, exportName: name, args }) : null;
      },
    });
    process.stderr.write(
      `cashet serve: ${listening.url} (${registered.size} task${registered.size === 1 ? "" : "s"}${token ? ", token required" : ", no token: loopback only"})\n`,
    );
    await new Promise<void>((done) => {
      process.once("SIGTERM", () => done());
      process.once("SIGINT", () => done());
    });
    await listening.close();
    await store.close();
    return EXIT.ok;
  },
};
export default command;
