// The compatibility rules, one case per rule (docs/schema-registry.md lists the same rules; a test below
// checks both lists agree). Each breaking case carries a witness: data valid under the writer's schema
// that the reader's refuses, so the rule is shown to be real, not just reported. Each compatible case
// carries samples the reader must accept.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  checkSchemaDocument,
  type JsonSchema,
  pairsToCheck,
  readerAccepts,
  SchemaDocumentError,
} from "../src/schemas/compatibility.js";

const ajv = new Ajv2020({ strict: false, allErrors: true });
const valid = (schema: JsonSchema, data: unknown) => ajv.validate(schema, data) as boolean;

interface Breaking {
  readonly rule: string;
  readonly writer: JsonSchema;
  readonly reader: JsonSchema;
  /** Valid under the writer, refused by the reader; absent where Herald only cannot prove. */
  readonly witness?: unknown;
  readonly path?: string;
}

const obj = (properties: Record<string, JsonSchema>, extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  ...extra,
});

export const BREAKING: readonly Breaking[] = [
  { rule: "schema-false", writer: { type: "string" }, reader: false, witness: "a" },
  { rule: "type-narrowed", writer: { type: "number" }, reader: { type: "integer" }, witness: 1.5 },
  { rule: "type-added", writer: {}, reader: { type: "string" }, witness: 1 },
  {
    rule: "required-added",
    writer: obj({ a: { type: "string" } }),
    reader: obj({ a: { type: "string" } }, { required: ["a"] }),
    witness: {},
    path: "#/required",
  },
  {
    rule: "property-removed-closed",
    writer: obj({ a: { type: "string" }, b: { type: "string" } }),
    reader: obj({ a: { type: "string" } }, { additionalProperties: false }),
    witness: { b: "x" },
  },
  {
    rule: "content-closed",
    writer: obj({ a: { type: "string" } }),
    reader: obj({ a: { type: "string" } }, { additionalProperties: false }),
  },
  { rule: "enum-narrowed", writer: { enum: ["a", "b"] }, reader: { enum: ["a"] }, witness: "b" },
  { rule: "enum-added", writer: { type: "string" }, reader: { enum: ["a"] }, witness: "z" },
  { rule: "const-changed", writer: { const: 1 }, reader: { const: 2 }, witness: 1 },
  { rule: "const-added", writer: { type: "integer" }, reader: { const: 2 }, witness: 1 },
  {
    rule: "minimum-raised",
    writer: { type: "number", minimum: 0 },
    reader: { type: "number", minimum: 1 },
    witness: 0.5,
  },
  {
    rule: "minimum-raised",
    writer: { type: "number", minimum: 0 },
    reader: { type: "number", exclusiveMinimum: 0 },
    witness: 0,
    path: "#/exclusiveMinimum",
  },
  {
    rule: "maximum-lowered",
    writer: { type: "number" },
    reader: { type: "number", maximum: 10 },
    witness: 11,
  },
  {
    rule: "multipleOf-tightened",
    writer: { type: "integer" },
    reader: { type: "integer", multipleOf: 2 },
    witness: 3,
  },
  {
    rule: "minLength-raised",
    writer: { type: "string" },
    reader: { type: "string", minLength: 2 },
    witness: "a",
  },
  {
    rule: "maxLength-lowered",
    writer: { type: "string", maxLength: 10 },
    reader: { type: "string", maxLength: 3 },
    witness: "abcd",
  },
  {
    rule: "pattern-changed",
    writer: { type: "string" },
    reader: { type: "string", pattern: "^a" },
    witness: "b",
  },
  {
    rule: "format-changed",
    writer: { type: "string" },
    reader: { type: "string", format: "email" },
  },
  {
    rule: "minItems-raised",
    writer: { type: "array" },
    reader: { type: "array", minItems: 1 },
    witness: [],
  },
  {
    rule: "maxItems-lowered",
    writer: { type: "array", maxItems: 5 },
    reader: { type: "array", maxItems: 2 },
    witness: [1, 2, 3],
  },
  {
    rule: "uniqueItems-added",
    writer: { type: "array" },
    reader: { type: "array", uniqueItems: true },
    witness: [1, 1],
  },
  {
    rule: "minProperties-raised",
    writer: obj({ a: { type: "string" } }),
    reader: obj({ a: { type: "string" } }, { minProperties: 1 }),
    witness: {},
  },
  {
    rule: "maxProperties-lowered",
    writer: obj({ a: { type: "string" }, b: { type: "string" } }),
    reader: obj({ a: { type: "string" }, b: { type: "string" } }, { maxProperties: 1 }),
    witness: { a: "x", b: "y" },
  },
  {
    rule: "cannot-prove",
    writer: { type: "string" },
    reader: { anyOf: [{ type: "integer" }, { type: "string", minLength: 3 }] },
    witness: "a",
    path: "#/anyOf",
  },
  {
    rule: "cannot-prove",
    writer: { type: "integer" },
    reader: { oneOf: [{ type: "integer" }, { type: "number" }] },
    witness: 1,
    path: "#/oneOf",
  },
  {
    rule: "cannot-prove",
    writer: { type: "string" },
    reader: { type: "string", not: { const: "x" } },
    witness: "x",
    path: "#/not",
  },
];

