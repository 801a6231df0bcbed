// cashet history <id>
import { history } from "../porcelain/history.js";
import { commitTable } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet history <id>

  Every run of the same function and arguments as commit <id>, newest first: the chain from the
  current head through each run's parent, plus earlier runs the index still knows that the chain
  no longer reaches (after an rm in the middle). The OUTPUT column shows when a result changed.

  Options
    --json        print the commits as a JSON array, newest first
${STORE_HELP}
`;

const command: Command = {
  summary: "every run of one function with the same arguments, newest first",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      const commits = await history(store, id!);
      if (cli.flags.json) await outJson(commits);
      else await out(commitTable(commits, { outputs: true }));
      return 0;
    });
  },
};
export default command;
