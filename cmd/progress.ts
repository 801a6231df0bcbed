// Progress bars and status lines for long commands (gc, export, import; run while it waits): on
// stderr, only when it is a terminal and the output is not --json, so pipes, logs and scripts never see one.
import { createRequire } from "node:module";
import type { SingleBar } from "cli-progress";

export interface Progress {
  /** `done` of `total` in phase `label`. */
  update(label: string, done: number, total: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** A progress bar on stderr when it is a TTY (and `quiet` is false); otherwise one that prints nothing. */
export function progress(quiet = false): Progress {
  if (quiet || !process.stderr.isTTY) return NONE;
  // Loaded only here (≈ 17 ms): commands on a pipe never pay for it.
  const { SingleBar, Presets } = createRequire(import.meta.url)("cli-progress") as typeof import("cli-progress");
  let bar: SingleBar | null = null;
  let phase = "";
  return {
    update(label, done, total) {
      if (label !== phase) {
        bar?.stop();
        phase = label;
        bar = new SingleBar(
          { stream: process.stderr, format: `${label.padEnd(8)} {bar} {value}/{total}`, hideCursor: true, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(total, done);
        return;
      }
      bar?.setTotal(total);
      bar?.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export interface StatusLine {
  /** Shows `text` as the line, replacing what it said. */
  set(text: string): void;
  /** Erases the line. */
  clear(): void;
}

const NO_LINE: StatusLine = { set() {}, clear() {} };

/** One line on stderr rewritten in place when it is a TTY; otherwise one that prints nothing. */
export function statusLine(): StatusLine {
  if (!process.stderr.isTTY) return NO_LINE;
  let shown = false;
  return {
    set(text) {
      const width = process.stderr.columns || 80;
      process.stderr.write(`\r\x1b[K${text.length >= width ? `${text.slice(0, width - 2)}…` : text}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write("\r\x1b[K");
      shown = false;
    },
  };
}
