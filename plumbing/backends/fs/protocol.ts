// The index daemon's wire format: one JSON object per line over a local socket.
// request  {id, op, args}            response {id, ok: true, value} | {id, ok: false, error}
import type { Socket } from "node:net";
import { createInterface } from "node:readline";

export interface Request {
  id: number;
  op: string;
  args: unknown[];
}

/** A failure's `code` is cashet's (an ErrorCode, rebuilt by errorFromCode) or a system error's (EACCES, LEVEL_IO_ERROR). */
export type Response =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: string; name: string; message: string } };

/** Calls `onMessage` for each JSON line arriving on `socket`; a malformed line is skipped. */
export function readMessages<T>(socket: Socket, onMessage: (msg: T) => void): void {
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (!line) return;
    let msg: T;
    try {
      msg = JSON.parse(line) as T;
    } catch {
      return;
    }
    onMessage(msg);
  });
  // readline re-emits socket errors; the socket's own 'close' handler deals with them
  lines.on("error", () => undefined);
}

/** Writes one message. */
export function send(socket: Socket, msg: Request | Response): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
}
