// cashet stats
import { stats } from "../porcelain/stats.js";
import { parse, positionals, withStore, out, outJson, table, formatBytes, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet stats

  Commits (total, completed, failed), blobs (count, bytes on disk, inline) and where the store is.

  Options
    --json        print {"totalCommits","completedCommits","failedCommits","storedObjects",
                  "diskBytes","blobObjects","blobBytes","inlineObjects","inlineBytes","kind","location"}
${STORE_HELP}
`;

const command: Command = {
  summary: "counts of commits and blobs, and the store's size",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    positionals(cli.input, []);
    return withStore(cli.flags, false, async (store) => {
      const s = await stats(store);
      if (cli.flags.json) {
        await outJson(s);
        return 0;
      }
      await out(
        table([
          ["store", `${s.location} (${s.kind})`],
          ["commits", `${s.totalCommits} (${s.completedCommits} completed, ${s.failedCommits} failed)`],
          ["blobs", `${s.blobObjects} (${formatBytes(s.blobBytes)} on disk)`],
          ["inline blobs", `${s.inlineObjects} (${formatBytes(s.inlineBytes)})`],
          ["total", `${s.storedObjects} objects, ${formatBytes(s.diskBytes)}`],
        ]),
      );
      return 0;
    });
  },
};
export default command;
