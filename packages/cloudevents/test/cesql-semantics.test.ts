import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileCesql } from "../src/cesql/index.js";
import { BASE_EVENT, check, run } from "./cesql/helpers.js";

const event = { ...BASE_EVENT, myint: 5, mystr: "5", mybool: true, word: "abc" };

describe("CESQL 32-bit integer arithmetic", () => {
  test("results outside 32 bits wrap and raise a MathError", () => {
    check("2147483647 + 1", -2147483648, ["math"]);
    check("-2147483648 - 1", 2147483647, ["math"]);
    check("65536 * 65536", 0, ["math"]);
    check("-2147483648 / -1", -2147483648, ["math"]);
    check("-(-2147483648)", -2147483648, ["math"]);
    check("2147483647 * -1", -2147483647);
    check("-2147483648 % -1", 0);
  });

  test("an operator whose operand overflowed yields its zero value", () => {
    check("2147483647 + 1 = -2147483648", false, ["math"]);
    check("(2147483647 + 1) * 0 + 5", 0, ["math"]);
  });

  test("division truncates towards zero and remainder takes the dividend's sign; never -0", () => {
    check("-7 / 2", -3);
    check("7 / -2", -3);
    check("-7 % 2", -1);
    check("7 % -2", 1);
    check("-4 % 2", 0);
    check("-1 / 2", 0);
    check("0 * -1", 0);
    check("-0", 0);
  });

  test("division and modulo by zero return 0 with a MathError", () => {
    check("1 / 0", 0, ["math"]);
    check("1 % 0", 0, ["math"]);
    check("1 / (1 - 1) + 1", 0, ["math"]);
  });
});

describe("CESQL implicit casts (§3.7)", () => {
  test("= casts the left operand to the type of the right one", () => {
    check("1 = TRUE", true);
    check("2 = TRUE", true);
    check("0 = FALSE", true);
    check("TRUE = 1", true);
    check("TRUE = 2", false);
    check("1 = '1'", true);
    check("1 = '01'", false); // '1' vs '01' as strings
    check("'01' = 1", true); // 1 vs 1 as integers
    check("'abc' = 1", false, ["cast"]);
    check("'abc' != 1", false, ["cast"]); // the zero value, not NOT(false)
  });

  test("when the right operand is an attribute its type is found per event", () => {
    check("myint = mystr", true, [], event);
    check("mystr = myint", true, [], event);
    check("word = myint", false, ["cast"], event);
    check("mybool = 'TRUE'", false, [], event);
    check("'TRUE' = mybool", true, [], event);
  });

  test("ordering and arithmetic cast both operands to Integer", () => {
    check("'10' > '9'", true);
    check("'a' < 1", false, ["cast"]);
    check("TRUE + TRUE", 2);
    check("mystr * 2", 10, [], event);
    check("word + 1", 0, ["cast"], event);
  });

  test("NOT and AND/OR/XOR cast to Boolean", () => {
    check("NOT 0", true);
    check("NOT 'x'", false, ["cast"]);
    check("1 AND 'true'", true);
    check("0 XOR 'FALSE'", false);
    check("'maybe' OR TRUE", false, ["cast"]);
  });

  test("the unary minus casts to Integer", () => {
    check("-'7'", -7);
    check("-FALSE", 0);
    check("-'x'", 0, ["cast"]);
  });
});

describe("CESQL IN with casts (§3.4.5)", () => {
  test("the set elements are cast to the type of the left operand", () => {
    check("myint IN ('4', '5')", true, [], event);
    check("'5' IN (5, 6)", true);
    check("TRUE IN (1)", true);
    check("FALSE IN (2, 3)", false);
    check("5 IN ('5', 'x')", false, ["cast"]); // every element is cast; a failed cast fails the operator
    check("mystr IN (myint)", true, [], event);
    check("myint IN (mystr, 7)", true, [], event);
  });

  test("NOT IN, and errors inside the set", () => {
    check("myint NOT IN (1, 2)", true, [], event);
    check("myint NOT IN (5)", false, [], event);
    check("missing NOT IN (1)", false, ["missingAttribute"]);
    check("'a' IN (missing, 'a')", false, ["missingAttribute"]);
    check("1 IN (1, 1 / 0)", false, ["math"]);
  });
});

