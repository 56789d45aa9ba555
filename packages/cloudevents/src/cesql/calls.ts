import { zeroValue } from "./casts.js";
import { type Compiled, castedTo, type Evaluator, foldIfConstant } from "./compiled.js";
import { lookupFunction, parameterType } from "./functions.js";
import type { CesqlValue } from "./types.js";

/**
 * A function invocation. Dispatch by name and arity happens once, here. A call that cannot be
 * dispatched still compiles (TCK) and evaluates to false with a MissingFunctionError (§3.5).
 */
export function compileCall(name: string, args: readonly Compiled[]): Compiled {
  const definition = lookupFunction(name, args.length);
  if (definition === undefined) {
    const message = `no function ${name} taking ${args.length} argument${args.length === 1 ? "" : "s"}`;
    return {
      type: "boolean",
      fallible: true,
      evaluate: (_event, scope) => {
        scope.fail("missingFunction", message);
        return false;
      },
    };
  }
  const evaluators = args.map((arg, index) => {
    const type = parameterType(definition, index);
    return type === "any" ? arg.evaluate : castedTo(arg, type).evaluate;
  });
  // One argument buffer per call site: evaluation is synchronous and a call never re-enters itself.
  const values: CesqlValue[] = new Array(evaluators.length);
  const zero = zeroValue(definition.returns);
  const evaluate: Evaluator = (event, scope) => {
    const mark = scope.count;
    for (let i = 0; i < evaluators.length; i++) values[i] = (evaluators[i] as Evaluator)(event, scope);
    if (scope.count !== mark) return zero;
    return definition.apply(values, scope);
  };
  return foldIfConstant({ type: definition.returns, fallible: true, evaluate }, args);
}
