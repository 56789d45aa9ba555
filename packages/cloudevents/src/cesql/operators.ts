import type { ArithmeticOperator, BinaryOperator, ComparisonOperator, LogicOperator } from "./ast.js";
import { missingAttributeMessage, readAttribute } from "./attributes.js";
import { castTo, INT32_MAX, INT32_MIN, toStringValue, typeOfValue } from "./casts.js";
import { type Compiled, castedTo, type Evaluator, foldIfConstant } from "./compiled.js";
import type { Scope } from "./scope.js";

// Every operator follows one rule for errors: when an operand (or the implicit cast of an operand)
// records an error, the operator returns the zero value of its own return type instead of computing.
// The error itself stays in the scope and is reported beside the result.

/** `NOT x: Boolean -> Boolean` */
export function compileNot(operand: Compiled): Compiled {
  const value = castedTo(operand, "boolean");
  const inner = value.evaluate;
  const evaluate: Evaluator = value.fallible
    ? (event, scope) => {
        const mark = scope.count;
        const result = inner(event, scope);
        return scope.count === mark ? !result : false;
      }
    : (event, scope) => !inner(event, scope);
  return foldIfConstant({ type: "boolean", fallible: value.fallible, evaluate }, [operand]);
}

/** `-x: Integer -> Integer`; negating -2147483648 overflows (MathError, the value wraps). */
export function compileNegate(operand: Compiled): Compiled {
  const value = castedTo(operand, "integer");
  const inner = value.evaluate;
  const evaluate: Evaluator = (event, scope) => {
    const mark = scope.count;
    const result = inner(event, scope) as number;
    if (scope.count !== mark) return 0;
    if (result === INT32_MIN) {
      scope.fail("math", `-(${INT32_MIN}) overflows a 32-bit integer`);
      return INT32_MIN;
    }
    return result === 0 ? 0 : -result;
  };
  return foldIfConstant({ type: "integer", fallible: true, evaluate }, [operand]);
}

export function compileBinary(operator: BinaryOperator, left: Compiled, right: Compiled): Compiled {
  switch (operator) {
    case "AND":
    case "OR":
    case "XOR":
      return foldIfConstant(compileLogic(operator, left, right), [left, right]);
    case "=":
    case "!=":
    case "<>":
      return foldIfConstant(compileEquality(operator === "=", left, right), [left, right]);
    case "<":
    case "<=":
    case ">":
    case ">=":
      return foldIfConstant(compileOrdering(operator, left, right), [left, right]);
    default:
      return foldIfConstant(compileArithmetic(operator, left, right), [left, right]);
  }
}

/** AND and OR short-circuit (§3.4.2): the right operand is not evaluated when the left decides. */
function compileLogic(operator: LogicOperator, leftOperand: Compiled, rightOperand: Compiled): Compiled {
  const left = castedTo(leftOperand, "boolean");
  const right = castedTo(rightOperand, "boolean");
  const l = left.evaluate;
  const r = right.evaluate;
  const fallible = left.fallible || right.fallible;
  let evaluate: Evaluator;
  if (operator === "AND") {
    evaluate = fallible
      ? (event, scope) => {
          const mark = scope.count;
          if (!l(event, scope) || scope.count !== mark) return false;
          return r(event, scope) === true && scope.count === mark;
        }
      : (event, scope) => (l(event, scope) as boolean) && (r(event, scope) as boolean);
  } else if (operator === "OR") {
    evaluate = fallible
      ? (event, scope) => {
          const mark = scope.count;
          const first = l(event, scope);
          if (first && scope.count === mark) return true;
          // A failed left operand counts as false, so the right one is still evaluated (and reported).
          return r(event, scope) === true && scope.count === mark;
        }
      : (event, scope) => (l(event, scope) as boolean) || (r(event, scope) as boolean);
  } else {
    evaluate = (event, scope) => {
      const mark = scope.count;
      const first = l(event, scope);
      const second = r(event, scope);
      return scope.count === mark ? first !== second : false;
    };
  }
  return { type: "boolean", fallible, evaluate };
}

/**
 * `=`, `!=`, `<>` are ambiguous (String, Integer and Boolean overloads): the left operand is cast to
 * the type of the right one (§3.7). When the right type is only known per event, it is found then.
 */
