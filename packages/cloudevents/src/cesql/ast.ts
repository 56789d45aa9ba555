import type { CesqlValue } from "./types.js";

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "%";
export type ComparisonOperator = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=";
export type LogicOperator = "AND" | "OR" | "XOR";
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | LogicOperator;

interface NodeBase {
  /** Offset of the node's first character in the expression. */
  readonly start: number;
  /** Height of the subtree (a leaf is 1); bounded by the parser so evaluation cannot overflow the stack. */
  readonly depth: number;
}

export interface LiteralNode extends NodeBase {
  readonly kind: "literal";
  readonly value: CesqlValue;
}
export interface AttributeNode extends NodeBase {
  readonly kind: "attribute";
  /** Lower-cased identifier. */
  readonly name: string;
}
export interface ExistsNode extends NodeBase {
  readonly kind: "exists";
  readonly name: string;
}
export interface NotNode extends NodeBase {
  readonly kind: "not";
  readonly operand: Node;
}
export interface NegateNode extends NodeBase {
  readonly kind: "negate";
  readonly operand: Node;
}
export interface BinaryNode extends NodeBase {
  readonly kind: "binary";
  readonly operator: BinaryOperator;
  readonly left: Node;
  readonly right: Node;
}
export interface LikeNode extends NodeBase {
  readonly kind: "like";
  readonly operand: Node;
  readonly pattern: string;
  readonly negated: boolean;
}
export interface InNode extends NodeBase {
  readonly kind: "in";
  readonly operand: Node;
  readonly set: readonly Node[];
  readonly negated: boolean;
}
export interface CallNode extends NodeBase {
  readonly kind: "call";
  /** Upper-cased function name. */
  readonly name: string;
  readonly args: readonly Node[];
}

export type Node =
  | LiteralNode
  | AttributeNode
  | ExistsNode
  | NotNode
  | NegateNode
  | BinaryNode
  | LikeNode
  | InNode
  | CallNode;
