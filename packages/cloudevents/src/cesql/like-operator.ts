import { missingAttributeMessage, readAttribute } from "./attributes.js";
import { toStringValue } from "./casts.js";
import { type Compiled, castedTo, type Evaluator, foldIfConstant } from "./compiled.js";
import { compileLike } from "./like.js";

/** `x [NOT] LIKE pattern`: x is cast to String; the pattern is compiled once, here. */
export function compileLikeOperator(operand: Compiled, pattern: string, negated: boolean): Compiled {
  const matches = compileLike(pattern);
  if (operand.attribute !== undefined) return attributeLike(operand.attribute, matches, negated);
  const value = castedTo(operand, "string");
  const inner = value.evaluate;
  const evaluate: Evaluator = value.fallible
    ? (event, scope) => {
        const mark = scope.count;
        const text = inner(event, scope) as string;
        return scope.count === mark ? matches(text) !== negated : false;
      }
    : (event, scope) => matches(inner(event, scope) as string) !== negated;
  return foldIfConstant({ type: "boolean", fallible: value.fallible, evaluate }, [operand]);
}

/** `attribute LIKE 'prefix%'`, the prefix and suffix filters, fused into one closure. */
function attributeLike(name: string, matches: (text: string) => boolean, negated: boolean): Compiled {
  const message = missingAttributeMessage(name);
  const evaluate: Evaluator = (event, scope) => {
    const value = readAttribute(event, name);
    if (typeof value === "string") return matches(value) !== negated;
    if (value !== undefined) return matches(toStringValue(value)) !== negated;
    scope.fail("missingAttribute", message);
    return false;
  };
  return { type: "boolean", fallible: true, evaluate };
}
