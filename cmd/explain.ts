// cashet explain <file>[#export] [args…]
import { InvalidInputError } from "../plumbing/errors.js";
import { explainFile } from "../porcelain/explain.js";
import { renderExplanation } from "./explain-format.js";
import { EXIT, out, outJson, parse, splitCall, splitTarget, STORE_FLAGS, STORE_HELP, JSON_FLAG, type CallFlags, type Command } from "./common.js";

const HELP = `
  Usage: cashet explain <file>[#export] [args…]

  Whether \`cashet run\` with the same target and arguments would hit, and if not, why: the call's
  own run expired or failed, or what differs from the closest of the function's newest runs (same
  name, same module) — component by component: its source (a unified diff), each helper,
  constant or class (by name and file), each package (version or lockfile integrity), the
  tsconfig options, each argument by its path (args[1].opts.lr: 0.01 → 0.02; previews only), and
  the files and environment variables a run read. When nothing of the function was ever stored,
  it says so and names the nearest stored function name. Nothing is run, imported or created.
  Arguments are taken as \`cashet run\` takes them.

  Options
    --args-json '<array>'  all arguments as one JSON array (instead of words)
    --json                 print the explanation: {"hit","func","fingerprint","commit","compared",
                           "runs","differences":[{"kind","name","file","change","was","now","diff"}],
                           "suggestion","reason"}
${STORE_HELP}

  Exit codes: 0 hit or miss alike; 2 bad input (as run); 3 store unreachable (or none there).
`;

const FLAGS = { ...STORE_FLAGS, ...JSON_FLAG, argsJson: { type: "string" } } as const;

const CALL_FLAGS: CallFlags = { values: ["--redis", "--remote", "--store", "--args-json"], switches: ["--json", "--help"] };

const command: Command = {
  summary: "whether a call would hit, and if not what changed, component by component",
  async run(argv) {
    const { flags, target, words } = splitCall(argv, CALL_FLAGS);
    const cli = parse(flags, HELP, FLAGS);
    if (target === undefined) throw new InvalidInputError("missing file[#export] (see --help)");
    const { file, exportName } = splitTarget(target);
    const explanation = await explainFile(
      { file, exportName, words, argsJson: cli.flags.argsJson },
      { store: { dir: cli.flags.store, redis: cli.flags.redis, remote: cli.flags.remote } },
    );
    if (cli.flags.json) await outJson(explanation);
    else await out(renderExplanation(explanation));
    return EXIT.ok;
  },
};
export default command;
