import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CesqlError, compileCesql } from "../src/cesql/index.js";
import { loadTck, type TckCase } from "./cesql/tck.js";

const { suites } = loadTck();

test("the TCK has its 275 cases in 18 files", () => {
  assert.equal(suites.length, 18);
  assert.equal(
    suites.reduce((total, suite) => total + suite.cases.length, 0),
    275,
  );
});

function runCase(testCase: TckCase): void {
  if (testCase.error === "parse") {
    assert.throws(
      () => compileCesql(testCase.expression),
      (error: unknown) => error instanceof CesqlError && error.kind === "parse",
    );
    return;
  }
  const compiled = compileCesql(testCase.expression);
  const { value, errors } = compiled.evaluate(testCase.event);
  if (testCase.result !== undefined) assert.equal(value, testCase.result);
  if (testCase.error === undefined) {
    assert.deepEqual(
      errors.map((error) => `${error.kind}: ${error.message}`),
      [],
    );
  } else {
    assert.ok(errors.length > 0, `expected a ${testCase.error} error`);
    for (const error of errors) {
      assert.ok(error instanceof CesqlError);
      assert.equal(error.kind, testCase.error, error.message);
    }
  }
}

for (const suite of suites) {
  describe(`${suite.file}: ${suite.name}`, () => {
    for (const testCase of suite.cases) {
      test(`${testCase.name} [${testCase.expression}]`, () => runCase(testCase));
    }
  });
}
