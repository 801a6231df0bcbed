// cashet invalidate --tag k=v|k…
import { InvalidInputError } from "../plumbing/errors.js";
import { checkTagFilters } from "../plumbing/validate.js";
import { invalidate } from "../porcelain/invalidate.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet invalidate --tag k=v|k [--tag …]

  Removes every commit carrying all the given tags (k=v: tag k set to v; k: tag k set at all),
  as rm removes one, so the next call recomputes. Pinned commits matching are removed too.
  Prints how many commits were removed.

  Options
    --tag k=v | k   required; repeat to require more tags
    --json          print {"removed"}
${STORE_HELP}
`;

const command: Command = {
  summary: "remove every commit with the given tags",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, tag: { type: "string", isMultiple: true } });
    positionals(cli.input, []);
    const tags = checkTagFilters(cli.flags.tag ?? [], "--tag");
    if (tags.length === 0) throw new InvalidInputError("invalidate needs at least one --tag k=v or --tag k (see --help)");
    return withStore(cli.flags, false, async (store) => {
      const removed = await invalidate(store, { tags });
      await (cli.flags.json ? outJson({ removed }) : out(`removed ${removed} commit${removed === 1 ? "" : "s"}\n`));
      return 0;
    });
  },
};
export default command;