interface Compatible {
  readonly name: string;
  readonly writer: JsonSchema;
  readonly reader: JsonSchema;
  readonly samples: readonly unknown[];
}

const COMPATIBLE: readonly Compatible[] = [
  {
    name: "integer widened to number",
    writer: { type: "integer" },
    reader: { type: "number" },
    samples: [1, -3],
  },
  {
    name: "a type added to the reader",
    writer: { type: "string" },
    reader: { type: ["string", "null"] },
    samples: ["a"],
  },
  {
    name: "an optional property added to an OPEN schema (Confluent #1458, #2927)",
    writer: obj({ a: { type: "string" } }),
    reader: obj({ a: { type: "string" }, b: { type: "integer" } }),
    samples: [{ a: "x" }, {}],
  },
  {
    name: "an optional property added to a closed schema",
    writer: obj({ a: { type: "string" } }, { additionalProperties: false }),
    reader: obj({ a: { type: "string" }, b: { type: "integer" } }, { additionalProperties: false }),
    samples: [{ a: "x" }],
  },
  {
    name: "a property removed from an open reader",
    writer: obj({ a: { type: "string" }, b: { type: "string" } }),
    reader: obj({ a: { type: "string" } }),
    samples: [{ a: "x", b: "y" }],
  },
  {
    name: "a required property no longer required",
    writer: obj({ a: { type: "string" } }, { required: ["a"] }),
    reader: obj({ a: { type: "string" } }),
    samples: [{ a: "x" }],
  },
  { name: "enum widened", writer: { enum: ["a"] }, reader: { enum: ["a", "b"] }, samples: ["a"] },
  {
    name: "const within the reader's enum",
    writer: { const: "a" },
    reader: { enum: ["a", "b"] },
    samples: ["a"],
  },
  {
    name: "an enum inside the reader's bounds",
    writer: { enum: [2, 4] },
    reader: { type: "integer", minimum: 1, maximum: 5, multipleOf: 2 },
    samples: [2, 4],
  },
  {
    name: "bounds relaxed",
    writer: { type: "number", minimum: 1, maximum: 5 },
    reader: { type: "number", minimum: 0, exclusiveMaximum: 6 },
    samples: [1, 5],
  },
  {
    name: "multipleOf relaxed",
    writer: { type: "integer", multipleOf: 4 },
    reader: { type: "integer", multipleOf: 2 },
    samples: [8],
  },
  {
    name: "lengths relaxed, same pattern and format",
    writer: { type: "string", minLength: 2, maxLength: 8, pattern: "^a", format: "email" },
    reader: { type: "string", minLength: 1, maxLength: 10, pattern: "^a", format: "email" },
    samples: ["a@b.c"],
  },
  {
    name: "items widened, array bounds relaxed",
    writer: { type: "array", items: { type: "integer" }, minItems: 1, maxItems: 3, uniqueItems: true },
    reader: { type: "array", items: { type: "number" } },
    samples: [[1, 2]],
  },
  {
    name: "nested objects: an optional property deep inside",
    writer: obj(
      { address: obj({ city: { type: "string" } }, { required: ["city"] }) },
      { required: ["address"] },
    ),
    reader: obj(
      { address: obj({ city: { type: "string" }, zip: { type: "string" } }, { required: ["city"] }) },
      {
        required: ["address"],
      },
    ),
    samples: [{ address: { city: "Paris" } }],
  },
  {
    name: "$ref within the document, on both sides",
    writer: {
      $defs: { id: { type: "integer" } },
      type: "object",
      properties: { id: { $ref: "#/$defs/id" } },
    },
    reader: {
      definitions: { id: { type: "number" } },
      type: "object",
      properties: { id: { $ref: "#/definitions/id" } },
    },
    samples: [{ id: 3 }],
  },
  {
    name: "a recursive schema against itself",
    writer: { $defs: { node: obj({ next: { $ref: "#/$defs/node" } }) }, $ref: "#/$defs/node" },
    reader: { $defs: { node: obj({ next: { $ref: "#/$defs/node" } }) }, $ref: "#/$defs/node" },
    samples: [{ next: { next: {} } }],
  },
  {
    name: "a reader anyOf with a branch that takes the writer",
    writer: { type: "string", minLength: 3 },
    reader: { anyOf: [{ type: "integer" }, { type: "string" }] },
    samples: ["abc"],
  },
  {
    name: "a writer anyOf whose every branch the reader takes",
    writer: { anyOf: [{ type: "integer" }, { type: "string" }] },
    reader: { type: ["number", "string"] },
    samples: [1, "a"],
  },
  {
    name: "the same oneOf on both sides",
    writer: { oneOf: [{ type: "integer" }, { type: "string" }] },
    reader: { oneOf: [{ type: "integer" }, { type: "string" }] },
    samples: [1, "a"],
  },
  { name: "a reader of anything", writer: { type: "string" }, reader: true, samples: ["a"] },
];

