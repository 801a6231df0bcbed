// cashet rev-list <id>
import { revList } from "../plumbing/commands/refs.js";
import { publicCommit } from "../plumbing/commands/cat-object.js";
import { parseWholeNumber } from "../plumbing/validate.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet rev-list <id>

  Lists a commit and its ancestors (earlier runs of the same function and arguments), newest
  first, one id per line.

  Options
    -n, --limit N   at most N commits
    --json          print the commits as a JSON array
${STORE_HELP}
`;

const command: Command = {
  summary: "list a commit and its parents, newest first",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, limit: { type: "string", shortFlag: "n" } });
    const [id] = positionals(cli.input, ["id"]);
    const limit = parseWholeNumber(cli.flags.limit, "--limit", { min: 1 });
    return withStore(cli.flags, false, async (store) => {
      const commits = await revList(store, id!, { limit });
      await (cli.flags.json ? outJson(commits.map(publicCommit)) : out(commits.map((c) => `${c.id}\n`).join("")));
      return 0;
    });
  },
};
export default command;
