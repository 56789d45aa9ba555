import type { BinaryOperator, Node } from "./ast.js";
import { parseError } from "./errors.js";
import { type Token, tokenize } from "./lexer.js";

/**
 * Deepest expression tree (and deepest parenthesis nesting) accepted. Evaluation recurses once per
 * level, so this bound is what keeps hostile input from overflowing the stack.
 */
export const MAX_DEPTH = 256;

const INT32_MAX = 2147483647;

/** Binding strength of the infix operators (CESQL §3.6); higher binds tighter. */
const PRECEDENCE: Readonly<Record<string, number>> = {
  LIKE: 7,
  IN: 5,
  "*": 4,
  "/": 4,
  "%": 4,
  "+": 3,
  "-": 3,
  "=": 2,
  "!=": 2,
  "<>": 2,
  "<": 2,
  "<=": 2,
  ">": 2,
  ">=": 2,
  AND: 1,
  OR: 1,
  XOR: 1,
};

const KEYWORDS = new Set(["AND", "OR", "XOR", "NOT", "LIKE", "IN", "EXISTS", "TRUE", "FALSE"]);
const IDENTIFIER = /^[A-Za-z0-9]+$/;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;

/** Parses a CESQL v1 expression into its syntax tree; throws a parse `CesqlError` when it is not valid. */
export function parseCesql(expression: string): Node {
  return new Parser(tokenize(expression)).parseRoot();
}

class Parser {
  private index = 0;
  private nesting = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseRoot(): Node {
    const node = this.parseExpression(0);
    const next = this.peek();
    if (next.kind !== "end") throw parseError(`unexpected ${describe(next)}`, next.start);
    return node;
  }

  private peek(offset = 0): Token {
    // The token list always ends with an "end" token, which is never consumed past.
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  private expect(kind: Token["kind"], what: string): Token {
    const token = this.peek();
    if (token.kind !== kind) throw parseError(`expected ${what} but found ${describe(token)}`, token.start);
    return this.next();
  }

  /** Precedence climbing: binary operators and the postfix LIKE / IN, all left-associative. */
  private parseExpression(minPrecedence: number): Node {
    if (++this.nesting > MAX_DEPTH) {
      throw parseError(`expression nested deeper than ${MAX_DEPTH} levels`, this.peek().start);
    }
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      let operator = infixOperator(token);
      let negated = false;
      if (operator === undefined && isKeyword(token, "NOT")) {
        const after = this.peek(1);
        if (isKeyword(after, "LIKE")) operator = "LIKE";
        else if (isKeyword(after, "IN")) operator = "IN";
        else break;
        negated = true;
      }
      if (operator === undefined) break;
      const precedence = PRECEDENCE[operator] as number;
      if (precedence < minPrecedence) break;
      this.next();
      if (negated) this.next();
      if (operator === "LIKE") {
        const pattern = this.expect("string", "a string literal as LIKE pattern");
        left = node({ kind: "like", start: left.start, operand: left, pattern: pattern.text, negated }, left);
      } else if (operator === "IN") {
        const set = this.parseList("the IN set", false);
        left = node({ kind: "in", start: left.start, operand: left, set, negated }, left, ...set);
      } else {
        const right = this.parseExpression(precedence + 1);
        left = node(
          { kind: "binary", start: left.start, operator: operator as BinaryOperator, left, right },
          left,
          right,
        );
      }
    }
    this.nesting--;
    return left;
  }

