// cashet diff <a> <b>
import type { Commit } from "../plumbing/commit.js";
import { canonicalJson } from "../plumbing/canonical.js";
import { diff, type CommitDiff } from "../porcelain/diff.js";
import { show } from "../porcelain/show.js";
import { formatDep, formatTime, shortId } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, table, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet diff <a> <b>

  What differs between two commits: the function (its hash covers its code and everything it
  uses), the dependency lists, the arguments, the output and the status, then a unified diff of
  the two function sources when the function changed. Exits 0 whether or not they differ.

  Options
    --json        print {"a","b","funcChanged","argsChanged","depsChanged","outputChanged","sourceDiff"}
                  (sourceDiff is a unified diff, or null)
${STORE_HELP}
`;

const command: Command = {
  summary: "what differs between two runs, with a diff of the function source",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [a, b] = positionals(cli.input, ["a", "b"]);
    return withStore(cli.flags, false, async (store) => {
      const d = await diff(store, a!, b!);
      if (cli.flags.json) await outJson(d);
      else await out(render(d, await show(store, d.a), await show(store, d.b)));
      return 0;
    });
  },
};
export default command;

function render(d: CommitDiff, a: Commit, b: Commit): string {
  const mark = (changed: boolean): string => (changed ? "differs" : "same");
  const pair = (changed: boolean, x: string, y: string): string => (changed ? `${x} → ${y}` : x);
  const output = (c: Commit): string => (c.output ? shortId(c.output.hash) : "none");
  // Equal previews of different arguments (a preview is cut short) are told apart by hash.
  const args = (c: Commit): string => (a.args.preview === b.args.preview && d.argsChanged ? `${c.args.preview} (${shortId(c.args.hash)})` : c.args.preview);
  const statusChanged = a.status !== b.status;
  let text = table([
    ["a", shortId(a.id), a.func.name, formatTime(a.createdAt)],
    ["b", shortId(b.id), b.func.name, formatTime(b.createdAt)],
  ]);
  text += "\n" + table([
    ["function", mark(d.funcChanged), pair(d.funcChanged, `${a.func.name} ${shortId(a.func.hash)}`, `${b.func.name} ${shortId(b.func.hash)}`)],
    ["dependencies", mark(d.depsChanged), pair(d.depsChanged, `${a.func.deps.length}`, `${b.func.deps.length}`)],
    ["args", mark(d.argsChanged), pair(d.argsChanged, args(a), args(b))],
    ["output", mark(d.outputChanged), pair(d.outputChanged, output(a), output(b))],
    ["status", mark(statusChanged), pair(statusChanged, a.status, b.status)],
  ]);
  if (d.depsChanged) {
    // The dependencies only one side has: - only in a, + only in b.
    const keys = (c: Commit): string[] => c.func.deps.map((x) => canonicalJson(x));
    const [ka, kb] = [keys(a), keys(b)];
    const lines = [
      ...a.func.deps.filter((_x, i) => !kb.includes(ka[i]!)).map((x) => `- ${formatDep(x)}`),
      ...b.func.deps.filter((_x, i) => !ka.includes(kb[i]!)).map((x) => `+ ${formatDep(x)}`),
    ];
    if (lines.length) text += `\ndependencies\n${lines.join("\n")}\n`;
  }
  if (d.sourceDiff) text += `\n${d.sourceDiff}`;
  return text;
}
