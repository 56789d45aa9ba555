// Event definitions in YAML files, one top-level key per event (the trigger key, see trigger.ts):
//
//   http.post./orders:
//     fn: ./handlers/orders.js#place      # module (relative to the file) and export (default: default)
//     input: { body: { $ref: ./schemas/order.json } }
//     output: { 201: { type: object } }
//     onInvalid: ./handlers/orders.js#invalid   # optional validation-error hook (http, ws, herald.*, transports)
//
// Schemas are inline JSON Schema or `{ $ref: <file>[#/json/pointer] }` (JSON or YAML, relative to the
// file). Every load error names the file, line, column and key: an EventFileError.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv } from "ajv";
import { isMap, isScalar, LineCounter, type Node, parse, parseDocument } from "yaml";
import { defineEventSource, type EventSourceDefinition } from "./definition.js";
import type { JsonSchema } from "./schema.js";
import { parseTriggerKey, type Trigger } from "./trigger.js";

/** A definition file that cannot be loaded: where, which key, and why. */
export class EventFileError extends Error {
  override readonly name = "EventFileError";
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly key: string | undefined;
  readonly reason: string;
  constructor(file: string, line: number, column: number, key: string | undefined, reason: string) {
    super(`${file}:${line}:${column}${key === undefined ? "" : ` ${key}`}: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.key = key;
    this.reason = reason;
  }
}

const schemaValue = { anyOf: [{ type: "object" }, { type: "boolean" }] };
const common = {
  fn: { type: "string", minLength: 1 },
  summary: { type: "string" },
  description: { type: "string" },
  tags: { type: "array", items: { type: "string" } },
};
const auth = {
  type: "object",
  additionalProperties: false,
  properties: { required: { type: "boolean" }, scopes: { type: "array", items: { type: "string" } } },
};
// The shape of one event's entry, per trigger kind.
const SHAPES: Record<Trigger["kind"], object> = {
  http: {
    type: "object",
    required: ["fn"],
    additionalProperties: false,
    properties: {
      ...common,
      auth,
      authorize: { type: "string" },
      onInvalid: { type: "string" },
      input: {
        type: "object",
        additionalProperties: false,
        properties: { body: schemaValue, params: schemaValue, query: schemaValue, headers: schemaValue },
      },
      output: {
        type: "object",
        propertyNames: { pattern: "^[1-5][0-9][0-9]$" },
        additionalProperties: schemaValue,
      },
    },
  },
  ws: {
    type: "object",
    required: ["fn"],
    additionalProperties: false,
    properties: {
      ...common,
      auth,
      authorize: { type: "string" },
      onInvalid: { type: "string" },
      input: { type: "object", additionalProperties: false, properties: { message: schemaValue } },
      output: { type: "object", additionalProperties: false, properties: { message: schemaValue } },
    },
  },
  cron: {
    type: "object",
    required: ["fn"],
    additionalProperties: false,
    properties: {
      ...common,
      name: { type: "string", minLength: 1 },
      overlap: { enum: ["skip", "allow"] },
      missed: { enum: ["skip", "fire-once"] },
      deliver: {
        oneOf: [
          {
            type: "object",
            additionalProperties: false,
            required: ["mode"],
            properties: { mode: { const: "local" }, maxAttempts: { type: "integer", minimum: 1 } },
          },
          {
            type: "object",
            additionalProperties: false,
            required: ["mode", "stream", "subscription"],
            properties: {
              mode: { const: "broker" },
              stream: { type: "string", minLength: 1 },
              subscription: { type: "string", minLength: 1 },
            },
          },
        ],
      },
    },
  },
  herald: {
    type: "object",
    required: ["fn"],
    additionalProperties: false,
    properties: {
      ...common,
      types: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
      data: schemaValue,
      output: schemaValue,
      mode: { enum: ["pull", "push"] },
      unmatched: { enum: ["dead-letter", "nack"] },
      deadLetterStream: { type: "string", minLength: 1 },
      authorize: { type: "string" },
      onInvalid: { type: "string" },
      subscription: { type: "object" },
    },
  },
  transport: {
    type: "object",
    required: ["fn"],
    additionalProperties: false,
    properties: {
      ...common,
      types: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
      data: schemaValue,
      output: schemaValue,
      unmatched: { enum: ["dead-letter", "nack"] },
      authorize: { type: "string" },
      onInvalid: { type: "string" },
      maxInFlight: { type: "integer", minimum: 1 },
      maxDeliveries: { type: "integer", minimum: 1 },
      emitTo: { type: "string", minLength: 1 },
    },
  },
};
const ajv = new Ajv({ allErrors: true, strict: false });
const validators = Object.fromEntries(
  Object.entries(SHAPES).map(([kind, schema]) => [kind, ajv.compile(schema)]),
) as Record<Trigger["kind"], ReturnType<Ajv["compile"]>>;

/** Loads every `.yaml`/`.yml` file under `path` (or the one file). */
export async function loadEventDefinitions(path: string): Promise<EventSourceDefinition[]> {
  const files = (await stat(path)).isDirectory() ? await yamlFiles(path) : [path];
  const definitions: EventSourceDefinition[] = [];
  for (const file of files) definitions.push(...(await loadEventFile(file)));
  return definitions;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(path)));
    else if ([".yaml", ".yml"].includes(extname(entry.name))) out.push(path);
  }
  return out;
}

export async function loadEventFile(file: string): Promise<EventSourceDefinition[]> {
  const text = await readFile(file, "utf8");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: Node | null | undefined, key: string | undefined, reason: string): EventFileError => {
    const pos = lines.linePos(node?.range?.[0] ?? 0);
    return new EventFileError(file, pos.line, pos.col, key, reason);
  };
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    throw new EventFileError(file, pos.line, pos.col, undefined, first.message.split("\n")[0]!);
  }
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) throw at(doc.contents, undefined, "the file must be a map of event keys");
  const definitions: EventSourceDefinition[] = [];
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
    if (key === undefined) throw at(keyNode, undefined, "an event key must be a string");
    let trigger: Trigger;
    try {
      trigger = parseTriggerKey(key);
    } catch (error) {
      throw at(keyNode, key, (error as Error).message);
    }
    const valueNode = pair.value as Node | null;
    const entry = valueNode?.toJSON() as unknown;
    const validate = validators[trigger.kind];
    if (!validate(entry)) {
      const error = validate.errors![0]!;
      const segments = error.instancePath.split("/").filter(Boolean);
      let node = (segments.length > 0 && isMap(valueNode) ? valueNode.getIn(segments, true) : valueNode) as
        | Node
        | undefined;
      if (error.keyword === "additionalProperties" && isMap(node)) {
        // Point at the unknown member itself.
        const name = (error.params as { additionalProperty: string }).additionalProperty;
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === name);
        if (pair) node = pair.key as Node;
      }
      const where = error.instancePath === "" ? "" : `${error.instancePath.slice(1).replaceAll("/", ".")} `;
      const detail =
        error.keyword === "additionalProperties"
          ? `unknown member ${String((error.params as { additionalProperty: string }).additionalProperty)}`
          : error.keyword === "required"
            ? `needs ${String((error.params as { missingProperty: string }).missingProperty)}`
            : (error.message ?? error.keyword);
      throw at(node ?? valueNode ?? keyNode, key, `${where}${detail}`.trim());
    }
    const spec = entry as Record<string, unknown>;
    const nodeOf = (...path: string[]) =>
      isMap(valueNode) ? (valueNode.getIn(path, true) as Node) : valueNode;
    const dir = dirname(file);
    const schema = async (value: unknown, ...path: string[]) => {
      try {
        return await resolveSchema(value as JsonSchema | undefined, dir);
      } catch (error) {
        throw at(nodeOf(...path), key, (error as Error).message);
      }
    };
    const fn = async (member: "fn" | "authorize" | "onInvalid") => {
      try {
        return await importFunction(spec[member] as string, dir);
      } catch (error) {
        throw at(nodeOf(member), key, (error as Error).message);
      }
    };
    const handler = await fn("fn");
    const authorize = typeof spec["authorize"] === "string" ? await fn("authorize") : undefined;
    const onInvalid = typeof spec["onInvalid"] === "string" ? await fn("onInvalid") : undefined;
    const described = { summary: spec["summary"], description: spec["description"], tags: spec["tags"] };
    const base = { ...described, trigger: key, handler, authorize, onInvalid } as Record<string, unknown>;
    switch (trigger.kind) {
      case "http": {
        const input = (spec["input"] ?? {}) as Record<string, unknown>;
        const output = spec["output"] as Record<string, unknown> | undefined;
        const resolvedInput: Record<string, JsonSchema | undefined> = {};
        for (const part of ["body", "params", "query", "headers"])
          if (input[part] !== undefined) resolvedInput[part] = await schema(input[part], "input", part);
        let resolvedOutput: Record<string, JsonSchema | undefined> | undefined;
        if (output) {
          resolvedOutput = {};
          for (const [status, s] of Object.entries(output))
            resolvedOutput[status] = await schema(s, "output", status);
        }
        definitions.push(
          defineEventSource({
            ...base,
            auth: spec["auth"],
            input: resolvedInput,
            output: resolvedOutput,
          } as never),
        );
        break;
      }
      case "ws": {
        const input = (spec["input"] ?? {}) as Record<string, unknown>;
        const output = (spec["output"] ?? {}) as Record<string, unknown>;
        definitions.push(
          defineEventSource({
            ...base,
            auth: spec["auth"],
            input: { message: await schema(input["message"], "input", "message") },
            output: { message: await schema(output["message"], "output", "message") },
          } as never),
        );
        break;
      }
      case "cron":
        definitions.push(
          defineEventSource({
            ...base,
            name: spec["name"],
            overlap: spec["overlap"],
            missed: spec["missed"],
            deliver: spec["deliver"],
          } as never),
        );
        break;
      case "herald":
        definitions.push(
          defineEventSource({
            ...base,
            types: spec["types"],
            data: await schema(spec["data"], "data"),
            output: await schema(spec["output"], "output"),
            mode: spec["mode"],
            unmatched: spec["unmatched"],
            deadLetterStream: spec["deadLetterStream"],
            subscription: spec["subscription"],
          } as never),
        );
        break;
      case "transport":
        definitions.push(
          defineEventSource({
            ...base,
            types: spec["types"],
            data: await schema(spec["data"], "data"),
            output: await schema(spec["output"], "output"),
            unmatched: spec["unmatched"],
            maxInFlight: spec["maxInFlight"],
            maxDeliveries: spec["maxDeliveries"],
            emitTo: spec["emitTo"],
          } as never),
        );
        break;
    }
  }
  return definitions;
}

/** `{ $ref: "./order.json#/Order" }` → the schema in that file; inline schemas as they are. */
async function resolveSchema(value: JsonSchema | undefined, dir: string): Promise<JsonSchema | undefined> {
  if (value === undefined || typeof value === "boolean") return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref !== "string" || ref.startsWith("#")) {
    try {
      ajv.compile(value);
    } catch (error) {
      throw new Error(`invalid JSON Schema: ${(error as Error).message}`);
    }
    return value;
  }
  const [path, pointer] = ref.split("#", 2) as [string, string | undefined];
  const target = resolve(dir, path);
  let text: string;
  try {
    text = await readFile(target, "utf8");
  } catch {
    throw new Error(`$ref ${ref}: cannot read ${target}`);
  }
  let found: unknown = [".json"].includes(extname(target)) ? JSON.parse(text) : parse(text);
  for (const segment of (pointer ?? "").split("/").filter(Boolean)) {
    const name = segment.replaceAll("~1", "/").replaceAll("~0", "~");
    found = (found as Record<string, unknown> | undefined)?.[name];
    if (found === undefined) throw new Error(`$ref ${ref}: no ${pointer} in ${target}`);
  }
  return resolveSchema(found as JsonSchema, dirname(target));
}

/** `./handlers/orders.js#place` → that export (default: `default`), which must be a function. */
async function importFunction(reference: string, dir: string): Promise<(...args: never[]) => unknown> {
  const [path, name = "default"] = reference.split("#", 2) as [string, string | undefined];
  const target = resolve(dir, path);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(target).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot import ${target}: ${(error as Error).message.split("\n")[0]}`);
  }
  const fn = module[name];
  if (typeof fn !== "function") throw new Error(`${target} has no function export ${name}`);
  return fn as (...args: never[]) => unknown;
}
