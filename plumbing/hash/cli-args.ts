// Arguments as a shell gives them (SPEC §5): each is JSON when it parses as JSON, else a string;
// `@path` is file(path), keyed by the file's content; `@@x` is the literal string `@x`.
// `--args-json '<array>'` gives them all at once. Used by `run` and `hash-args`.
import { InvalidInputError } from "../errors.js";
import { file } from "./file-arg.js";

/** The call arguments for positional shell words, or for one `--args-json` array. */
export function argsFromCli(words: readonly string[], argsJson?: string): unknown[] {
  if (argsJson !== undefined) {
    if (words.length) throw new InvalidInputError("give arguments either as words or with --args-json, not both");
    let parsed: unknown;
    try {
      parsed = JSON.parse(argsJson);
    } catch (err) {
      throw new InvalidInputError(`--args-json is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new InvalidInputError("--args-json must be a JSON array");
    return parsed;
  }
  return words.map(argFromWord);
}

function argFromWord(word: string): unknown {
  if (word.startsWith("@@")) return word.slice(1);
  if (word.startsWith("@")) {
    if (word.length === 1) throw new InvalidInputError(`"@" names no file (use @path, or @@ for a literal @)`);
    return file(word.slice(1));
  }
  try {
    return JSON.parse(word);
  } catch {
    return word;
  }
}
