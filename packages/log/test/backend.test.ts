// The rules `@herald/log/backend` hands to backend packages, checked on their own (the contract suite
// checks them through the built-in backends).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as user from "@herald/log";
import {
  checkAppendExpectation,
  checkExpectation,
  deriveStream,
  duplicateResult,
  eventKey,
  expectationMet,
  type ExpectedVersion,
  LogInputError,
  type StreamState,
  VersionConflictError,
  checkAppendArguments,
} from "@herald/log/backend";
import { testEvent } from "./support/events.js";

const none = undefined;
const empty: StreamState = { version: -1, deleted: false };
const two: StreamState = { version: 1, deleted: false };

test("expectationMet: every kind of expected version against no stream, an emptied one and version 1", () => {
  const table: [ExpectedVersion, boolean, boolean, boolean][] = [
    ["any", true, true, true],
    ["no-stream", true, false, false],
    ["exists", false, false, true],
    [-1, true, true, false],
    [1, false, false, true],
    [0, false, false, false],
  ];
  for (const [expected, ...answers] of table)
    assert.deepEqual(
      [none, empty, two].map((state) => expectationMet(expected, state)),
      answers,
      `expected ${String(expected)}`,
    );
});

test("checkExpectation throws VersionConflictError with the actual version", () => {
  checkExpectation("s", 1, two);
  assert.throws(() => checkExpectation("s", "no-stream", two), VersionConflictError);
  try {
    checkExpectation("s", 3, none);
    assert.fail("expected a conflict");
  } catch (caught) {
    assert.ok(caught instanceof VersionConflictError);
    assert.deepEqual([caught.stream, caught.expected, caught.actual], ["s", 3, -1]);
  }
});

test("checkAppendExpectation: an all-duplicate append is a retry; a derived-stream append has nothing to check", () => {
  const looked: string[] = [];
  const stateOf = (stream: string): StreamState | undefined => {
    looked.push(stream);
    return two;
  };
  checkAppendExpectation("s", "no-stream", stateOf, 0);
  checkAppendExpectation(undefined, "any", stateOf, 3);
  assert.deepEqual(looked, [], "the stream's state is not read when nothing is checked");
  assert.throws(() => checkAppendExpectation("s", "no-stream", stateOf, 1), VersionConflictError);
  checkAppendExpectation("s", 1, stateOf, 2);
  assert.deepEqual(looked, ["s", "s"]);
});

test("duplicates answer with the first copy's place; keys tell source+id pairs apart", () => {
  const event = testEvent({ source: "/a", id: "1" });
  assert.deepEqual(duplicateResult(event, 7, "s", 2), {
    id: "1",
    source: "/a",
    position: 7,
    stream: "s",
    version: 2,
    duplicate: true,
  });
  assert.equal(eventKey("/a", "1"), eventKey("/a", "1"));
  assert.notEqual(eventKey("/a", "b1"), eventKey("/ab", "1"));
});

test("the backend entry hands out the same functions the user entry and the built-in backends use", () => {
  assert.equal(deriveStream, user.deriveStream);
  assert.equal(VersionConflictError, user.VersionConflictError);
  assert.equal(LogInputError, user.LogInputError);
  assert.throws(() => checkAppendArguments([testEvent()], { expectedVersion: 0 }), LogInputError);
});
