// cashet cat-commit <id>
import { catObject, publicCommit } from "../plumbing/commands/cat-object.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet cat-commit <id>

  Prints a commit (verified) as JSON: fingerprint, function, args, output, status, error,
  parent, times, tags, provenance. <id> is a full id or a unique prefix (≥ 4 hex characters).

  Options
    --json        one line of JSON (default: indented)
${STORE_HELP}
`;

const command: Command = {
  summary: "print a commit as JSON",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      const obj = await catObject(store, id!, "commit");
      const commit = obj.kind === "commit" ? publicCommit(obj.commit) : null;
      await (cli.flags.json ? outJson(commit) : out(`${JSON.stringify(commit, null, 2)}\n`));
      return 0;
    });
  },
};
export default command;
