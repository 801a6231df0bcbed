// cashet unpin <name>
import { unpin } from "../porcelain/pin.js";
import { shortId } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet unpin <name>

  Removes the pin pin/<name>. The commit stays, but gc may now evict it. Exits 1 when there is
  no such pin.

  Options
    --json        print {"name","ref","id"}
${STORE_HELP}
`;

const command: Command = {
  summary: "remove a pin (the commit stays)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [name] = positionals(cli.input, ["name"]);
    return withStore(cli.flags, false, async (store) => {
      const r = await unpin(store, name!);
      await (cli.flags.json ? outJson(r) : out(`unpinned ${r.ref} (was ${shortId(r.id)})\n`));
      return 0;
    });
  },
};
export default command;
