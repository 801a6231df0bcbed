// cashet fsck [--repair] [--reindex]
import { fsck } from "../plumbing/commands/fsck.js";
import { parse, positionals, withStore, out, outJson, table, EXIT, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet fsck [--repair] [--reindex]

  Verifies every object (hash and format), every ref, every commit's blobs and the index.
  Exits 3 when problems remain, 0 when the store is sound.

  Options
    --repair      remove corrupt and dangling objects, fix refs and the index
    --reindex     rebuild the index from the objects first
    --json        print {"objects","commits","blobs","refs","problems":[…],"remaining"}
${STORE_HELP}
`;

const command: Command = {
  summary: "verify the store; --repair removes what is corrupt or dangling",
  async run(argv) {
    const cli = parse(argv, HELP, {
      ...STORE_FLAGS,
      ...JSON_FLAG,
      repair: { type: "boolean", default: false },
      reindex: { type: "boolean", default: false },
    });
    positionals(cli.input, []);
    return withStore(cli.flags, false, async (store) => {
      const result = await fsck(store, { repair: cli.flags.repair, reindex: cli.flags.reindex });
      if (cli.flags.json) {
        await outJson(result);
      } else {
        let text = `checked ${result.objects} objects (${result.commits} commits, ${result.blobs} blobs) and ${result.refs} refs\n`;
        if (result.problems.length) {
          text += table(result.problems.map((p) => [p.kind, p.subject.length === 64 ? p.subject.slice(0, 12) : p.subject, p.detail, p.repair ? `→ ${p.repair}` : ""]));
          text += result.remaining ? `${result.remaining} problem(s) remain; run \`cashet fsck --repair\`\n` : "all repaired\n";
        } else {
          text += "no problems\n";
        }
        await out(text);
      }
      return result.remaining ? EXIT.store : EXIT.ok;
    });
  },
};
export default command;
