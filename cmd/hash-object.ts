// cashet hash-object [--write] <file|->
import { hashObject, openInput } from "../plumbing/commands/hash-object.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet hash-object [--write] <file|->

  Prints the blob id (sha256) of a file's bytes, or of stdin with "-".

  Options
    -w, --write   also store the bytes as a blob
    --json        print {"id","size","written"}
${STORE_HELP}
`;

const command: Command = {
  summary: "print (and with --write, store) the blob id of a file",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, write: { type: "boolean", shortFlag: "w", default: false } });
    const [file] = positionals(cli.input, ["file (or - for stdin)"]);
    // The input is opened before the store, so a bad path creates no store.
    const source = file === "-" ? process.stdin : await openInput(file!);
    const result = cli.flags.write
      ? await withStore(cli.flags, true, (store) => hashObject({ source, write: true, store }))
      : await hashObject({ source });
    await (cli.flags.json ? outJson(result) : out(`${result.id}\n`));
    return 0;
  },
};
export default command;
