// The spec's JSON schema of the JSON event format, compiled with ajv + formats.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { conformanceDir } from "./paths.js";

// ajv-formats is CommonJS: under NodeNext its default import is the module object, whose .default is the plugin.
const addFormats = addFormatsModule.default;

let compiled: ValidateFunction | undefined;

/** Validates a JSON value against json-schema/cloudevents.json; returns ajv's error text or undefined. */
export function schemaErrors(value: unknown): string | undefined {
  if (compiled === undefined) {
    const schema = JSON.parse(
      readFileSync(join(conformanceDir(), "json-schema", "cloudevents.json"), "utf8"),
    );
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    compiled = ajv.compile(schema);
  }
  return compiled(value) ? undefined : JSON.stringify(compiled.errors);
}
