import { missingAttributeMessage, readAttribute } from "./attributes.js";
import { type ConcreteType, castTo, typeOfValue } from "./casts.js";
import { type Compiled, type Evaluator, foldIfConstant } from "./compiled.js";
import { Scope } from "./scope.js";
import { intern } from "./strings.js";
import type { CesqlValue } from "./types.js";

/**
 * `x [NOT] IN (y1, …)`: each element is cast to the type of x and compared with `=` semantics
 * (§3.4.5). Every element is evaluated and cast; any error makes the result false.
 */
export function compileIn(operand: Compiled, set: readonly Compiled[], negated: boolean): Compiled {
  const l = operand.evaluate;
  const staticType = operand.type === "any" ? undefined : operand.type;
  let evaluate: Evaluator;
  if (set.every((element) => element.constant !== undefined)) {
    const tables = constantSetTables(set.map((element) => element.constant?.value as CesqlValue));
    const lookup = (table: SetTable, value: CesqlValue, scope: Scope): boolean => {
      if (table.castErrors.length > 0) {
        for (const message of table.castErrors) scope.fail("cast", message);
        return false;
      }
      return table.has(value) !== negated;
    };
    if (operand.attribute !== undefined) {
      // `attribute IN ('a', 'b')`, the common filter shape, without the generic layers.
      const name = operand.attribute;
      const message = missingAttributeMessage(name);
      const strings = tables.string.values;
      const hasString = tables.string.has;
      evaluate =
        strings.length <= SCAN_LIMIT
          ? (event, scope) => {
              const value = readAttribute(event, name);
              if (typeof value === "string") {
                for (let i = 0; i < strings.length; i++) if (strings[i] === value) return !negated;
                return negated;
              }
              if (value !== undefined) return lookup(tables[typeOfValue(value)], value, scope);
              scope.fail("missingAttribute", message);
              return false;
            }
          : (event, scope) => {
              const value = readAttribute(event, name);
              if (typeof value === "string") return hasString(value) !== negated;
              if (value !== undefined) return lookup(tables[typeOfValue(value)], value, scope);
              scope.fail("missingAttribute", message);
              return false;
            };
    } else {
      evaluate = (event, scope) => {
        const mark = scope.count;
        const value = l(event, scope);
        if (scope.count !== mark) return false;
        return lookup(tables[staticType ?? typeOfValue(value)], value, scope);
      };
    }
  } else {
    const elements = set.map((element) => element.evaluate);
    const values: CesqlValue[] = new Array(elements.length);
    evaluate = (event, scope) => {
      const mark = scope.count;
      const value = l(event, scope);
      for (let i = 0; i < elements.length; i++) values[i] = (elements[i] as Evaluator)(event, scope);
      if (scope.count !== mark) return false;
      const type = staticType ?? typeOfValue(value);
      let found = false;
      for (const element of values) if (castTo(type, element, scope) === value) found = true;
      return scope.count === mark ? found !== negated : false;
    };
  }
  return foldIfConstant({ type: "boolean", fallible: true, evaluate }, [operand, ...set]);
}

interface SetTable {
  /** The distinct elements after the cast. */
  readonly values: readonly CesqlValue[];
  readonly has: (value: CesqlValue) => boolean;
  /** Messages of the casts that failed; the same on every evaluation, so prepared once. */
  readonly castErrors: readonly string[];
}

/** The constant elements cast to each possible type of x, ready for lookup. */
function constantSetTables(elements: readonly CesqlValue[]): Readonly<Record<ConcreteType, SetTable>> {
  const table = (type: ConcreteType): SetTable => {
    const scope = new Scope();
    const cast = elements.map((element) => castTo(type, element, scope));
    const values = [...new Set(cast.map((value) => (typeof value === "string" ? intern(value) : value)))];
    const castErrors = (scope.take() ?? []).map((error) => error.message);
    return { values, has: membership(values), castErrors };
  };
  return { string: table("string"), integer: table("integer"), boolean: table("boolean") };
}

/** Up to this many elements a scan beats hashing (filters usually list a few). */
const SCAN_LIMIT = 8;

function membership(values: readonly CesqlValue[]): (value: CesqlValue) => boolean {
  if (values.length > SCAN_LIMIT) {
    const set = new Set(values);
    return (value) => set.has(value);
  }
  return (value) => {
    for (let i = 0; i < values.length; i++) if (values[i] === value) return true;
    return false;
  };
}
