// cashet show <id>
import type { Commit } from "../plumbing/commit.js";
import { show } from "../porcelain/show.js";
import { formatDep, formatDuration, formatTags, formatTime } from "./commit-format.js";
import { parse, positionals, withStore, out, outJson, table, formatBytes, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet show <id>

  Everything in one commit — how a result was produced: the function (name, module, hash,
  source and the dependencies that went into its hash), the arguments, the output, the error of
  a failed run, the parent (the previous run of the same function and arguments), tags, TTL and
  provenance (cashet and Node versions, platform, host, the git commit of the task's file).
  <id> is a full id or a unique prefix (≥ 4 hex characters).

  Options
    --json        print the commit as JSON
${STORE_HELP}
`;

const command: Command = {
  summary: "everything in one commit: source, dependencies, args, output, provenance",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      const commit = await show(store, id!);
      await (cli.flags.json ? outJson(commit) : out(render(commit)));
      return 0;
    });
  },
};
export default command;

function render(c: Commit): string {
  const attempts = `${c.attempts} attempt${c.attempts === 1 ? "" : "s"}`;
  const rows: string[][] = [
    ["commit", c.id],
    ["function", `${c.func.name} (${c.func.module})`],
    ["func hash", c.func.hash],
    ["fingerprint", c.fingerprint],
    ["status", c.status],
    ["created", `${formatTime(c.createdAt)} (took ${formatDuration(c.durationMs)}, ${attempts})`],
    ["args", `${c.args.preview} (hash ${c.args.hash.slice(0, 12)}${c.args.blob ? `, blob ${c.args.blob}` : ""})`],
    ["output", c.output ? `${c.output.preview} (${formatBytes(c.output.size)}, ${c.output.serializer}, blob ${c.output.hash})` : "none"],
    ["parent", c.parent ?? "none"],
    ["tags", formatTags(c.tags) || "none"],
    ["expires", expiry(c)],
  ];
  let text = table(rows);
  if (c.error) {
    // A stack starts with "Name: message" already; say it once.
    const head = `${c.error.name}: ${c.error.message}`;
    text += section("error", c.error.stack.startsWith(head) ? c.error.stack : `${head}\n${c.error.stack}`);
  }
  text += section("dependencies", c.func.deps.length ? c.func.deps.map(formatDep).join("\n") : "none recorded");
  const prov = Object.entries(c.provenance);
  text += section("provenance", prov.length ? table(prov.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) : "none");
  text += section("source", c.func.source);
  return text;
}

function section(title: string, body: string): string {
  const lines = body.replace(/\n+$/, "").split("\n");
  return `\n${title}\n${lines.map((l) => (l ? `    ${l}` : "")).join("\n")}\n`;
}

function expiry(c: Commit): string {
  if (c.expiresAt === null) return "never";
  const ttl = (Date.parse(c.expiresAt) - Date.parse(c.createdAt)) / 1000;
  const past = Date.parse(c.expiresAt) <= Date.now() ? ", expired" : "";
  return `${formatTime(c.expiresAt)} (ttl ${Number(ttl.toFixed(3))} s${past})`;
}
