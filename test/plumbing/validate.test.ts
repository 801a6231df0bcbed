// The one module of input checks the CLI, the library and the server share: what each validator
// takes, and that each refusal is one line naming the field as its caller spelled it and the value.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../plumbing/errors.js";
import {
  checkBoolean,
  checkDuration,
  checkSeconds,
  checkSize,
  checkTagFilters,
  checkTags,
  parseDuration,
  parseSeconds,
  parseSize,
  parseTags,
  parseWholeNumber,
  wholeNumber,
} from "../../plumbing/validate.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `fn` throws an InvalidInputError whose message is one line, equal to `message` or matching it. */
function refuses(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `not an InvalidInputError: ${String(err)}`);
    assert.doesNotMatch(err.message, /\n/);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe("tags", () => {
  test("parseTags takes k=v words, a value may hold more =", () => {
    assert.deepEqual(parseTags([], "--tag"), {});
    assert.deepEqual(parseTags(["env=ci", "expr=a=b", "empty="], "--tag"), { env: "ci", expr: "a=b", empty: "" });
  });

  test("parseTags refuses a word without a key, naming the flag and the word", () => {
    refuses(() => parseTags(["env"], "--tag"), '--tag must be key=value, not "env"');
    refuses(() => parseTags(["=ci"], "--tag"), '--tag must be key=value, not "=ci"');
  });

  test("checkTags takes a record of strings; undefined passes", () => {
    assert.equal(checkTags(undefined, "tags"), undefined);
    assert.deepEqual(checkTags({ env: "ci" }, "tags"), { env: "ci" });
  });

  test("checkTags refuses what is not a record of strings, with non-empty keys without =", () => {
    refuses(() => checkTags(["env=ci"], "tags"), "tags must be an object of strings, not an array");
    refuses(() => checkTags("env=ci", '"tags"'), '"tags" must be an object of strings, not "env=ci"');
    refuses(() => checkTags(null, "tags"), "tags must be an object of strings, not null");
    refuses(() => checkTags({ "": "x" }, "tags"), 'tags must be an object whose keys are non-empty and without "=", not ""');
    refuses(() => checkTags({ "a=b": "x" }, "tags"), 'tags must be an object whose keys are non-empty and without "=", not "a=b"');
    refuses(() => checkTags({ env: 3 }, '"tags"'), 'tag "env" in "tags" must have a string value, not 3');
  });

  test("checkTagFilters takes k=v and k, as a list or a record", () => {
    assert.deepEqual(checkTagFilters([], "--tag"), []);
    assert.deepEqual(checkTagFilters(["env=ci", "nightly", "k=a=b", "k="], "--tag"), ["env=ci", "nightly", "k=a=b", "k="]);
    assert.deepEqual(checkTagFilters({ env: "ci", os: "linux" }, "tags"), ["env=ci", "os=linux"]);
  });

  test("checkTagFilters refuses an empty key, a NUL and what is neither list nor record", () => {
    refuses(() => checkTagFilters(["=ci"], "--tag"), '--tag must be k=v or k, not "=ci"');
    refuses(() => checkTagFilters([""], "tag"), 'tag must be k=v or k, not ""');
    refuses(() => checkTagFilters(["a\0b"], "tags"), 'tags must be k=v or k, not "a\\u0000b"');
    refuses(() => checkTagFilters([3], "tags"), "tags must be k=v or k, not 3");
    refuses(() => checkTagFilters({ env: 1 }, "tags"), 'tag "env" in tags must have a string value, not 1');
    refuses(() => checkTagFilters("env=ci", "tags"), 'tags must be a list of "k=v" / "k" or an object of strings, not "env=ci"');
  });
});