describe("CESQL LIKE (§3.4.3)", () => {
  test("_ matches exactly one character, including one outside the BMP and a newline", () => {
    check("'😀' LIKE '_'", true);
    check("'ab' LIKE '_'", false);
    check("'a\nb' LIKE 'a_b'", true);
    check("'a😀b' LIKE 'a_b'", true);
    check("'a😀😀b' LIKE 'a_%_b'", true);
  });

  test("% matches any run, including an empty one", () => {
    check("'' LIKE '%'", true);
    check("'' LIKE ''", true);
    check("'a' LIKE ''", false);
    check("'abc' LIKE '%%'", true);
    check("'abcabc' LIKE '%bc%bc'", true);
    check("'abcab' LIKE '%bc%bc'", false);
    check("'aXbXc' LIKE 'a%_c'", true);
    check("'ac' LIKE 'a%_c'", false);
  });

  test("regular expression characters are plain characters", () => {
    check("'a.c' LIKE 'a.c'", true);
    check("'abc' LIKE 'a.c'", false);
    check("'(x)+[y]*' LIKE '(x)+[y]*'", true);
    check("'a^$|?{}' LIKE '%^$|?{}'", true);
  });

  test("escapes: \\% and \\_ are literal, other backslashes are backslashes", () => {
    check("'a%' LIKE 'a\\%'", true);
    check("'ab' LIKE 'a\\%'", false);
    check("'a_' LIKE 'a\\_'", true);
    check("'ab' LIKE 'a\\_'", false);
    check("'a\\b' LIKE 'a\\b'", true);
    check("'a\\\\b' LIKE 'a\\\\b'", true);
  });

  test("matching is case-sensitive and the left operand is cast to String", () => {
    check("'ABC' LIKE 'abc'", false);
    check("-12 LIKE '-1_'", true);
    check("mybool LIKE 't%'", true, [], event);
  });

  test("hostile patterns finish quickly (no regular-expression backtracking)", () => {
    const value = "a".repeat(20_000);
    const started = Date.now();
    check(`'${value}' LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%b'`, false);
    check(`'${value}' LIKE '${"_%".repeat(50)}b'`, false);
    assert.ok(Date.now() - started < 2000, "LIKE took too long");
  });
});

describe("CESQL error semantics", () => {
  test("a missing attribute gives the zero value of the enclosing operator's type", () => {
    check("missing", false, ["missingAttribute"]);
    check("missing + 1", 0, ["missingAttribute"]);
    check("CONCAT(missing, 'a')", "", ["missingAttribute"]);
    check("NOT (missing = 1)", false, ["missingAttribute"]);
    check("missing = missing", false, ["missingAttribute", "missingAttribute"]);
  });

  test("AND and OR short-circuit; a failed left operand counts as false", () => {
    check("FALSE AND missing", false);
    check("TRUE OR missing", true);
    check("missing AND TRUE", false, ["missingAttribute"]);
    check("missing OR TRUE", false, ["missingAttribute"]); // the right side runs; the error wins
    check("missing OR 1 / 0 = 0", false, ["missingAttribute", "math"]);
    check("TRUE XOR missing", false, ["missingAttribute"]);
  });

  test("EXISTS never raises an error", () => {
    check("EXISTS missing", false);
    check("EXISTS id AND NOT EXISTS subject", true);
  });

  test("errors of constant subexpressions are reported on every evaluation", () => {
    const compiled = compileCesql("1 / 0 = 0");
    for (let i = 0; i < 3; i++) {
      const result = compiled.evaluate(BASE_EVENT);
      assert.equal(result.value, false);
      assert.deepEqual(
        result.errors.map((error) => error.kind),
        ["math"],
      );
    }
  });

  test("error messages say what went wrong", () => {
    const [missing] = compileCesql("nosuch = 1").evaluate(BASE_EVENT).errors;
    assert.match(missing?.message ?? "", /nosuch/);
    const [cast] = compileCesql("INT('x1')").evaluate(BASE_EVENT).errors;
    assert.match(cast?.message ?? "", /x1.*Integer/);
    assert.equal(cast?.position, undefined);
    assert.equal(cast?.name, "CesqlError");
  });
});

describe("CompiledCesql", () => {
  test("keeps the expression text", () => {
    assert.equal(compileCesql(" type = 'a' ").expression, " type = 'a' ");
  });

  test("errors of one evaluation never leak into the next", () => {
    const compiled = compileCesql("subject = 'x'");
    assert.deepEqual(
      compiled.evaluate(BASE_EVENT).errors.map((e) => e.kind),
      ["missingAttribute"],
    );
    assert.equal(compiled.matches(BASE_EVENT), false);
    const clean = compiled.evaluate({ ...BASE_EVENT, subject: "x" });
    assert.deepEqual(clean, { value: true, errors: [] });
    assert.ok(Object.isFrozen(clean.errors));
  });

  test("matches() is true exactly when evaluate() gives the value true", () => {
    const cases: [string, Record<string, unknown>][] = [
      ["type = 'test.event'", BASE_EVENT],
      ["type = 'other'", BASE_EVENT],
      ["subject LIKE 'x%'", BASE_EVENT],
      ["1", BASE_EVENT],
      ["'true'", BASE_EVENT],
      ["NOT missing", BASE_EVENT],
      ["TRUE", BASE_EVENT],
    ];
    for (const [expression, input] of cases) {
      const compiled = compileCesql(expression);
      assert.equal(compiled.matches(input), compiled.evaluate(input).value === true, expression);
    }
  });

  test("non-Boolean results are returned as they are", () => {
    assert.deepEqual(run("CONCAT(type, '!')"), { value: "test.event!", kinds: [] });
    assert.deepEqual(run("LENGTH(id) * 2"), { value: 8, kinds: [] });
  });
});
