// cashet gc [--older-than DURATION] [--max-size SIZE] [--dry-run]
import { parseDuration, parseSize } from "../plumbing/validate.js";
import { gc } from "../porcelain/gc.js";
import { parse, positionals, withStore, out, outJson, formatBytes, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";
import { progress } from "./progress.js";

const HELP = `
  Usage: cashet gc [--older-than DURATION] [--max-size SIZE] [--dry-run]

  Removes commits whose TTL expired, commits not accessed within DURATION, and then — with
  --max-size — the least recently used commits until the store is at most SIZE; then the blobs no
  commit references (unless written or used within the last hour). Pinned commits and commits of
  a running call are never removed. Prints a line per removed commit and a summary.

  Options
    --older-than DURATION   evict what was not accessed for this long: 45s, 90m, 12h, 7d (default 30d)
    --max-size SIZE         then evict least recently used until the store fits: 1000, 200KiB, 500MB, 1GiB
    --dry-run               change nothing; print what would be removed
    --json                  print {"removed":[{"id","reason"}],"commits","blobs","bytes","dryRun"}
${STORE_HELP}

  Examples
    cashet gc --older-than 7d
    cashet gc --max-size 1GiB --dry-run
`;

const command: Command = {
  summary: "evict expired, stale and least-recently-used commits; remove unused blobs",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      olderThan: { type: "string" }, // no default here: a bare --older-than must be an error
      maxSize: { type: "string" },
      dryRun: { type: "boolean", default: false },
    });
    positionals(cli.input, []);
    const olderThan = parseDuration(cli.flags.olderThan, "--older-than");
    const maxSize = parseSize(cli.flags.maxSize, "--max-size");
    return withStore(cli.flags, false, async (store) => {
      const bar = progress(cli.flags.json);
      let r;
      try {
        r = await gc(store, { olderThan, maxSize, dryRun: cli.flags.dryRun, onProgress: bar.update });
      } finally {
        bar.stop();
      }
      if (cli.flags.json) {
        await outJson(r);
        return 0;
      }
      const verb = r.dryRun ? "would remove" : "removed";
      let text = r.removed.map((c) => `${verb} ${c.id.slice(0, 12)} (${c.reason})\n`).join("");
      const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
      text += `${verb} ${plural(r.commits, "commit")} and ${plural(r.blobs, "blob")}; ${r.dryRun ? "would free" : "freed"} ${formatBytes(r.bytes)}\n`;
      await out(text);
      return 0;
    });
  },
};
export default command;
