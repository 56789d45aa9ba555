// Property: whenever the rules say a reader accepts a writer (readerAccepts → []), every `data` generated
// from the writer's schema validates under the reader's (ajv). Schemas are random; readers are random
// mutations of the writer (types, bounds, enums, required, properties, open/closed content, items), so
// both compatible and breaking changes occur. Generated data holds only the properties the writer names
// (Herald's open-content stance, docs/schema-registry.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { type JsonSchema, readerAccepts } from "../src/schemas/compatibility.js";

type S = Record<string, unknown>;
const NAMES = ["a", "b", "c", "d"];
const VALUES = [0, 1, 2, "x", "y", true, null];

const leaf: fc.Arbitrary<S> = fc.oneof(
  fc.record(
    {
      type: fc.constant("integer"),
      minimum: fc.integer({ min: -5, max: 5 }),
      maximum: fc.integer({ min: 5, max: 20 }),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    { type: fc.constant("integer"), multipleOf: fc.constantFrom(2, 3, 4) },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    {
      type: fc.constant("number"),
      minimum: fc.integer({ min: -5, max: 5 }),
      exclusiveMaximum: fc.integer({ min: 6, max: 20 }),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record(
    {
      type: fc.constant("string"),
      minLength: fc.integer({ min: 0, max: 3 }),
      maxLength: fc.integer({ min: 3, max: 8 }),
    },
    { requiredKeys: ["type"] },
  ),
  fc.constant({ type: "boolean" }),
  fc.constant({ type: ["string", "null"] }),
  fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 4 }).map((e) => ({ enum: e })),
  fc.constantFrom(...VALUES).map((v) => ({ const: v })),
);

const schema: fc.Arbitrary<S> = fc.letrec<{ node: S }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record(
      {
        type: fc.constant("array"),
        items: tie("node"),
        minItems: fc.integer({ min: 0, max: 2 }),
        maxItems: fc.integer({ min: 2, max: 4 }),
      },
      { requiredKeys: ["type", "items"] },
    ),
    fc
      .record({
        properties: fc.dictionary(fc.constantFrom(...NAMES), tie("node"), { maxKeys: 3 }),
        closed: fc.boolean(),
        required: fc.subarray(NAMES),
      })
      .map(({ properties, closed, required }) => ({
        type: "object",
        properties,
        required: required.filter((n) => n in properties),
        ...(closed ? { additionalProperties: false } : {}),
      })),
  ),
})).node;

/** A deterministic change driven by `picks`: each pick chooses a node and a mutation of it. */
function mutate(root: S, picks: readonly number[], replacement: S): S {
  const copy = structuredClone(root);
  const nodes: S[] = [];
  const walk = (s: S) => {
    nodes.push(s);
    if (s.items) walk(s.items as S);
    for (const child of Object.values((s.properties ?? {}) as Record<string, S>)) walk(child);
  };
  walk(copy);
  for (const pick of picks) {
    const node = nodes[pick % nodes.length]!;
    switch (Math.floor(pick / 7) % 12) {
      case 0:
        if (node.type === "integer") node.type = "number";
        else if (node.type === "number") node.type = "integer";
        break;
      case 1:
        if (typeof node.minimum === "number") node.minimum += pick % 2 === 0 ? 1 : -1;
        if (typeof node.minLength === "number")
          node.minLength = Math.max(0, node.minLength + (pick % 2 === 0 ? 1 : -1));
        break;
      case 2:
        if (typeof node.maximum === "number") node.maximum += pick % 2 === 0 ? 1 : -1;
        if (typeof node.maxLength === "number")
          node.maxLength = Math.max(0, node.maxLength + (pick % 2 === 0 ? 1 : -1));
        if (typeof node.exclusiveMaximum === "number") node.exclusiveMaximum += pick % 2 === 0 ? 1 : -1;
        if (typeof node.maxItems === "number")
          node.maxItems = Math.max(0, node.maxItems + (pick % 2 === 0 ? 1 : -1));
        break;
      case 3:
        if (Array.isArray(node.enum)) {
          const values = node.enum as unknown[];
          node.enum =
            pick % 2 === 0 && values.length > 1
              ? values.slice(1)
              : [...new Set([...values, VALUES[pick % VALUES.length]])];
        }
        break;
      case 4:
        if (Array.isArray(node.required)) {
          const names = Object.keys((node.properties ?? {}) as S);
          const name = names[pick % Math.max(1, names.length)];
          if (name !== undefined) {
            const required = node.required as string[];
            node.required = required.includes(name)
              ? required.filter((n) => n !== name)
              : [...required, name];
          }
        }
        break;
      case 5:
        if (node.type === "object") {
          const properties = node.properties as Record<string, S>;
          properties[NAMES[pick % NAMES.length]!] = structuredClone(replacement);
        }
        break;
      case 6:
        if (node.type === "object")
          delete (node.properties as Record<string, S>)[NAMES[pick % NAMES.length]!];
        break;
      case 7:
        if (node.type === "object") {
          if (node.additionalProperties === false) delete node.additionalProperties;
          else node.additionalProperties = false;
        }
        break;
      case 8:
        if (node.type === "integer") node.multipleOf = (pick % 3) + 2;
        break;
      case 9:
        if ("const" in node) node.const = VALUES[pick % VALUES.length];
        break;
      case 10:
        if (typeof node.minItems === "number")
          node.minItems = Math.max(0, node.minItems + (pick % 2 === 0 ? 1 : -1));
        break;
      default:
        if (node.type === "string") node.type = ["string", "null"];
        else if (Array.isArray(node.type)) node.type = "string";
    }
  }
  // Keep `required` within the properties a change removed.
  for (const node of nodes)
    if (Array.isArray(node.required))
      node.required = (node.required as string[]).filter((n) => n in ((node.properties ?? {}) as S));
  return copy;
}

