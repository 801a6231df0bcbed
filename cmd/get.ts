// cashet get <id> [-o FILE]
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { InvalidInputError } from "../plumbing/errors.js";
import { get, resultBytes, resultJson } from "../porcelain/get.js";
import { TaskError } from "../porcelain/run.js";
import { EXIT, parse, positionals, withStore, out, outJson, STORE_FLAGS, STORE_HELP, JSON_FLAG, type Command } from "./common.js";

const HELP = `
  Usage: cashet get <id> [-o FILE]

  Prints the result of a commit exactly as \`cashet run\` printed it: a Buffer/Uint8Array as its
  raw bytes, a string as its text, anything else as JSON (indented only on a TTY).
  <id> is a full id or a unique prefix (≥ 4 hex characters). A failed commit exits 1 with
  its recorded error.

  Options
    -o, --output FILE  write the result to FILE (atomically) instead of stdout
    --json             print {"result": …} (bytes as a base64 string)
${STORE_HELP}
`;

const command: Command = {
  summary: "print the result of a commit (-o FILE: write it to a file)",
  async run(argv) {
    const cli = parse(argv, HELP, { ...STORE_FLAGS, ...JSON_FLAG, output: { type: "string", shortFlag: "o" } });
    const [id] = positionals(cli.input, ["id"]);
    return withStore(cli.flags, false, async (store) => {
      let value: unknown;
      try {
        ({ value } = await get(store, id!));
      } catch (err) {
        if (err instanceof TaskError) return reportTaskError(err);
        throw err;
      }
      if (cli.flags.json) await outJson({ result: resultJson(value) });
      else await writeResult(value, { file: cli.flags.output, pretty: process.stdout.isTTY === true });
      return EXIT.ok;
    });
  },
};
export default command;

/** Writes a result to `file` (atomically) or stdout, encoded as run and get both write it. */
export async function writeResult(value: unknown, options: { file?: string | undefined; pretty?: boolean }): Promise<void> {
  if (options.file === undefined) return out(resultBytes(value, { pretty: options.pretty ?? false }));
  // Written beside the target and renamed: a reader (make, a pipeline) never sees half a file.
  const tmp = join(dirname(options.file), `.${basename(options.file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, resultBytes(value));
    await rename(tmp, options.file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new InvalidInputError(`cannot write ${options.file}: ${(err as Error).message}`);
  }
}

/** A failed task: one `cashet:` line, then the task's own error and stack. Exit 1. */
export function reportTaskError(err: TaskError): number {
  const cause = err.cause as Error | undefined;
  process.stderr.write(`cashet: ${err.message} (commit ${err.commit.slice(0, 12)})\n`);
  if (cause?.stack) process.stderr.write(`${cause.stack}\n`);
  return EXIT.failed;
}
