// Flag parsing shared by every command: what a user typing flags gets, and the one-line errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "../../cmd/common.js";
import { InvalidInputError } from "../../plumbing/errors.js";

const FLAGS = {
  store: { type: "string" },
  json: { type: "boolean", default: false },
  cache: { type: "boolean", default: true },
  tag: { type: "string", isMultiple: true },
  output: { type: "string", shortFlag: "o" },
  argsJson: { type: "string" },
} as const;
const p = (...argv: string[]) => parse(argv, "\n  Usage: test\n", FLAGS);

test("flags in kebab-case fill camelCase keys; defaults apply; positionals keep their order", () => {
  const r = p("a", "--args-json", "[1]", "b", "--store=/s", "-o", "out.bin", "--tag", "x=1", "--tag=y=2");
  assert.deepEqual(r.input, ["a", "b"]);
  assert.deepEqual(r.flags, { argsJson: "[1]", store: "/s", output: "out.bin", tag: ["x=1", "y=2"], json: false, cache: true });
});

test("--no-<switch> turns a switch off; a switch given a value is refused", () => {
  assert.equal(p("--no-cache").flags.cache, false);
  assert.equal(p("--json").flags.json, true);
  assert.throws(() => p("--json=yes"), /--json takes no value/);
  assert.throws(() => p("--no-store"), /unknown flag --no-store/);
});

test("unknown flags, missing values and a flag taken as a value are one-line usage errors", () => {
  for (const [argv, message] of [
    [["--nope"], /^unknown flag --nope \(see --help\)$/],
    [["-z"], /^unknown flag -z/],
    [["--store"], /^--store needs a value$/],
    [["--store", "--json"], /^--store needs a value \(got the flag --json\)$/],
    [["--store="], null],
  ] as const) {
    if (message === null) {
      assert.equal(p(...argv).flags.store, "", "an explicit empty value is the user's choice");
      continue;
    }
    assert.throws(() => p(...argv), (e: unknown) => e instanceof InvalidInputError && message.test(e.message) && !e.message.includes("\n"));
  }
});

test("after -- everything is a positional, flags included", () => {
  const r = p("--json", "--", "--store", "-o");
  assert.deepEqual(r.input, ["--store", "-o"]);
  assert.equal(r.flags.store, undefined);
});
