// Error codes are one typed union: every code has its class, an exit code in the CLI's table and an
// HTTP status in the server's, and survives a process boundary as the class it left as.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EXIT, EXIT_BY_CODE } from "../../cmd/common.js";
import * as errors from "../../plumbing/errors.js";
import { CashetError, ERROR_CODES, errorFromCode, isErrorCode } from "../../plumbing/errors.js";
import { STATUS } from "../../porcelain/server/http.js";

test("the codes are distinct, and only they are codes", () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  for (const code of ERROR_CODES) assert.equal(isErrorCode(code), true, code);
  for (const other of ["ENOENT", "EACCES", "EPROTO", "LEVEL_IO_ERROR", "einvalid", "", 3, null, undefined]) assert.equal(isErrorCode(other), false, String(other));
});

test("every code has an exit code of SPEC §5 (4: gave up waiting) and nothing else does", () => {
  assert.deepEqual(Object.keys(EXIT_BY_CODE).sort(), [...ERROR_CODES].sort());
  const exits = new Set<number>(Object.values(EXIT));
  for (const code of ERROR_CODES) assert.ok(exits.has(EXIT_BY_CODE[code]), `${code} → ${EXIT_BY_CODE[code]}`);
  assert.equal(EXIT_BY_CODE.EINVALID, EXIT.usage);
  assert.equal(EXIT_BY_CODE.ETASK, EXIT.failed);
  assert.equal(EXIT_BY_CODE.ENOTFOUND, EXIT.failed);
  assert.equal(EXIT_BY_CODE.EAMBIGUOUS, EXIT.failed);
  for (const code of ["ECORRUPT", "EUNAVAILABLE", "EREADONLY", "EFULL"] as const) assert.equal(EXIT_BY_CODE[code], EXIT.store, code);
  assert.equal(EXIT_BY_CODE.EWAITTIMEOUT, EXIT.waited);
});

test("every code has an HTTP status of SPEC §7 and nothing else does", () => {
  assert.deepEqual(Object.keys(STATUS).sort(), [...ERROR_CODES].sort());
  for (const code of ERROR_CODES) assert.ok([400, 401, 403, 404, 405, 409, 413, 422, 500, 503, 507].includes(STATUS[code]), `${code} → ${STATUS[code]}`);
  assert.equal(STATUS.EINVALID, 400);
  assert.equal(STATUS.ENOTFOUND, 404);
  assert.equal(STATUS.EUNAUTHORIZED, 401);
  assert.equal(STATUS.ETOOLARGE, 413);
  assert.equal(STATUS.ETASK, 422);
  assert.equal(STATUS.ECORRUPT, 500);
});

test("errorFromCode rebuilds each code as its own class, with the message it was sent", () => {
  const classes = new Set<Function>();
  for (const code of ERROR_CODES) {
    const err = errorFromCode(code, `what went wrong with ${code}`);
    assert.ok(err instanceof CashetError, code);
    assert.equal(err.code, code);
    assert.equal(err.message, `what went wrong with ${code}`);
    assert.equal(err.name, err.constructor.name);
    assert.notEqual(err.constructor, CashetError, `${code} has a class of its own`);
    classes.add(err.constructor);
  }
  assert.equal(classes.size, ERROR_CODES.length, "one class per code");
});

test("each class carries its code, and errorFromCode gives back that class", () => {
  const made: CashetError[] = [
    new errors.InvalidInputError("m"),
    new errors.NotFoundError("m"),
    new errors.AmbiguousIdError("ab", ["ab1", "ab2"]),
    new errors.CorruptObjectError("a".repeat(64), "m"),
    new errors.StoreUnavailableError("m"),
    new errors.StoreReadOnlyError("m"),
    new errors.StoreFullError("m"),
    new errors.ClaimLostError("k"),
    new errors.WaitTimeoutError("m", null, 1),
    new errors.TaskError("m", "c", new Error("m")),
    new errors.TaskTimeoutError(1),
    new errors.UnsupportedError("gc"),
    new errors.UnauthorizedError("m"),
    new errors.ForbiddenError("m"),
    new errors.TooLargeError("m"),
    new errors.ConflictError("m"),
    new errors.MissingObjectError("m"),
    new errors.MethodNotAllowedError("m"),
    new errors.InternalError("m"),
  ];
  assert.deepEqual(made.map((e) => e.code).sort(), [...ERROR_CODES].sort());
  for (const err of made) {
    const rebuilt = errorFromCode(err.code, err.message);
    assert.equal(rebuilt.constructor, err.constructor, err.code);
    assert.equal(rebuilt.message, err.message);
  }
});
