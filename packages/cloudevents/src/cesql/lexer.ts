import { parseError } from "./errors.js";

export type TokenKind = "integer" | "string" | "word" | "operator" | "(" | ")" | "," | "end";

export interface Token {
  readonly kind: TokenKind;
  /** Digits for integers, the decoded value for strings, the raw text otherwise. */
  readonly text: string;
  /** Offsets into the expression: [start, end). */
  readonly start: number;
  readonly end: number;
}

const TWO_CHAR_OPERATORS = new Set(["!=", "<>", "<=", ">="]);
const ONE_CHAR_OPERATORS = new Set(["=", "<", ">", "+", "-", "*", "/", "%"]);

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Letters, digits and `_`: the characters of identifiers, keywords, function names and integers. */
function isWordChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95
  );
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 11;
}

/**
 * Splits an expression into tokens. Throws a parse `CesqlError` for a character no token starts
 * with and for an unterminated string literal.
 */
export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const length = expression.length;
  let i = 0;
  while (i < length) {
    const code = expression.charCodeAt(i);
    if (isSpace(code)) {
      i++;
      continue;
    }
    const start = i;
    if (isWordChar(code)) {
      while (i < length && isWordChar(expression.charCodeAt(i))) i++;
      const text = expression.slice(start, i);
      let allDigits = true;
      for (let j = 0; j < text.length && allDigits; j++) allDigits = isDigit(text.charCodeAt(j));
      tokens.push({ kind: allDigits ? "integer" : "word", text, start, end: i });
      continue;
    }
    const char = expression[i] as string;
    if (char === "'" || char === '"') {
      const [value, end] = readString(expression, i, char);
      tokens.push({ kind: "string", text: value, start, end });
      i = end;
      continue;
    }
    if (char === "(" || char === ")" || char === ",") {
      tokens.push({ kind: char, text: char, start, end: i + 1 });
      i++;
      continue;
    }
    const pair = expression.slice(i, i + 2);
    if (TWO_CHAR_OPERATORS.has(pair)) {
      tokens.push({ kind: "operator", text: pair, start, end: i + 2 });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPERATORS.has(char)) {
      tokens.push({ kind: "operator", text: char, start, end: i + 1 });
      i++;
      continue;
    }
    throw parseError(
      `unexpected character ${JSON.stringify(String.fromCodePoint(expression.codePointAt(i) ?? 0))}`,
      i,
    );
  }
  tokens.push({ kind: "end", text: "", start: length, end: length });
  return tokens;
}

/**
 * Reads a string literal that opens at `open` with `quote`. The only escape is a backslash before
 * that same quote; any other backslash is a literal backslash (CESQL §2.2, TCK).
 * Returns the decoded value and the offset just past the closing quote.
 */
function readString(expression: string, open: number, quote: string): [string, number] {
  let value = "";
  let chunkStart = open + 1;
  let i = open + 1;
  while (i < expression.length) {
    const char = expression[i];
    if (char === "\\" && expression[i + 1] === quote) {
      value += expression.slice(chunkStart, i) + quote;
      i += 2;
      chunkStart = i;
      continue;
    }
    if (char === quote) return [value + expression.slice(chunkStart, i), i + 1];
    i++;
  }
  throw parseError("unterminated string literal", open);
}