describe("compatibility rules: each breaking rule", () => {
  for (const c of BREAKING) {
    it(`${c.rule}${c.path ? ` (${c.path})` : ""}: ${JSON.stringify(c.writer)} → ${JSON.stringify(c.reader)}`, () => {
      const found = readerAccepts(c.reader, c.writer);
      assert.ok(
        found.some((f) => f.rule === c.rule && (c.path === undefined || f.path === c.path)),
        `expected ${c.rule}, got ${JSON.stringify(found)}`,
      );
      for (const f of found) assert.ok(f.reason.length > 0 && f.path.startsWith("#"));
      if (c.witness !== undefined) {
        assert.equal(valid(c.writer, c.witness), true, "the witness is the writer's data");
        assert.equal(valid(c.reader, c.witness), false, "and the reader refuses it");
      }
    });
  }
});

describe("compatibility rules: compatible changes", () => {
  for (const c of COMPATIBLE) {
    it(c.name, () => {
      assert.deepEqual(readerAccepts(c.reader, c.writer), []);
      for (const sample of c.samples) {
        assert.equal(valid(c.writer, sample), true, `${JSON.stringify(sample)} is the writer's`);
        assert.equal(valid(c.reader, sample), true, `${JSON.stringify(sample)} is taken by the reader`);
      }
    });
  }
});

describe("schema documents", () => {
  it("refuses a $ref to another document, and one that points nowhere", () => {
    assert.throws(
      () => checkSchemaDocument({ properties: { a: { $ref: "https://example.com/a.json" } } }),
      (e: unknown) => e instanceof SchemaDocumentError && e.path === "#/properties/a/$ref",
    );
    assert.throws(() => checkSchemaDocument({ $ref: "#/$defs/missing" }), SchemaDocumentError);
    checkSchemaDocument({ $defs: { a: { type: "string" } }, properties: { a: { $ref: "#/$defs/a" } } });
  });
});

describe("compatibility modes", () => {
  const v1: JsonSchema = { type: "integer" };
  const v2: JsonSchema = { type: "number" };
  const prior = [
    { version: 1, schema: v1 },
    { version: 2, schema: v2 },
  ];
  const candidate: JsonSchema = { type: "integer" };
  const judged = (mode: Parameters<typeof pairsToCheck>[0]) =>
    pairsToCheck(mode, candidate, prior).map((p) => ({
      version: p.version,
      reader: p.reader === candidate ? "new" : "old",
    }));

  it("BACKWARD: the new schema reads the latest version's data", () => {
    assert.deepEqual(judged("BACKWARD"), [{ version: 2, reader: "new" }]);
  });
  it("FORWARD: the latest version's readers read the new data", () => {
    assert.deepEqual(judged("FORWARD"), [{ version: 2, reader: "old" }]);
  });
  it("FULL: both ways", () => {
    assert.deepEqual(judged("FULL"), [
      { version: 2, reader: "new" },
      { version: 2, reader: "old" },
    ]);
  });
  it("TRANSITIVE: against every version", () => {
    assert.deepEqual(judged("BACKWARD_TRANSITIVE"), [
      { version: 1, reader: "new" },
      { version: 2, reader: "new" },
    ]);
    assert.deepEqual(judged("FORWARD_TRANSITIVE").length, 2);
    assert.deepEqual(judged("FULL_TRANSITIVE").length, 4);
  });
  it("NONE, or a first version: nothing to check", () => {
    assert.deepEqual(judged("NONE"), []);
    assert.deepEqual(pairsToCheck("FULL", candidate, []), []);
  });
  it("number → integer breaks BACKWARD against v2 but not against v1", () => {
    const against = pairsToCheck("BACKWARD_TRANSITIVE", candidate, prior).map((p) => ({
      version: p.version,
      breaking: readerAccepts(p.reader, p.writer).map((f) => f.rule),
    }));
    assert.deepEqual(against, [
      { version: 1, breaking: [] },
      { version: 2, breaking: ["type-narrowed"] },
    ]);
  });
});

describe("docs/schema-registry.md", () => {
  it("lists exactly the rules these cases cover", () => {
    const text = readFileSync(new URL("../../../../docs/schema-registry.md", import.meta.url), "utf8");
    const documented = new Set([...text.matchAll(/^\| `([a-z][a-zA-Z-]+)` \|/gm)].map((m) => m[1]!));
    const tested = new Set(BREAKING.map((c) => c.rule));
    assert.deepEqual([...documented].sort(), [...tested].sort());
  });
});
