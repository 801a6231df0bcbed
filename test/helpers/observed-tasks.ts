// Tasks for the observed-inputs tests: module exports (the worker pool loads them by file and
// export), each reading its inputs through one API, by the path it is given.
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../lib/client.js";

export function readSync(path: string): string {
  return readFileSync(path, "utf8");
}

export async function readPromise(path: string): Promise<string> {
  return readFile(path, "utf8");
}

export async function readStream(path: string): Promise<string> {
  let text = "";
  for await (const chunk of createReadStream(path, "utf8")) text += chunk as string;
  return text;
}

export function listDir(path: string): string {
  return readdirSync(path).sort().join(",");
}

export function readEnv(name: string): string | null {
  return process.env[name] ?? null;
}

export function ifExists(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "none";
}

/** Reads its file between pauses, so that two calls running at once interleave their reads. */
export async function readBetweenPauses(path: string, ms: number): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  const text = await readFile(path, "utf8");
  await new Promise((r) => setTimeout(r, ms));
  return text;
}

/** Reads its input, then overwrites it: what it read is no longer there. */
export function readThenOverwrite(path: string): string {
  const text = readFileSync(path, "utf8");
  writeFileSync(path, `${text} (overwritten)`);
  return text;
}

/** Calls `readSync` through the cache itself: the file it reads is this call's input too. */
export async function readThroughInnerCall(storeDir: string, path: string): Promise<string> {
  const client = new Client({ storeDir, remote: false });
  try {
    return `inner: ${await (await client.submit(readSync, path)).load()}`;
  } finally {
    await client.close();
  }
}

/** Writes a scratch file in a directory of its own, reads it back and removes the directory. */
export function scratch(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cashet-scratch-"));
  try {
    writeFileSync(join(dir, "note.txt"), text);
    renameSync(join(dir, "note.txt"), join(dir, "kept.txt"));
    return readFileSync(join(dir, "kept.txt"), "utf8");
  } finally {
    rmSync(dir, { recursive: true });
  }
}
