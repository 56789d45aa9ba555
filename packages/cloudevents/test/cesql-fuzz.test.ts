import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type CesqlEvaluation, CesqlError, type CompiledCesql, compileCesql } from "../src/cesql/index.js";
import { event, expression, stringLiteral, tokenSoup } from "./cesql/arbitraries.js";

const KINDS = new Set(["parse", "math", "cast", "missingAttribute", "missingFunction", "functionEvaluation"]);
const TIMEOUT = { timeout: 60_000 };

/** Compiles, allowing only a parse CesqlError as failure. */
function compileOrParseError(input: string): CompiledCesql | undefined {
  try {
    return compileCesql(input);
  } catch (error) {
    if (!(error instanceof CesqlError) || error.kind !== "parse") throw error;
    assert.equal(typeof error.position, "number");
    return undefined;
  }
}

/** The evaluation contract: a CESQL value, 32-bit integers, typed errors, and matches() agreeing. */
function checkEvaluation(compiled: CompiledCesql, input: Record<string, unknown>): CesqlEvaluation {
  const result = compiled.evaluate(input);
  const { value, errors } = result;
  assert.ok(["boolean", "number", "string"].includes(typeof value), `value ${String(value)}`);
  if (typeof value === "number") {
    assert.ok(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647, `integer ${value}`);
    assert.ok(!Object.is(value, -0), "-0 is no CESQL integer");
  }
  for (const error of errors) {
    assert.ok(error instanceof CesqlError);
    assert.ok(KINDS.has(error.kind) && error.kind !== "parse", error.kind);
  }
  assert.equal(compiled.matches(input), value === true);
  // Errors make every enclosing operator yield its zero value, so `true` never comes with errors:
  // matches() is therefore the spec's filter rule (§1.2: true and no errors).
  if (value === true) assert.deepEqual(errors, []);
  return result;
}

function literalOf(value: boolean | number | string): string {
  return typeof value === "string" ? stringLiteral(value) : String(value);
}

describe("CESQL fuzzing", () => {
  test("random text either compiles or fails with a parse CesqlError", TIMEOUT, () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 })),
        event,
        (input, e) => {
          const compiled = compileOrParseError(input);
          if (compiled) checkEvaluation(compiled, e);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("CESQL-like token soup either compiles or fails with a parse CesqlError", TIMEOUT, () => {
    fc.assert(
      fc.property(tokenSoup, event, (input, e) => {
        const compiled = compileOrParseError(input);
        if (compiled) checkEvaluation(compiled, e);
      }),
      { numRuns: 1000 },
    );
  });

  test(
    "grammar-shaped expressions always compile, and evaluating random events never throws",
    TIMEOUT,
    () => {
      fc.assert(
        fc.property(expression, fc.array(event, { minLength: 1, maxLength: 3 }), (input, events) => {
          const compiled = compileCesql(input);
          for (const e of events) checkEvaluation(compiled, e);
        }),
        { numRuns: 500 },
      );
    },
  );

  test("a subexpression evaluates to the same value inside a larger expression", TIMEOUT, () => {
    fc.assert(
      fc.property(expression, event, (input, e) => {
        const inner = compileCesql(input).evaluate(e);
        fc.pre(inner.errors.length === 0);
        fc.pre(typeof inner.value !== "string" || !inner.value.endsWith("\\"));
        // `=` casts the left side to the right side's type, which is the inner value's own type.
        const outer = compileCesql(`(${input}) = ${literalOf(inner.value)}`).evaluate(e);
        assert.deepEqual(outer, { value: true, errors: [] });
        const negated = compileCesql(`NOT ((${input}) = ${literalOf(inner.value)})`).evaluate(e);
        assert.deepEqual(negated, { value: false, errors: [] });
      }),
      { numRuns: 300 },
    );
  });

  test("LIKE agrees with a simple reference matcher on random text and patterns", TIMEOUT, () => {
    const chars = fc.constantFrom("a", "b", "%", "_", "\\", "😀");
    const str = fc.array(chars, { maxLength: 7 }).map((c) => c.join(""));
    fc.assert(
      fc.property(str, str, (value, pattern) => {
        fc.pre(!value.endsWith("\\") && !pattern.endsWith("\\"));
        const { value: result, errors } = compileCesql(
          `${stringLiteral(value)} LIKE ${stringLiteral(pattern)}`,
        ).evaluate({});
        assert.deepEqual(errors, []);
        assert.equal(result, referenceLike([...value], pattern), `${value} LIKE ${pattern}`);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Straightforward recursive LIKE over code points, as the spec words it; exponential but inputs are tiny. */
function referenceLike(value: readonly string[], pattern: string): boolean {
  const tokens: { kind: "any" | "one" | "char"; char?: string }[] = [];
  const p = [...pattern];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "\\" && (p[i + 1] === "%" || p[i + 1] === "_"))
      tokens.push({ kind: "char", char: p[++i] as string });
    else if (p[i] === "%") tokens.push({ kind: "any" });
    else if (p[i] === "_") tokens.push({ kind: "one" });
    else tokens.push({ kind: "char", char: p[i] as string });
  }
  const match = (vi: number, ti: number): boolean => {
    if (ti === tokens.length) return vi === value.length;
    const token = tokens[ti] as (typeof tokens)[number];
    if (token.kind === "any") {
      for (let k = vi; k <= value.length; k++) if (match(k, ti + 1)) return true;
      return false;
    }
    if (vi >= value.length) return false;
    if (token.kind === "one" || value[vi] === token.char) return match(vi + 1, ti + 1);
    return false;
  };
  return match(0, 0);
}