describe("whole numbers", () => {
  test("wholeNumber takes safe integers in range; undefined passes", () => {
    assert.equal(wholeNumber(undefined, "retries"), undefined);
    assert.equal(wholeNumber(0, "retries"), 0);
    assert.equal(wholeNumber(3, "retries"), 3);
    assert.equal(wholeNumber(1, "maxWorkers", { min: 1 }), 1);
    assert.equal(wholeNumber(65535, "port", { min: 0, max: 65535 }), 65535);
  });

  test("wholeNumber refuses fractions, negatives, non-numbers and what is out of range", () => {
    refuses(() => wholeNumber(1.5, "retries"), "retries must be a whole number ≥ 0, not 1.5");
    refuses(() => wholeNumber(-1, "retries"), "retries must be a whole number ≥ 0, not -1");
    refuses(() => wholeNumber("3", '"retries"'), '"retries" must be a whole number ≥ 0, not "3"');
    refuses(() => wholeNumber(NaN, "retries"), "retries must be a whole number ≥ 0, not NaN");
    refuses(() => wholeNumber(2 ** 53, "retries"), `retries must be a whole number ≥ 0, not ${2 ** 53}`);
    refuses(() => wholeNumber(0, "maxWorkers", { min: 1 }), "maxWorkers must be a positive whole number, not 0");
    refuses(() => wholeNumber(1, "size", { min: 2 }), "size must be a whole number ≥ 2, not 1");
    refuses(() => wholeNumber(65536, "port", { min: 0, max: 65535 }), "port must be 0–65535, not 65536");
  });

  test("parseWholeNumber takes digits only; undefined passes", () => {
    assert.equal(parseWholeNumber(undefined, "--retries"), undefined);
    assert.equal(parseWholeNumber("0", "--retries"), 0);
    assert.equal(parseWholeNumber("20", "--limit", { min: 1 }), 20);
    assert.equal(parseWholeNumber(" 3 ", "--retries"), 3);
  });

  test("parseWholeNumber refuses signs, fractions, exponents, hex and what is out of range", () => {
    for (const bad of ["", "-1", "+1", "1.5", "1.0", "1e3", "0x10", "lots", "99999999999999999999"]) {
      refuses(() => parseWholeNumber(bad, "--retries"), `--retries must be a whole number ≥ 0, not ${JSON.stringify(bad)}`);
    }
    refuses(() => parseWholeNumber("lots", "limit", { min: 1 }), 'limit must be a positive whole number, not "lots"');
    refuses(() => parseWholeNumber("0", "--limit", { min: 1 }), '--limit must be a positive whole number, not "0"');
    refuses(() => parseWholeNumber("70000", "--port", { min: 0, max: 65535 }), '--port must be 0–65535, not "70000"');
    refuses(() => parseWholeNumber("x".repeat(100), "limit"), `limit must be a whole number ≥ 0, not "${"x".repeat(40)}…"`);
  });
});

describe("seconds", () => {
  test("checkSeconds takes positive finite numbers, fractions too; undefined passes", () => {
    assert.equal(checkSeconds(undefined, "timeout"), undefined);
    assert.equal(checkSeconds(2.5, "timeout"), 2.5);
    assert.equal(checkSeconds(0.001, "ttl"), 0.001);
  });

  test("checkSeconds refuses zero, negatives, infinity and non-numbers", () => {
    refuses(() => checkSeconds(0, "waitTimeout"), "waitTimeout must be a positive number of seconds, not 0");
    refuses(() => checkSeconds(-1, "timeout"), "timeout must be a positive number of seconds, not -1");
    refuses(() => checkSeconds(Infinity, "ttl"), "ttl must be a positive number of seconds, not Infinity");
    refuses(() => checkSeconds("5", '"timeout"'), '"timeout" must be a positive number of seconds, not "5"');
    refuses(() => checkSeconds(null, '"ttl"'), '"ttl" must be a positive number of seconds, not null');
  });

  test("parseSeconds takes a positive number word; undefined passes", () => {
    assert.equal(parseSeconds(undefined, "--timeout"), undefined);
    assert.equal(parseSeconds("2.5", "--timeout"), 2.5);
    assert.equal(parseSeconds("30", "--ttl"), 30);
  });

  test("parseSeconds refuses zero, negatives, blanks and words", () => {
    for (const bad of ["0", "-1", "", " ", "soon", "Infinity", "1s"]) {
      refuses(() => parseSeconds(bad, "--wait-timeout"), `--wait-timeout must be a positive number of seconds, not ${JSON.stringify(bad)}`);
    }
  });
});

