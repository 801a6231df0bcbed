// Runs the built CLI as a user would, capturing stdout (as bytes), stderr and the exit code.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../cmd/cli.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** stdout as utf8 text. */
  out: string;
}

/** Runs `cashet <args>` with optional stdin and extra environment. */
export function cashet(args: string[], options: { stdin?: Uint8Array | string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return exec(process.execPath, [CLI, ...args], { ...options, env: { CASHET_DAEMON_IDLE_MS: "3000", ...options.env } });
}

/** Runs `command <args>` (in `cwd`, with extra environment and stdin), capturing what it prints and its exit code. */
export function exec(command: string, args: string[], options: { cwd?: string; stdin?: Uint8Array | string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout, stderr: err, out: stdout.toString("utf8") });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** What `cashet run --json` printed, and how it ended. */
export interface RunJsonResult {
  code: number | null;
  json: { cached: boolean; result: unknown; commit: string } | null;
  err: string;
}

/** `cashet run --json <args>` in a child process, kept at hand (to kill or stop it) while it runs. */
export function spawnRunJson(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<RunJsonResult> } {
  const child = spawn(process.execPath, [CLI, "run", "--json", ...args], { cwd: options.cwd, env: { ...process.env, ...options.env } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (err += d));
  const done = new Promise<RunJsonResult>((resolve) => child.on("close", (code) => resolve({ code, json: out ? (JSON.parse(out) as RunJsonResult["json"]) : null, err })));
  return { child, done };
}

/** `cashet serve <args>` in a child process; resolves with the URL it prints once listening. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d;
      const m = /^cashet serve: (http:\/\/\S+) \(/m.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`cashet serve exited ${code}: ${err}`)));
  });
  return { url, child };
}
