// cashet clear [--all]
import { clear } from "../porcelain/clear.js";
import { parse, positionals, withStore, out, outJson, formatBytes, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet clear [--all]

  Removes every commit and every blob. Pinned commits (and the blobs they use) are kept unless
  --all is given, which removes the pins too. Prints what was removed.

  Options
    --all         also remove the pins and the commits they point at
    --json        print {"commits","blobs","refs","bytes","kept"}
${STORE_HELP}
`;

const command: Command = {
  summary: "remove all commits and blobs (pins only with --all)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, all: { type: "boolean", default: false } });
    positionals(cli.input, []);
    return withStore(cli.flags, false, async (store) => {
      const r = await clear(store, { all: cli.flags.all });
      if (cli.flags.json) {
        await outJson(r);
        return 0;
      }
      let text = `removed ${r.commits} commit${r.commits === 1 ? "" : "s"}, ${r.blobs} blob${r.blobs === 1 ? "" : "s"} and ${r.refs} ref${r.refs === 1 ? "" : "s"}; freed ${formatBytes(r.bytes)}\n`;
      if (r.kept) text += `kept ${r.kept} pinned commit${r.kept === 1 ? "" : "s"} (clear --all removes them)\n`;
      await out(text);
      return 0;
    });
  },
};
export default command;
