// JSON Schema validation for event sources: one ajv per coercion mode. Path parameters, query and
// headers arrive as strings, so their schemas coerce ("42" → 42 for an integer); bodies and messages
// are JSON and are validated as they are.
import type { ProblemFieldError } from "@herald/protocol";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/** A JSON Schema (TypeBox schemas are JSON Schemas). */
export type JsonSchema = Readonly<Record<string, unknown>> | boolean;

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;
const strictAjv = addFormats(new Ajv({ allErrors: true, strict: false, useDefaults: true }));
const coercingAjv = addFormats(
  new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: "array" }),
);

/** A compiled schema: the issues of a value, each named `<prefix><JSON pointer>`. */
export interface Validator {
  readonly schema: JsonSchema;
  /** [] when valid. With coercion, `value` may be changed in place (strings to numbers, defaults). */
  check(value: unknown, prefix: string): ProblemFieldError[];
}

export function compileSchema(schema: JsonSchema, options: { coerce?: boolean } = {}): Validator {
  const validate: ValidateFunction = (options.coerce ? coercingAjv : strictAjv).compile(schema);
  return {
    schema,
    check: (value, prefix) => (validate(value) ? [] : issuesOf(validate.errors, prefix)),
  };
}

function issuesOf(errors: ErrorObject[] | null | undefined, prefix: string): ProblemFieldError[] {
  return (errors ?? []).map((e) => {
    const params = e.params as { additionalProperty?: unknown; missingProperty?: unknown };
    if (e.keyword === "required")
      return { field: `${prefix}${e.instancePath}/${String(params.missingProperty)}`, reason: "is required" };
    if (e.keyword === "additionalProperties")
      return {
        field: `${prefix}${e.instancePath}/${String(params.additionalProperty)}`,
        reason: "is not allowed",
      };
    return { field: `${prefix}${e.instancePath}`, reason: e.message ?? e.keyword };
  });
}
