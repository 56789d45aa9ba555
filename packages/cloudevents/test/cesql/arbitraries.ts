// fast-check generators for CESQL: grammar-shaped expressions and events with arbitrary attribute values.
import fc from "fast-check";

export const ATTRIBUTE_NAMES = [
  "id",
  "source",
  "type",
  "subject",
  "time",
  "myint",
  "mystr",
  "mybool",
  "missing",
  "data",
  "constructor",
] as const;

const FUNCTION_NAMES = [
  "LENGTH",
  "CONCAT",
  "CONCAT_WS",
  "LOWER",
  "UPPER",
  "TRIM",
  "LEFT",
  "RIGHT",
  "SUBSTRING",
  "ABS",
  "INT",
  "BOOL",
  "STRING",
  "NOPE",
] as const;

const BINARY_OPERATORS = [
  "=",
  "!=",
  "<>",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "AND",
  "OR",
  "XOR",
  "and",
] as const;

/** Characters that stress the lexer and LIKE: quotes, backslashes, wildcards, non-BMP, whitespace. */
const TEXT_CHARS = ["a", "B", "1", " ", "'", '"', "\\", "%", "_", "😀", "é", "\n", "\u0085", "-", "0"];

const text = fc.array(fc.constantFrom(...TEXT_CHARS), { maxLength: 8 }).map((chars) => chars.join(""));

/** A CESQL string literal holding `value`; a trailing backslash cannot be written, so it gets a suffix. */
export function stringLiteral(value: string): string {
  const safe = value.endsWith("\\") ? `${value}x` : value;
  return `'${safe.replaceAll("'", "\\'")}'`;
}

const randomCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

const integerLiteral = fc
  .oneof(fc.integer({ min: -2147483648, max: 2147483647 }), fc.integer({ min: -3, max: 3 }))
  .map(String);
const booleanLiteral = fc.constantFrom("TRUE", "FALSE").chain(randomCase);
const identifier = fc.constantFrom(...ATTRIBUTE_NAMES).chain(randomCase);

export const expression: fc.Arbitrary<string> = fc.letrec<{ expression: string; node: string }>((tie) => ({
  expression: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    integerLiteral,
    text.map(stringLiteral),
    booleanLiteral,
    identifier,
    tie("node"),
  ),
  node: fc.oneof(
    fc.tuple(fc.constantFrom("NOT ", "-"), tie("expression")).map(([op, operand]) => `${op}(${operand})`),
    fc
      .tuple(tie("expression"), fc.constantFrom(...BINARY_OPERATORS), tie("expression"))
      .map(([left, op, right]) => `(${left}) ${op} (${right})`),
    fc
      .tuple(tie("expression"), fc.boolean(), text)
      .map(([left, not, pattern]) => `(${left}) ${not ? "NOT " : ""}LIKE ${stringLiteral(pattern)}`),
    fc
      .tuple(tie("expression"), fc.boolean(), fc.array(tie("expression"), { minLength: 1, maxLength: 4 }))
      .map(([left, not, set]) => `(${left}) ${not ? "NOT " : ""}IN (${set.join(", ")})`),
    identifier.map((name) => `EXISTS ${name}`),
    fc
      .tuple(fc.constantFrom(...FUNCTION_NAMES), fc.array(tie("expression"), { maxLength: 4 }))
      .map(([name, args]) => `${name}(${args.join(", ")})`),
  ),
})).expression;

const attributeValue = fc.oneof(
  text,
  fc.string(),
  fc.integer({ min: -2147483648, max: 2147483647 }),
  fc.constantFrom(0, -1, 1, 2147483647, -2147483648),
  fc.boolean(),
  fc.double(),
  fc.bigInt(),
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 8 }),
  fc.date({ noInvalidDate: false }),
  fc.object({ maxDepth: 1 }),
  fc.constantFrom("true", "FALSE", "42", "-7", "+3", "2147483648"),
);

export const event: fc.Arbitrary<Record<string, unknown>> = fc
  .dictionary(fc.constantFrom(...ATTRIBUTE_NAMES, "myext", "x"), attributeValue, { maxKeys: 8 })
  .map((attributes) => ({
    specversion: "1.0",
    id: "fuzz",
    source: "/fuzz",
    type: "fuzz.event",
    ...attributes,
  }));

/** Fragments that make random text look like CESQL more often than plain random characters. */
export const tokenSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "(",
        ")",
        ",",
        "'",
        '"',
        "\\",
        "NOT",
        "AND",
        "or",
        "XOR",
        "LIKE",
        "IN",
        "EXISTS",
        "TRUE",
        "-",
        "+",
        "*",
        "/",
        "%",
        "=",
        "!=",
        "<>",
        "<=",
        ">",
        "2147483648",
        "-2147483648",
        "1",
        "type",
        "x_y",
        "CONCAT",
        "SUBSTRING",
        "'%a_'",
        " ",
        "\t",
        "😀",
        "#",
      ),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(""));