describe("durations", () => {
  test("parseDuration takes s, m, h and d, fractions allowed; undefined passes", () => {
    assert.equal(parseDuration(undefined, "--older-than"), undefined);
    assert.equal(parseDuration("45s", "--older-than"), 45_000);
    assert.equal(parseDuration("90m", "--older-than"), 90 * 60_000);
    assert.equal(parseDuration("12h", "--older-than"), 12 * HOUR);
    assert.equal(parseDuration("7d", "--older-than"), 7 * DAY);
    assert.equal(parseDuration("1.5h", "--older-than"), 1.5 * HOUR);
    assert.equal(parseDuration(" 7d ", "--older-than"), 7 * DAY);
  });

  test("parseDuration refuses anything else, naming the flag and the text", () => {
    for (const bad of ["", "7", "d", "7 days", "1w", "-1h", "1e3s", "1.h", "7D"]) {
      refuses(() => parseDuration(bad, "--older-than"), `--older-than must be a number and s, m, h or d (45s, 90m, 12h, 7d), not ${JSON.stringify(bad)}`);
    }
  });

  test("checkDuration takes a duration's text or ms ≥ 0", () => {
    assert.equal(checkDuration("7d", "olderThan"), 7 * DAY);
    assert.equal(checkDuration(0, "olderThan"), 0);
    assert.equal(checkDuration(1500, "olderThan"), 1500);
  });

  test("checkDuration refuses negative, infinite and other values", () => {
    refuses(() => checkDuration(-1, "olderThan"), "olderThan must be a duration (45s, 90m, 12h, 7d) or a number of ms ≥ 0, not -1");
    refuses(() => checkDuration(Infinity, "olderThan"), /^olderThan must be .* not Infinity$/);
    refuses(() => checkDuration({}, '"olderThan"'), /^"olderThan" must be .* not an object$/);
    refuses(() => checkDuration("1w", '"olderThan"'), /^"olderThan" must be a number and s, m, h or d .* not "1w"$/);
  });
});

describe("sizes", () => {
  test("parseSize takes bytes, SI and binary units; undefined passes", () => {
    assert.equal(parseSize(undefined, "--max-size"), undefined);
    assert.equal(parseSize("1000", "--max-size"), 1000);
    assert.equal(parseSize("500MB", "--max-size"), 500_000_000);
    assert.equal(parseSize("1GiB", "--max-size"), 2 ** 30);
    assert.equal(parseSize("200KiB", "--max-size"), 200 * 1024);
    assert.equal(parseSize("1.5kb", "--max-size"), 1500);
    assert.equal(parseSize("2 MB", "--max-size"), 2_000_000);
    assert.equal(parseSize("10b", "--max-size"), 10);
  });

  test("parseSize refuses anything else, naming the flag and the text", () => {
    for (const bad of ["", "MB", "10XB", "-1", "1 2MB", "0x10", "1e3"]) {
      refuses(() => parseSize(bad, "--max-size"), `--max-size must be bytes or a number and a unit (1000, 200KiB, 500MB, 1GiB), not ${JSON.stringify(bad)}`);
    }
  });

  test("checkSize takes a size's text or bytes ≥ 0, a fraction rounded down", () => {
    assert.equal(checkSize("1GiB", "maxSize"), 2 ** 30);
    assert.equal(checkSize(0, "maxSize"), 0);
    assert.equal(checkSize(10.7, "maxSize"), 10);
  });

  test("checkSize refuses negative, infinite and other values", () => {
    refuses(() => checkSize(-1, "maxSize"), "maxSize must be a size (1000, 200KiB, 500MB, 1GiB) or a number of bytes ≥ 0, not -1");
    refuses(() => checkSize(true, '"maxSize"'), /^"maxSize" must be .* not true$/);
    refuses(() => checkSize("10XB", "maxSize"), /^maxSize must be bytes or a number and a unit .* not "10XB"$/);
  });
});

describe("switches", () => {
  test("checkBoolean takes true and false; undefined passes", () => {
    assert.equal(checkBoolean(true, '"force"'), true);
    assert.equal(checkBoolean(false, '"force"'), false);
    assert.equal(checkBoolean(undefined, '"force"'), undefined);
  });

  test("checkBoolean refuses anything else", () => {
    refuses(() => checkBoolean("true", '"force"'), '"force" must be true or false, not "true"');
    refuses(() => checkBoolean(1, '"cache"'), '"cache" must be true or false, not 1');
  });
});
