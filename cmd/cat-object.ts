// cashet cat-object [-t|-s] <id>
import { catObject } from "../plumbing/commands/cat-object.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet cat-object [-t | -s] <id>

  Prints an object's content, verified: a blob's raw bytes, or a commit's stored JSON.
  <id> is a full id or a unique prefix of at least 4 hex characters.

  Options
    -t, --type    print the object's kind (blob or commit) instead
    -s, --size    print its size in bytes instead
    --json        print {"id","kind","size","inline"} instead
${STORE_HELP}
`;

const command: Command = {
  summary: "print an object's content (blob bytes or commit JSON)",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      type: { type: "boolean", shortFlag: "t", default: false },
      size: { type: "boolean", shortFlag: "s", default: false },
    });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      const obj = await catObject(store, id!);
      const inline = obj.kind === "blob" && obj.inline;
      if (cli.flags.json) await outJson({ id: obj.id, kind: obj.kind, size: obj.size, inline });
      else if (cli.flags.type) await out(`${obj.kind}\n`);
      else if (cli.flags.size) await out(`${obj.size}\n`);
      else await out(obj.bytes);
      return 0;
    });
  },
};
export default command;
