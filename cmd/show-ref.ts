// cashet show-ref [prefix]
import { showRef } from "../plumbing/commands/refs.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet show-ref [prefix]

  Lists refs ("<commit id> <name>"), optionally only those whose name starts with prefix
  (for example fp/ or pin/). Exits 1 when none match.

  Options
    --json        print [{"name","id"}, …]
${STORE_HELP}
`;

const command: Command = {
  summary: "list refs (fp/<fingerprint>, pin/<name>)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [prefix] = positionals(cli.input, ["prefix"], 1);
    return withStore(cli.flags, false, async (store) => {
      const refs = await showRef(store, prefix ?? "");
      if (cli.flags.json) await outJson(refs);
      else await out(refs.map((r) => `${r.id} ${r.name}\n`).join(""));
      return refs.length || cli.flags.json ? 0 : 1;
    });
  },
};
export default command;
