// cashet hash-args <arg…>
import { argsFromCli } from "../plumbing/hash/cli-args.js";
import { hashArgs } from "../plumbing/hash/args.js";
import { previewArgs } from "../plumbing/hash/preview.js";
import { parse, out, outJson, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet hash-args [arg…] [--args-json '<array>']

  Prints the hash of call arguments, given as \`cashet run\` takes them: each argument is JSON
  when it parses as JSON (1, "1", [1,2], {"a":1}, true, null), otherwise a string; @path is the
  file at path, keyed by its content; @@x is the literal string @x. This is the argument half of
  the cache key.

  Options
    --args-json '<array>'   all arguments as one JSON array
    --json                  print {"hash","preview"}
`;

const command: Command = {
  summary: "print the hash of call arguments (as `run` parses them)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...JSON_FLAG, argsJson: { type: "string" } });
    const args = argsFromCli(cli.input, cli.flags.argsJson);
    const hash = await hashArgs(args);
    await (cli.flags.json ? outJson({ hash, preview: previewArgs(args) }) : out(`${hash}\n`));
    return 0;
  },
};
export default command;
