// `cashet hash-args`: arguments parsed as `cashet run` parses them, hashed as the library hashes them.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { hashArgs } from "../../plumbing/hash/args.js";
import { file } from "../../plumbing/hash/file-arg.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const hashOf = async (...words: string[]): Promise<string> => {
  const r = await cashet(["hash-args", ...words]);
  assert.equal(r.code, 0, r.stderr);
  return r.out.trim();
};

describe("cashet hash-args", () => {
  const t = tempDir();
  after(() => t.remove());

  test("each word is JSON when it parses, else a string; the CLI agrees with the library", async () => {
    assert.equal(await hashOf("1", '"1"', "abc", "[1,2]"), await hashArgs([1, "1", "abc", [1, 2]]));
    assert.notEqual(await hashOf("1"), await hashOf('"1"'));
    assert.equal(await hashOf('{"a":1,"b":2}'), await hashOf('{"b":2,"a":1}'), "key order does not matter");
    assert.equal(await hashOf("--args-json", '[1,"1","abc",[1,2]]'), await hashOf("1", '"1"', "abc", "[1,2]"));
    assert.equal(await hashOf("@@x"), await hashOf("--args-json", '["@x"]'), "@@ escapes a literal @");
  });

  test("@path is keyed by the file's content, not its path", async () => {
    const a = join(t.dir, "a.csv");
    const b = join(t.dir, "b.csv");
    writeFileSync(a, "x,y\n1,2\n");
    writeFileSync(b, "x,y\n1,2\n");
    const first = await hashOf(`@${a}`);
    assert.equal(first, await hashOf(`@${b}`));
    assert.equal(first, await hashArgs([file(b)]));
    writeFileSync(a, "x,y\n1,3\n");
    assert.notEqual(await hashOf(`@${a}`), first, "an edited input file is a new key");
    assert.notEqual(await hashOf(a), first, "without @ the path is just a string");
  });

  test("bad arguments exit 2 with one line", async () => {
    for (const args of [["@" + join(t.dir, "missing.csv")], ["--args-json", "{x"], ["--args-json", '{"a":1}'], ["1", "--args-json", "[1]"], ["@"]]) {
      const r = await cashet(["hash-args", ...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /^cashet: [^\n]+\n$/);
      assert.equal(r.out, "");
    }
  });

  test("--json gives the hash and a short preview", async () => {
    const r = await cashet(["hash-args", "--json", "0.01", "train"]);
    const json = JSON.parse(r.out);
    assert.equal(json.hash, await hashArgs([0.01, "train"]));
    assert.match(json.preview, /0\.01/);
  });
});
