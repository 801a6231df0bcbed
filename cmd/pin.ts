// cashet pin <id> <name>
import { pin } from "../porcelain/pin.js";
import { shortId } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet pin <id> <name>

  Names a commit with the ref pin/<name>. gc never evicts a pinned commit and clear keeps it
  (unless --all). Pinning an existing name moves it. A name is letters, digits, ".", "_", "-".

  Options
    --json        print {"name","ref","id","previous"}
${STORE_HELP}
`;

const command: Command = {
  summary: "pin a commit under a name (gc and clear keep it)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [id, name] = positionals(cli.input, ["id", "name"]);
    return withStore(cli.flags, false, async (store) => {
      const r = await pin(store, id!, name!);
      if (cli.flags.json) await outJson(r);
      else await out(`pinned ${shortId(r.id)} as ${r.ref}${r.previous && r.previous !== r.id ? ` (was ${shortId(r.previous)})` : ""}\n`);
      return 0;
    });
  },
};
export default command;