/** Data of a writer's schema: only the properties it names (required always, others sometimes). */
function instance(s: S): fc.Arbitrary<unknown> {
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const type = s.type;
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => instance({ ...s, type: t })));
  switch (type) {
    case "integer": {
      const min = (s.minimum as number | undefined) ?? -50;
      const max = (s.maximum as number | undefined) ?? 50;
      const step = (s.multipleOf as number | undefined) ?? 1;
      const lo = Math.ceil(min / step);
      const hi = Math.floor(max / step);
      return lo > hi ? fc.constant(Number.NaN) : fc.integer({ min: lo, max: hi }).map((k) => k * step);
    }
    case "number": {
      const min = (s.minimum as number | undefined) ?? -50;
      const below = (s.exclusiveMaximum as number | undefined) ?? 50;
      return fc.oneof(
        fc.double({ min, max: below, noNaN: true, noDefaultInfinity: true }).filter((n) => n < below),
        fc.integer({ min: Math.ceil(min), max: Math.ceil(below) - 1 }),
      );
    }
    case "string":
      return fc.string({ minLength: (s.minLength as number) ?? 0, maxLength: (s.maxLength as number) ?? 8 });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(instance(s.items as S), {
        minLength: (s.minItems as number) ?? 0,
        maxLength: (s.maxItems as number) ?? 4,
      });
    case "object": {
      const properties = (s.properties ?? {}) as Record<string, S>;
      const model = Object.fromEntries(Object.entries(properties).map(([n, p]) => [n, instance(p)]));
      return fc.record(model, { requiredKeys: (s.required ?? []) as string[] });
    }
    default:
      return fc.anything();
  }
}

describe("schema rules: property", () => {
  it("compatible by the rules ⇒ the writer's generated data validates under the reader", () => {
    const ajv = new Ajv2020({ strict: false });
    let compatibleChanges = 0;
    let breaking = 0;
    fc.assert(
      fc.property(
        schema
          .chain((writer) =>
            fc.tuple(fc.constant(writer), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), leaf),
          )
          .chain(([writer, picks, replacement]) => {
            const reader = mutate(writer, picks, replacement);
            return fc.tuple(
              fc.constant(writer),
              fc.constant(reader),
              fc.array(instance(writer), { minLength: 1, maxLength: 8 }),
            );
          }),
        ([writer, reader, samples]) => {
          const findings = readerAccepts(reader as JsonSchema, writer as JsonSchema);
          if (findings.length > 0) {
            breaking++;
            return;
          }
          if (JSON.stringify(reader) !== JSON.stringify(writer)) compatibleChanges++;
          const validWriter = ajv.compile(writer);
          const validReader = ajv.compile(reader);
          for (const sample of samples) {
            if (!validWriter(sample)) continue; // an empty range (min above max): nothing to send
            assert.ok(
              validReader(sample),
              `compatible by the rules, yet ${JSON.stringify(sample)} (the writer's ${JSON.stringify(writer)}) is refused by ${JSON.stringify(reader)}`,
            );
          }
        },
      ),
      { numRuns: 1500 },
    );
    // The property is only worth something if both kinds of change happened many times.
    assert.ok(compatibleChanges > 100, `only ${compatibleChanges} compatible changes were generated`);
    assert.ok(breaking > 100, `only ${breaking} breaking changes were generated`);
  });
});
