import { missingAttributeMessage, readAttribute } from "./attributes.js";
import { type ConcreteType, castTo, toBoolean, toInteger, toStringValue, zeroValue } from "./casts.js";
import { Scope } from "./scope.js";
import { intern } from "./strings.js";
import type { CesqlEvent, CesqlType, CesqlValue } from "./types.js";

/** Evaluates one subexpression; records errors in the scope and always returns a value (§3.3). */
export type Evaluator = (event: CesqlEvent, scope: Scope) => CesqlValue;

/** A compiled subexpression and what the compiler knows about it statically. */
export interface Compiled {
  /** Type of every value it returns; `any` for a bare attribute reference. */
  readonly type: CesqlType;
  readonly evaluate: Evaluator;
  /** False when it can never record an error, so enclosing operators skip their error checks. */
  readonly fallible: boolean;
  /** Set when the value does not depend on the event and raises no error. */
  readonly constant?: { readonly value: CesqlValue };
  /** Set for a bare attribute reference, so operators can read the attribute directly (hot path). */
  readonly attribute?: string;
}

export const EMPTY_EVENT: CesqlEvent = Object.freeze({});

export function constant(value: CesqlValue): Compiled {
  if (typeof value === "string") value = intern(value);
  return {
    type: typeof value === "string" ? "string" : typeof value === "number" ? "integer" : "boolean",
    evaluate: () => value,
    fallible: false,
    constant: { value },
  };
}

/**
 * Folds an operator whose operands are all constants into a constant, unless evaluating it raises
 * an error: those must be reported on every evaluation, so it stays a runtime evaluator.
 */
export function foldIfConstant(compiled: Compiled, operands: readonly Compiled[]): Compiled {
  if (!operands.every((operand) => operand.constant !== undefined)) return compiled;
  const scope = new Scope();
  const value = compiled.evaluate(EMPTY_EVENT, scope);
  return scope.count === 0 ? constant(value) : compiled;
}

/**
 * An evaluator that yields `compiled`'s value cast to `target` with the §3.7 casts. When the operand
 * itself failed it yields the zero value of `target` without casting, so one error is not followed
 * by a second, meaningless cast error.
 */
export function castedTo(compiled: Compiled, target: ConcreteType): Compiled {
  if (compiled.type === target) return compiled;
  if (compiled.attribute !== undefined) return attributeAs(compiled.attribute, target);
  if (compiled.constant !== undefined) {
    const scope = new Scope();
    const value = castTo(target, compiled.constant.value, scope);
    // A cast that fails is left to run at evaluation, so its error is reported every time.
    if (scope.count === 0) return constant(value);
  }
  const inner = compiled.evaluate;
  const castCanFail = target !== "string";
  if (!compiled.fallible) {
    return {
      type: target,
      fallible: castCanFail,
      evaluate: (event, s) => castTo(target, inner(event, s), s),
    };
  }
  const zero = zeroValue(target);
  return {
    type: target,
    fallible: true,
    evaluate: (event, s) => {
      const mark = s.count;
      const value = inner(event, s);
      return s.count === mark ? castTo(target, value, s) : zero;
    },
  };
}

/** Reads an attribute already cast to `target`: one closure instead of a read wrapped by a cast. */
function attributeAs(name: string, target: ConcreteType): Compiled {
  const message = missingAttributeMessage(name);
  let evaluate: Evaluator;
  if (target === "string") {
    evaluate = (event, scope) => {
      const value = readAttribute(event, name);
      if (typeof value === "string") return value;
      if (value !== undefined) return toStringValue(value);
      scope.fail("missingAttribute", message);
      return "";
    };
  } else if (target === "integer") {
    evaluate = (event, scope) => {
      const value = readAttribute(event, name);
      if (typeof value === "number") return value;
      if (value !== undefined) return toInteger(value, scope);
      scope.fail("missingAttribute", message);
      return 0;
    };
  } else {
    evaluate = (event, scope) => {
      const value = readAttribute(event, name);
      if (typeof value === "boolean") return value;
      if (value !== undefined) return toBoolean(value, scope);
      scope.fail("missingAttribute", message);
      return false;
    };
  }
  return { type: target, fallible: true, evaluate };
}
