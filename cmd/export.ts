// cashet export <file> [--func NAME] [--tag k=v]… [--since DURATION] [--with-history]
import { exportArchive } from "../porcelain/transfer.js";
import { formatBytes, JSON_FLAG, out, outJson, parse, positionals, RUN_FILTER_FLAGS, runFilters, STORE_FLAGS, STORE_HELP, withStore, type Command } from "./common.js";
import { progress } from "./progress.js";

const HELP = `
  Usage: cashet export <file> [--func NAME] [--tag k=v|k]… [--since DURATION] [--with-history]

  Writes runs to an archive another store can import (a CI cache, another machine): the chosen
  commits, every object they need (outputs and arguments) and the refs on them. The format is
  chosen by the extension: .tar.gz, .tar.zst, .zip or .tar. It streams: memory does not grow
  with the archive. Prints what it wrote.

  Options
    --func NAME        only runs of this function
    --tag k=v | k      only runs with this tag (repeatable; all must match)
    --since DURATION   only runs created within this long (7d, 12h, 90m)
    --with-history     also the earlier runs each chosen run descends from
    --json             print {"commits","blobs","refs","bytes"}
${STORE_HELP}
`;

const command: Command = {
  summary: "write runs and what they need to a .tar.gz / .tar.zst / .zip archive",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      ...RUN_FILTER_FLAGS,
      withHistory: { type: "boolean", default: false },
    });
    const [file] = positionals(cli.input, ["file"]);
    return withStore(cli.flags, false, async (store) => {
      const bar = progress(cli.flags.json);
      let counts;
      try {
        counts = await exportArchive(store, file!, {
          ...runFilters(cli.flags),
          withHistory: cli.flags.withHistory,
          onProgress: (done, total) => bar.update("export", done, total),
        });
      } finally {
        bar.stop();
      }
      if (cli.flags.json) await outJson(counts);
      else await out(`exported ${counts.commits} commits, ${counts.blobs} blobs and ${counts.refs} refs (${formatBytes(counts.bytes)}) to ${file}\n`);
      return 0;
    });
  },
};
export default command;
