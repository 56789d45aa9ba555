import { EMPTY_EVENT, type Evaluator } from "./compiled.js";
import { compileNode } from "./compiler.js";
import { CesqlError } from "./errors.js";
import { parseCesql } from "./parser.js";
import { Scope } from "./scope.js";
import type { CesqlEvaluation, CesqlEvent, CompiledCesql } from "./types.js";

const NO_ERRORS: readonly CesqlError[] = Object.freeze([]);
const TRUE_RESULT: CesqlEvaluation = Object.freeze({ value: true, errors: NO_ERRORS });
const FALSE_RESULT: CesqlEvaluation = Object.freeze({ value: false, errors: NO_ERRORS });

/**
 * Compiles a CESQL v1 expression. Throws a `CesqlError` of kind `"parse"` when the expression is not
 * valid. The result evaluates events without parsing again; an evaluation never throws.
 */
export function compileCesql(expression: string): CompiledCesql {
  if (typeof expression !== "string") {
    throw new CesqlError("parse", `a CESQL expression must be a string, got ${typeof expression}`, 0);
  }
  const root = compileNode(parseCesql(expression)).evaluate;
  return new CompiledExpression(expression, root);
}

class CompiledExpression implements CompiledCesql {
  // Evaluation is synchronous and never re-enters itself, so one scope per expression is reused.
  private readonly scope = new Scope();

  constructor(
    readonly expression: string,
    private readonly root: Evaluator,
  ) {}

  evaluate(event: CesqlEvent): CesqlEvaluation {
    const scope = this.scope;
    scope.take(); // a no-op unless an earlier evaluation was interrupted
    scope.collect = true;
    const value = this.root(event ?? EMPTY_EVENT, scope);
    const errors = scope.take();
    if (errors !== undefined) return { value, errors };
    if (value === true) return TRUE_RESULT;
    if (value === false) return FALSE_RESULT;
    return { value, errors: NO_ERRORS };
  }

  matches(event: CesqlEvent): boolean {
    const scope = this.scope;
    // Only the value is needed: errors are counted (operators rely on the count) but not built.
    scope.count = 0;
    scope.collect = false;
    return this.root(event ?? EMPTY_EVENT, scope) === true;
  }
}
