// cashet log [--func NAME] [--tag k=v|k]… [--status completed|failed] [--limit N]
import { InvalidInputError } from "../plumbing/errors.js";
import type { CommitStatus } from "../plumbing/commit.js";
import { checkTagFilters, parseWholeNumber } from "../plumbing/validate.js";
import { DEFAULT_LOG_LIMIT, log } from "../porcelain/log.js";
import { commitTable } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet log [--func NAME] [--tag k=v|k]… [--status completed|failed] [--limit N]

  What ran, newest first: short commit id, function, status, created, duration, output size
  and tags. Answered from the index.

  Options
    --func NAME       only runs of the function with this name
    --tag k=v | k     only commits with tag k set to v (or set at all); repeat to require more
    --status S        completed or failed
    -n, --limit N     at most N commits (default ${DEFAULT_LOG_LIMIT})
    --json            print the commits as a JSON array, newest first
${STORE_HELP}
`;

const command: Command = {
  summary: "list runs, newest first (filter by function, tag, status)",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      func: { type: "string" },
      tag: { type: "string", isMultiple: true },
      status: { type: "string" },
      limit: { type: "string", shortFlag: "n" },
    });
    positionals(cli.input, []);
    const { status } = cli.flags;
    if (status !== undefined && status !== "completed" && status !== "failed") {
      throw new InvalidInputError(`--status must be completed or failed, not "${status}"`);
    }
    const limit = parseWholeNumber(cli.flags.limit, "--limit", { min: 1 }) ?? DEFAULT_LOG_LIMIT;
    const tags = checkTagFilters(cli.flags.tag ?? [], "--tag");
    return withStore(cli.flags, false, async (store) => {
      const commits = await log(store, { func: cli.flags.func, status: status as CommitStatus | undefined, tags, limit });
      if (cli.flags.json) await outJson(commits);
      else await out(commitTable(commits));
      return 0;
    });
  },
};
export default command;