  private parseUnary(): Node {
    const token = this.peek();
    if (isKeyword(token, "NOT")) {
      this.next();
      const operand = this.nested(() => this.parseUnary());
      return node({ kind: "not", start: token.start, operand }, operand);
    }
    if (token.kind === "operator" && (token.text === "-" || token.text === "+")) {
      // The sign is part of an integer literal when it touches the digits (§2.2), which is what
      // makes -2147483648 a valid literal. Otherwise "-" is the negation operator.
      const digits = this.peek(1);
      if (digits.kind === "integer" && digits.start === token.end) {
        this.next();
        this.next();
        return integerLiteral(token.text + digits.text, token.start);
      }
      if (token.text === "-") {
        this.next();
        const operand = this.nested(() => this.parseUnary());
        return node({ kind: "negate", start: token.start, operand }, operand);
      }
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Node {
    const token = this.next();
    switch (token.kind) {
      case "integer":
        return integerLiteral(token.text, token.start);
      case "string":
        return leaf({ kind: "literal", start: token.start, value: token.text });
      case "(": {
        const inner = this.parseExpression(0);
        this.expect(")", '")"');
        return inner;
      }
      case "word":
        return this.parseWord(token);
      default:
        throw parseError(`expected an expression but found ${describe(token)}`, token.start);
    }
  }

  private parseWord(token: Token): Node {
    const upper = token.text.toUpperCase();
    if (upper === "TRUE" || upper === "FALSE") {
      return leaf({ kind: "literal", start: token.start, value: upper === "TRUE" });
    }
    if (upper === "EXISTS") {
      const name = this.next();
      return leaf({ kind: "exists", start: token.start, name: identifierName(name) });
    }
    if (KEYWORDS.has(upper)) throw parseError(`unexpected keyword ${upper}`, token.start);
    if (this.peek().kind === "(") {
      if (!FUNCTION_NAME.test(token.text)) {
        throw parseError(`invalid function name ${JSON.stringify(token.text)}`, token.start);
      }
      const args = this.parseList("the argument list", true);
      return node({ kind: "call", start: token.start, name: upper, args }, ...args);
    }
    return leaf({ kind: "attribute", start: token.start, name: identifierName(token) });
  }

  /** "(" expression ("," expression)* ")"; an empty list only where `allowEmpty`. */
  private parseList(what: string, allowEmpty: boolean): Node[] {
    this.expect("(", `"(" to open ${what}`);
    const items: Node[] = [];
    if (allowEmpty && this.peek().kind === ")") {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.parseExpression(0));
      const token = this.next();
      if (token.kind === ")") return items;
      if (token.kind !== ",")
        throw parseError(`expected "," or ")" in ${what} but found ${describe(token)}`, token.start);
    }
  }

  private nested<T>(parse: () => T): T {
    if (++this.nesting > MAX_DEPTH) {
      throw parseError(`expression nested deeper than ${MAX_DEPTH} levels`, this.peek().start);
    }
    const result = parse();
    this.nesting--;
    return result;
  }
}

function infixOperator(token: Token): string | undefined {
  if (token.kind === "operator") return token.text;
  if (token.kind === "word") {
    const upper = token.text.toUpperCase();
    if (upper === "AND" || upper === "OR" || upper === "XOR" || upper === "LIKE" || upper === "IN")
      return upper;
  }
  return undefined;
}

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === "word" && token.text.toUpperCase() === keyword;
}

function identifierName(token: Token): string {
  if (token.kind === "word" || token.kind === "integer") {
    if (KEYWORDS.has(token.text.toUpperCase())) {
      throw parseError(
        `expected an attribute name but found keyword ${token.text.toUpperCase()}`,
        token.start,
      );
    }
    // The EBNF allows [a-z0-9] only; upper case is accepted and folded (TCK: EXISTS SOURCE).
    if (IDENTIFIER.test(token.text)) return token.text.toLowerCase();
    throw parseError(`invalid attribute name ${JSON.stringify(token.text)}`, token.start);
  }
  throw parseError(`expected an attribute name but found ${describe(token)}`, token.start);
}

function integerLiteral(text: string, start: number): Node {
  const value = Number(text);
  if (value > INT32_MAX || value < -INT32_MAX - 1) {
    throw parseError(`integer literal ${text} does not fit in 32 bits`, start);
  }
  return leaf({ kind: "literal", start, value: value === 0 ? 0 : value });
}

type WithoutDepth<T> = T extends Node ? Omit<T, "depth"> : never;

function leaf(partial: WithoutDepth<Node>): Node {
  return { ...partial, depth: 1 } as Node;
}

function node(partial: WithoutDepth<Node>, ...children: Node[]): Node {
  let depth = 0;
  for (const child of children) if (child.depth > depth) depth = child.depth;
  depth++;
  if (depth > MAX_DEPTH) throw parseError(`expression nested deeper than ${MAX_DEPTH} levels`, partial.start);
  return { ...partial, depth } as Node;
}

function describe(token: Token): string {
  switch (token.kind) {
    case "end":
      return "the end of the expression";
    case "string":
      return `string literal ${JSON.stringify(token.text)}`;
    default:
      return JSON.stringify(token.text);
  }
}
