import assert from "node:assert/strict";
import { CesqlError, type CesqlEvent, type CesqlValue, compileCesql } from "../../src/cesql/index.js";

export const BASE_EVENT = { specversion: "1.0", id: "id-1", source: "/tests", type: "test.event" } as const;

/** Evaluates `expression` on `event` (the base event by default): the value and the error kinds. */
export function run(
  expression: string,
  event: CesqlEvent = BASE_EVENT,
): { value: CesqlValue; kinds: string[] } {
  const { value, errors } = compileCesql(expression).evaluate(event);
  for (const error of errors) assert.ok(error instanceof CesqlError);
  return { value, kinds: errors.map((error) => error.kind) };
}

/** Asserts value and error kinds (none unless given), strictly: `1`, `true` and `"1"` differ. */
export function check(expression: string, value: CesqlValue, kinds: string[] = [], event?: CesqlEvent): void {
  const result = run(expression, event);
  assert.ok(
    Object.is(result.value, value),
    `${expression}: expected ${String(value)}, got ${String(result.value)}`,
  );
  assert.deepEqual(result.kinds, kinds, `${expression}: error kinds`);
}

/** Asserts that compiling fails with a parse error, and returns it. */
export function parseFailure(expression: string): CesqlError {
  try {
    compileCesql(expression);
  } catch (error) {
    assert.ok(error instanceof CesqlError, `${expression}: threw ${String(error)}`);
    assert.equal(error.kind, "parse");
    return error;
  }
  assert.fail(`${expression}: expected a parse error`);
}
