// cashet update-ref <name> <id> | -d <name>
import { InvalidInputError } from "../plumbing/errors.js";
import { updateRef } from "../plumbing/commands/refs.js";
import { parse, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet update-ref <name> <commit-id>
         cashet update-ref -d <name>

  Points a ref (fp/<fingerprint> or pin/<name>) at a commit, atomically. With --old, a
  compare-and-swap: the ref moves only if it still holds that commit (exit 1 otherwise).

  Options
    -d, --delete    delete the ref
    --old ID        expected current commit ("" = the ref must not exist yet)
    --json          print {"name","id","updated"}
${STORE_HELP}
`;

const command: Command = {
  summary: "point a ref at a commit (atomic compare-and-swap with --old)",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      delete: { type: "boolean", shortFlag: "d", default: false },
      old: { type: "string" },
    });
    const want = cli.flags.delete ? 1 : 2;
    if (cli.input.length !== want) {
      throw new InvalidInputError(cli.flags.delete ? "update-ref -d takes exactly one ref name" : "update-ref takes a ref name and a commit id (see --help)");
    }
    const [name, target] = cli.input;
    return withStore(cli.flags, false, async (store) => {
      const result = await updateRef(store, name!, { target: cli.flags.delete ? null : target!, expected: cli.flags.old });
      if (cli.flags.json) await outJson(result);
      else if (!result.updated) process.stderr.write(`cashet: ${name} was not updated: it no longer holds ${cli.flags.old}\n`);
      return result.updated ? 0 : 1;
    });
  },
};
export default command;
