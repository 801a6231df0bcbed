// cashet hash-fn <file>[#export] [--explain]
import { hashExportedFunction, type FunctionHash } from "../plumbing/hash/function.js";
import { parse, positionals, out, outJson, splitTarget, table, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet hash-fn <file>[#export] [--explain]

  Prints the hash of a function: its code (formatting, comments and types do not count) and
  everything it uses — helpers and constants of its module, the top-level statements that can
  change them, source imports followed into their files (workspace packages, #imports and
  tsconfig paths too), the version and lockfile integrity of every installed package it imports,
  and the tsconfig options its TypeScript is compiled with. The default export when #export is
  omitted. This is the function half of the cache key of \`cashet run\`.

  Options
    --explain     list every component that went into the hash, and what the key cannot see
                  (environment variables, clocks, randomness, files read by path)
    --json        print {"hash","name","file","components":[{"kind","key","name","file","hash","integrity"}],
                  "warnings","untracked"}
`;

const command: Command = {
  summary: "print a function's hash (--explain: what went into it)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...JSON_FLAG, explain: { type: "boolean", default: false } });
    const [target] = positionals(cli.input, ["file[#export]"]);
    const { file, exportName } = splitTarget(target!);
    const result = hashExportedFunction(file, exportName);
    for (const w of result.warnings) process.stderr.write(`cashet: warning: ${w}\n`);
    if (cli.flags.json) {
      await outJson(result);
    } else if (cli.flags.explain) {
      const untracked = result.untracked.length
        ? `not in the key (read when it runs; pass such inputs as arguments):\n${result.untracked.map((u) => `  ${u}\n`).join("")}`
        : "";
      await out(`${result.hash}  ${exportName} in ${file}\n` + table(result.components.map(componentRow)) + untracked);
    } else {
      await out(`${result.hash}\n`);
    }
    return 0;
  },
};
/** One row of --explain: kind, what, and the hash (a package's version and integrity). */
function componentRow(c: FunctionHash["components"][number]): string[] {
  const what = c.file ? `${c.file}#${c.name}` : c.name;
  if (c.kind === "package") return [c.kind, what, `@${c.hash}${c.integrity ? ` ${c.integrity.slice(0, 20)}…` : ""}`];
  return [c.kind, what, c.hash.slice(0, 16)];
}

export default command;
