// cashet rm <id>
import { NotFoundError } from "../plumbing/errors.js";
import { rm, type RmResult } from "../porcelain/rm.js";
import { shortId } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, formatBytes, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet rm <id>

  Removes a commit: its index entry, the blobs no other commit uses, and the commit itself.
  A ref on it (the fp/ head of its function and arguments, or a pin) moves back to its parent —
  the previous run — or is deleted when there is none. Exits 1 when no commit matches.

  Options
    --json        print {"commit","blobs":[…],"refs":[{"name","to"}],"bytes"}
${STORE_HELP}
`;

const command: Command = {
  summary: "remove a commit and the blobs only it used",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      const result = await rm(store, id!);
      if (!result) throw new NotFoundError(`no commit matches "${id}" (try \`cashet log\`)`);
      await (cli.flags.json ? outJson(result) : out(render(result)));
      return 0;
    });
  },
};
export default command;

function render(r: RmResult): string {
  let text = `removed commit ${r.commit}\n`;
  for (const b of r.blobs) text += `removed blob ${b}\n`;
  for (const ref of r.refs) text += ref.to ? `moved ${ref.name} to ${shortId(ref.to)}\n` : `deleted ${ref.name}\n`;
  return `${text}freed ${formatBytes(r.bytes)}\n`;
}
