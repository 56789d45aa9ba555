import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isProblemCode,
  PROBLEM_CODES,
  PROBLEMS,
  problemCodeOfType,
  problemDefinition,
  problemType,
} from "../src/index.js";

describe("problem catalog", () => {
  it("has unique, kebab-case codes with a type URI each that maps back to the code", () => {
    assert.equal(new Set(PROBLEM_CODES).size, PROBLEM_CODES.length);
    const types = new Set<string>();
    for (const code of PROBLEM_CODES) {
      assert.match(code, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      const type = problemType(code);
      assert.equal(type, `https://herald.dev/problems/${code}`);
      assert.equal(problemCodeOfType(type), code);
      types.add(type);
    }
    assert.equal(types.size, PROBLEM_CODES.length);
    assert.equal(problemCodeOfType("https://herald.dev/problems/no-such-code"), undefined);
    assert.equal(problemCodeOfType("about:blank"), undefined);
  });
  it("gives every row an error status, a title and a description", () => {
    for (const code of PROBLEM_CODES) {
      const row = problemDefinition(code);
      assert.ok(Number.isInteger(row.status) && row.status >= 400 && row.status <= 599, code);
      assert.ok(row.title.length > 0 && row.title.length <= 40, code);
      assert.ok(row.description.endsWith("."), code);
    }
  });
  it("is frozen, and isProblemCode knows exactly its codes", () => {
    assert.ok(Object.isFrozen(PROBLEMS));
    assert.ok(Object.isFrozen(PROBLEMS["event-invalid"]));
    assert.ok(Object.isFrozen(PROBLEM_CODES));
    assert.throws(() => {
      (PROBLEMS as unknown as Record<string, unknown>)["made-up"] = {};
    }, TypeError);
    for (const code of PROBLEM_CODES) assert.ok(isProblemCode(code));
    assert.equal(isProblemCode("toString"), false);
    assert.equal(isProblemCode("Event-Invalid"), false);
    assert.equal(isProblemCode(422), false);
  });
  it("keeps the statuses that clients and docs rely on", () => {
    const expected: Record<string, number> = {
      "event-invalid": 422,
      "stream-version-conflict": 409,
      "duplicate-subscription": 409,
      "payload-too-large": 413,
      "batch-too-large": 413,
      "unsupported-media-type": 415,
      "unsupported-encoding": 415,
      "subscription-not-found": 404,
      "route-not-found": 404,
      "method-not-allowed": 405,
      unauthorized: 401,
      forbidden: 403,
      "filter-invalid": 400,
      "query-invalid": 400,
      "shutting-down": 503,
      "internal-error": 500,
      "json-too-deep": 422,
      "storage-full": 507,
      "storage-unavailable": 503,
      "request-timeout": 408,
      "headers-too-large": 431,
      "bad-request": 400,
    };
    for (const [code, status] of Object.entries(expected)) {
      assert.ok(isProblemCode(code), code);
      assert.equal(PROBLEMS[code].status, status, code);
    }
  });
});