function compileEquality(equal: boolean, leftOperand: Compiled, right: Compiled): Compiled {
  const r = right.evaluate;
  if (right.type === "any") {
    const l = leftOperand.evaluate;
    const evaluate: Evaluator = (event, scope) => {
      const mark = scope.count;
      const a = l(event, scope);
      const b = r(event, scope);
      if (scope.count !== mark) return false;
      const cast = castTo(typeOfValue(b), a, scope);
      if (scope.count !== mark) return false;
      return (cast === b) === equal;
    };
    return { type: "boolean", fallible: true, evaluate };
  }
  if (leftOperand.attribute !== undefined && right.constant !== undefined && right.type === "string") {
    return attributeEqualsString(leftOperand.attribute, right.constant.value as string, equal);
  }
  const left = castedTo(leftOperand, right.type);
  const l = left.evaluate;
  const fallible = left.fallible || right.fallible;
  if (right.constant !== undefined) {
    const expected = right.constant.value;
    const evaluate: Evaluator = fallible
      ? (event, scope) => {
          const mark = scope.count;
          const a = l(event, scope);
          return scope.count === mark ? (a === expected) === equal : false;
        }
      : (event, scope) => (l(event, scope) === expected) === equal;
    return { type: "boolean", fallible, evaluate };
  }
  const evaluate: Evaluator = (event, scope) => {
    const mark = scope.count;
    const a = l(event, scope);
    const b = r(event, scope);
    return scope.count === mark ? (a === b) === equal : false;
  };
  return { type: "boolean", fallible, evaluate };
}

/** `attribute = 'text'`, the most common filter, fused into one closure. */
function attributeEqualsString(name: string, expected: string, equal: boolean): Compiled {
  const message = missingAttributeMessage(name);
  const evaluate: Evaluator = equal
    ? (event, scope) => {
        const value = readAttribute(event, name);
        if (typeof value === "string") return value === expected;
        if (value !== undefined) return toStringValue(value) === expected;
        scope.fail("missingAttribute", message);
        return false;
      }
    : (event, scope) => {
        const value = readAttribute(event, name);
        if (typeof value === "string") return value !== expected;
        if (value !== undefined) return toStringValue(value) !== expected;
        scope.fail("missingAttribute", message);
        return false;
      };
  return { type: "boolean", fallible: true, evaluate };
}

const ORDERINGS: Readonly<
  Record<Exclude<ComparisonOperator, "=" | "!=" | "<>">, (a: number, b: number) => boolean>
> = {
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

/** `<`, `<=`, `>`, `>=` exist for Integer only, so both operands are cast to Integer. */
function compileOrdering(
  operator: keyof typeof ORDERINGS,
  leftOperand: Compiled,
  rightOperand: Compiled,
): Compiled {
  const compare = ORDERINGS[operator];
  const left = castedTo(leftOperand, "integer");
  const right = castedTo(rightOperand, "integer");
  const l = left.evaluate;
  const r = right.evaluate;
  const evaluate: Evaluator = (event, scope) => {
    const mark = scope.count;
    const a = l(event, scope) as number;
    const b = r(event, scope) as number;
    return scope.count === mark ? compare(a, b) : false;
  };
  return { type: "boolean", fallible: left.fallible || right.fallible, evaluate };
}

/** Integer arithmetic. Results outside 32 bits record a MathError and wrap (two's complement). */
const ARITHMETIC: Readonly<Record<ArithmeticOperator, (a: number, b: number, scope: Scope) => number>> = {
  "+": (a, b, scope) => checked(a + b, "+", a, b, scope),
  "-": (a, b, scope) => checked(a - b, "-", a, b, scope),
  "*": (a, b, scope) => {
    const exact = a * b;
    if (exact > INT32_MAX || exact < INT32_MIN) overflow("*", a, b, scope);
    return Math.imul(a, b);
  },
  "/": (a, b, scope) => {
    if (b === 0) {
      scope.fail("math", `division by zero: ${a} / 0`);
      return 0;
    }
    // Rounds towards 0; -2147483648 / -1 is the one quotient that overflows.
    return checked(Math.trunc(a / b), "/", a, b, scope);
  },
  "%": (a, b, scope) => {
    if (b === 0) {
      scope.fail("math", `modulo by zero: ${a} % 0`);
      return 0;
    }
    return (a % b) | 0; // the sign of the dividend; `| 0` turns -0 into 0
  },
};

function checked(result: number, operator: string, a: number, b: number, scope: Scope): number {
  if (result > INT32_MAX || result < INT32_MIN) overflow(operator, a, b, scope);
  return result | 0;
}

function overflow(operator: string, a: number, b: number, scope: Scope): void {
  scope.fail("math", `${a} ${operator} ${b} overflows a 32-bit integer`);
}

function compileArithmetic(
  operator: ArithmeticOperator,
  leftOperand: Compiled,
  rightOperand: Compiled,
): Compiled {
  const compute = ARITHMETIC[operator];
  const l = castedTo(leftOperand, "integer").evaluate;
  const r = castedTo(rightOperand, "integer").evaluate;
  const evaluate: Evaluator = (event, scope) => {
    const mark = scope.count;
    const a = l(event, scope) as number;
    const b = r(event, scope) as number;
    return scope.count === mark ? compute(a, b, scope) : 0;
  };
  return { type: "integer", fallible: true, evaluate };
}
