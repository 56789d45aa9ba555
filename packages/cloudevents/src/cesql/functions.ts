import { type ConcreteType, INT32_MIN, INT32_MAX, toBoolean, toInteger, toStringValue } from "./casts.js";
import type { Scope } from "./scope.js";
import { codePointLength, codePointOffset, sliceCodePoints, trimUnicodeWhiteSpace } from "./strings.js";
import type { CesqlValue } from "./types.js";

/** A parameter type; `any` takes the argument as it is (the casting functions). */
export type ParameterType = ConcreteType | "any";

/**
 * A built-in function overload. Arguments reach `apply` already cast to the parameter types.
 * `apply` returns its defined value even when it records an error (§3.5.3).
 */
export interface FunctionDefinition {
  readonly name: string;
  readonly parameters: readonly ParameterType[];
  /** Type of any further arguments after `parameters`; absent for a fixed arity. */
  readonly variadic?: ParameterType;
  readonly returns: ConcreteType;
  apply(args: readonly CesqlValue[], scope: Scope): CesqlValue;
}

const str = (value: CesqlValue | undefined) => value as string;
const int = (value: CesqlValue | undefined) => value as number;

const BUILT_INS: readonly FunctionDefinition[] = [
  // §3.5.1 String manipulation
  {
    name: "LENGTH",
    parameters: ["string"],
    returns: "integer",
    apply: (args) => codePointLength(str(args[0])),
  },
  {
    name: "CONCAT",
    parameters: [],
    variadic: "string",
    returns: "string",
    apply: (args) => args.join(""),
  },
  {
    name: "CONCAT_WS",
    parameters: ["string"],
    variadic: "string",
    returns: "string",
    apply: (args) => args.slice(1).join(str(args[0])),
  },
  { name: "LOWER", parameters: ["string"], returns: "string", apply: (args) => str(args[0]).toLowerCase() },
  { name: "UPPER", parameters: ["string"], returns: "string", apply: (args) => str(args[0]).toUpperCase() },
  {
    name: "TRIM",
    parameters: ["string"],
    returns: "string",
    apply: (args) => trimUnicodeWhiteSpace(str(args[0])),
  },
  {
    name: "LEFT",
    parameters: ["string", "integer"],
    returns: "string",
    apply: (args, scope) => {
      const text = str(args[0]);
      const count = int(args[1]);
      if (count < 0) {
        scope.fail("functionEvaluation", `LEFT: length must not be negative, got ${count}`);
        return text;
      }
      return text.slice(0, codePointOffset(text, count));
    },
  },
  {
    name: "RIGHT",
    parameters: ["string", "integer"],
    returns: "string",
    apply: (args, scope) => {
      const text = str(args[0]);
      const count = int(args[1]);
      if (count < 0) {
        scope.fail("functionEvaluation", `RIGHT: length must not be negative, got ${count}`);
        return text;
      }
      const length = codePointLength(text);
      return count >= length ? text : text.slice(codePointOffset(text, length - count));
    },
  },
  {
    name: "SUBSTRING",
    parameters: ["string", "integer"],
    returns: "string",
    apply: (args, scope) => substring(str(args[0]), int(args[1]), undefined, scope),
  },
  {
    name: "SUBSTRING",
    parameters: ["string", "integer", "integer"],
    returns: "string",
    apply: (args, scope) => substring(str(args[0]), int(args[1]), int(args[2]), scope),
  },
  // §3.5.2 Math
  {
    name: "ABS",
    parameters: ["integer"],
    returns: "integer",
    apply: (args, scope) => {
      const value = int(args[0]);
      if (value === INT32_MIN) {
        scope.fail("math", `ABS(${INT32_MIN}) overflows a 32-bit integer`);
        return INT32_MAX;
      }
      return Math.abs(value);
    },
  },
  // Casting functions with the §3.7 semantics (the TCK requires them).
  {
    name: "INT",
    parameters: ["any"],
    returns: "integer",
    apply: (args, scope) => toInteger(args[0] as CesqlValue, scope),
  },
  {
    name: "BOOL",
    parameters: ["any"],
    returns: "boolean",
    apply: (args, scope) => toBoolean(args[0] as CesqlValue, scope),
  },
  {
    name: "STRING",
    parameters: ["any"],
    returns: "string",
    apply: (args) => toStringValue(args[0] as CesqlValue),
  },
];

function substring(text: string, position: number, length: number | undefined, scope: Scope): string {
  const total = codePointLength(text);
  if (position > total || position < -total) {
    scope.fail(
      "functionEvaluation",
      `SUBSTRING: position ${position} is outside a string of length ${total}`,
    );
    return "";
  }
  if (length !== undefined && length < 0) {
    scope.fail("functionEvaluation", `SUBSTRING: length must not be negative, got ${length}`);
    return "";
  }
  if (position === 0) return "";
  const start = position > 0 ? position - 1 : total + position;
  const end = length === undefined ? total : Math.min(total, start + length);
  return sliceCodePoints(text, start, end);
}

const BY_NAME = new Map<string, FunctionDefinition[]>();
for (const definition of BUILT_INS) {
  const overloads = BY_NAME.get(definition.name);
  if (overloads) overloads.push(definition);
  else BY_NAME.set(definition.name, [definition]);
}

/** The overload of `name` (upper case) that takes `arity` arguments, if any (§3.5 dispatch). */
export function lookupFunction(name: string, arity: number): FunctionDefinition | undefined {
  const overloads = BY_NAME.get(name);
  if (overloads === undefined) return undefined;
  for (const overload of overloads) {
    if (overload.variadic === undefined && overload.parameters.length === arity) return overload;
  }
  for (const overload of overloads) {
    if (overload.variadic !== undefined && arity >= overload.parameters.length) return overload;
  }
  return undefined;
}

export function parameterType(definition: FunctionDefinition, index: number): ParameterType {
  return definition.parameters[index] ?? (definition.variadic as ParameterType);
}
