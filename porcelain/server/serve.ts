// The HTTP server (SPEC §7): the porcelain over JSON with Koa (the app: app.ts), listening with the
// remote cache's hot path in front. It runs only tasks registered in the server process, by name;
// no request can make it run code the request carries.
import { createServer, type Server } from "node:http";
import type { Store } from "../../plumbing/store.js";
import { authorizer } from "./http.js";
import { answerHit, HitReader } from "./remote-cache.js";
import { watchTaskModules } from "../exec/load-export.js";
import type { RunOptions, TaskSpec } from "../run.js";

/** Makes the TaskSpec of registered task `name` with these arguments, or null when no task has that name. */
export type TaskResolver = (name: string, args: unknown[]) => Promise<TaskSpec | null>;

export interface ServeOptions {
  store: Store;
  /** The tasks `POST /submit` may run, by name. */
  tasks: TaskResolver;
  /** Options a registered task carries (`client.task(fn, { cache: false })`); a request's own win. */
  taskOptions?: (name: string) => RunOptions;
  /** Bearer token for every endpoint but /healthz (read-write). */
  token?: string;
  /** A second token that may only read (GET and HEAD). */
  readToken?: string;
  /** Largest JSON request body read, in bytes (default 1 MiB); 413 beyond, counted on the bytes actually read. */
  bodyLimit?: number;
  /** Largest object upload (`PUT /objects/:id`), in bytes (default 1 GiB). */
  objectLimit?: number;
}

export interface Listening {
  server: Server;
  url: string;
  /** Stops taking requests; in-flight ones finish. */
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0: any free one). */
export async function serve(options: ServeOptions & { host?: string; port?: number; requestTimeoutMs?: number }): Promise<Listening> {
  watchTaskModules(); // task files may change while the server runs
  const hits = new HitReader(options.store);
  const { createApp } = await import("./app.js"); // Koa: loaded only by a server
  const app = createApp(options, hits);
  const koa = app.callback();
  const check = authorizer(options.token, options.readToken);
  const requestTimeout = options.requestTimeoutMs ?? 300_000;
  const server = createServer(
    {
      requestTimeout, // a whole request (headers and body) must arrive within this: 408 and closed otherwise
      headersTimeout: Math.min(60_000, requestTimeout),
      // Node checks those timeouts this often (30 s by default, longer than a short timeout itself).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, requestTimeout / 4)),
    },
    (req, res) => {
      // The remote cache's hot path skips the middleware stack (≈ a third of a small hit's server
      // time): the same token check, the same answers, written directly. A request that carries a
      // body (which /hit never reads) takes the stack, which drains it (unreadBodies).
      const url = req.url ?? "";
      const bodyless = (req.headers["content-length"] ?? "0") === "0" && req.headers["transfer-encoding"] === undefined;
      if (req.method === "GET" && url.startsWith("/hit/fp/") && !url.includes("?") && bodyless) void answerHit(req, res, url.slice("/hit/fp/".length), hits, check, app);
      else void koa(req, res);
    },
  );
  server.listen(options.port ?? 8000, options.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const address = server.address() as { address: string; port: number };
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve, reject) => {
        // A connection kept alive after its last answer would hold close() for the keep-alive
        // timeout: drop each as soon as it is idle, while those in flight finish.
        const idle = setInterval(() => server.closeIdleConnections(), 25);
        server.close((err) => {
          clearInterval(idle);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
