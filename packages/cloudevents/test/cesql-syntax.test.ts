import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileCesql } from "../src/cesql/index.js";
import { check, parseFailure } from "./cesql/helpers.js";

describe("CESQL precedence and associativity (§3.6)", () => {
  test("multiplicative binds tighter than additive, both left to right", () => {
    check("1 + 2 * 3", 7);
    check("(1 + 2) * 3", 9);
    check("10 - 4 - 3", 3);
    check("100 / 10 / 5", 2);
    check("7 % 4 * 3", 9);
  });

  test("AND, OR and XOR share one level and group left to right", () => {
    // SQL would read these as TRUE OR (FALSE AND FALSE) and (FALSE AND TRUE) OR TRUE.
    check("TRUE OR FALSE AND FALSE", false);
    check("FALSE AND TRUE OR TRUE", true);
    check("TRUE XOR TRUE OR TRUE", true);
    check("TRUE OR (FALSE AND FALSE)", true);
  });

  test("comparisons bind tighter than logic operators and looser than arithmetic", () => {
    check("1 + 1 = 2 AND 3 > 2", true);
    check("1 < 2 = TRUE", true);
  });

  test("unary operators bind tighter than every binary operator", () => {
    check("NOT TRUE = FALSE", true); // (NOT TRUE) = FALSE
    check("-2 * 3", -6);
    check("- 2 * 3", -6);
    check("NOT FALSE AND FALSE", false);
  });

  test("LIKE and IN bind tighter than the binary operators", () => {
    check("'abc' LIKE 'a%' = TRUE", true);
    check("1 + 1 IN (2)", 1); // 1 + (1 IN (2)) = 1 + false
    check("'x' IN ('x') AND 'y' NOT IN ('x')", true);
  });

  test("keywords, function names and identifiers are case-insensitive", () => {
    check("nOt fAlSe", true);
    check("concat_ws('-', 'a', 'b')", "a-b");
    check("Type = 'test.event' and exists SOURCE", true);
  });
});

describe("CESQL literals", () => {
  test("integer literals are 32-bit; the sign belongs to the literal when it touches the digits", () => {
    check("2147483647", 2147483647);
    check("-2147483648", -2147483648);
    check("+5", 5);
    check("007", 7);
    check("-0", 0);
    parseFailure("2147483648");
    parseFailure("-2147483649");
    parseFailure("- 2147483648"); // negation of an out-of-range literal
    parseFailure("+ 5");
  });

  test("a minus between operands is subtraction, with or without spaces", () => {
    check("5 -3", 2);
    check("5-3", 2);
    check("5 - -3", 8);
    check("--5", 5);
    check("- -5", 5);
  });

  test("string escapes: only a backslash before the delimiting quote escapes", () => {
    check(`'it\\'s'`, "it's");
    check(`"say \\"hi\\""`, 'say "hi"');
    check(`'a\\b'`, "a\\b");
    check(`'\\"'`, '\\"');
    check(`"\\'"`, "\\'");
    check(`'a"b'`, 'a"b');
    check(`''`, "");
    check(`'line\nbreak'`, "line\nbreak");
    parseFailure(`'a\\'`); // the quote is escaped, so the literal never ends
    parseFailure(`'abc`);
    parseFailure(`"abc'`);
  });

  test("identifiers are [a-z0-9]+, upper case folded, and may start with a digit", () => {
    const event = { specversion: "1.0", id: "1", source: "s", type: "t", ext1: "one", "2nd": "two" };
    check("ext1", "one", [], event);
    check("EXT1", "one", [], event);
    check("2nd", "two", [], event);
    parseFailure("my_ext");
  });
});

describe("CESQL parse errors", () => {
  const invalid = [
    "",
    "   ",
    "1 +",
    "(1",
    "1)",
    "1 2",
    "AND",
    "NOT",
    "TRUE AND",
    "x LIKE y",
    "x LIKE 1",
    "x NOT 5",
    "x IN ()",
    "x IN 1",
    "x IN (1,)",
    "EXISTS",
    "EXISTS 'a'",
    "EXISTS TRUE",
    "EXISTS a_b",
    "f1(2)",
    "CONCAT(1,)",
    "CONCAT(,1)",
    "!",
    "1 == 1",
    "a # b",
    "TRUE()",
    "x.y",
    "'a' 'b'",
  ];
  for (const expression of invalid) {
    test(`rejects ${JSON.stringify(expression)}`, () => {
      const error = parseFailure(expression);
      assert.equal(typeof error.position, "number");
      assert.ok((error.position as number) >= 0 && (error.position as number) <= expression.length);
    });
  }

  test("the position points at the offending token", () => {
    assert.equal(parseFailure("1 + )").position, 4);
    assert.equal(parseFailure("a = 'x' AND b LIKE 5").position, 19);
    assert.equal(parseFailure("abc ? 1").position, 4);
    assert.match(parseFailure("abc ? 1").message, /offset 4/);
  });

  test("a non-string expression is a parse error, not a TypeError", () => {
    for (const input of [undefined, null, 42, {}, ["a"]]) {
      assert.throws(
        () => compileCesql(input as unknown as string),
        (error: unknown) => error instanceof Error && (error as { kind?: string }).kind === "parse",
      );
    }
  });

  test("nesting is bounded so hostile input cannot overflow the stack", () => {
    check(`${"(".repeat(200)}1${")".repeat(200)}`, 1);
    parseFailure(`${"(".repeat(5000)}1${")".repeat(5000)}`);
    parseFailure(`${"NOT ".repeat(5000)}TRUE`);
    parseFailure(`${"-".repeat(5000)}1`);
    parseFailure(Array.from({ length: 5000 }, () => "x").join(" + "));
    parseFailure(`${"CONCAT(".repeat(5000)}${")".repeat(5000)}`);
    check(Array.from({ length: 200 }, () => "1").join(" + "), 200);
  });

  test("wide expressions are fine", () => {
    const set = Array.from({ length: 5000 }, (_, i) => `'v${i}'`).join(", ");
    check(`'v4999' IN (${set})`, true);
    check(`CONCAT(${Array.from({ length: 1000 }, () => "'a'").join(", ")})`, "a".repeat(1000));
  });
});
