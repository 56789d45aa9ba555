// Herald's schema compatibility rules. One question: can a READER holding schema R accept every `data`
// a WRITER holding schema W declares? (W's instances ⊆ R's instances.) Each rule family is one function
// below; each finds the breaking changes of its keywords and names them by rule (docs/schema-registry.md
// lists every rule and its reason). The judgment is sound, not complete: where a rule cannot prove the
// reader accepts the writer's data it reports `cannot-prove` with why, never "compatible" by default.
//
// Herald's stance on open content (additionalProperties absent or true): a property the writer's schema
// does not name is not part of the writer's data, so a reader may add an OPTIONAL property to an open
// schema (Confluent refuses that: confluentinc/schema-registry #1458, #2927). A reader that closes
// content (additionalProperties false) where the writer was open is breaking: producers of the open
// schema are allowed to send more than they name.
import { isDeepStrictEqual } from "node:util";
import type { BreakingChange, CompatibilityMode } from "@herald/protocol";

/** A JSON Schema (draft 2020-12 / draft-07 keywords), as JSON. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };
type SchemaObject = { readonly [keyword: string]: unknown };

/** One rule's finding before the versions are known. */
export type Finding = Omit<BreakingChange, "version">;

/** A schema with where it sits: the document it came from (for `$ref`) and its JSON pointer. */
interface Located {
  readonly schema: JsonSchema;
  readonly root: JsonSchema;
  readonly path: string;
}

/** Why a schema cannot be registered (thrown by `checkSchemaDocument`). */
export class SchemaDocumentError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(reason);
    this.name = "SchemaDocumentError";
  }
}

/** The keywords the rules understand; a reader keyword outside them must equal the writer's. */
const UNDERSTOOD = new Set([
  "$schema",
  "$id",
  "$comment",
  "$defs",
  "definitions",
  "$ref",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "type",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "properties",
  "required",
  "additionalProperties",
  "minProperties",
  "maxProperties",
  "anyOf",
  "oneOf",
  "allOf",
]);

/**
 * Refuses documents the rules cannot judge: a `$ref` to another document (only `#…` pointers within
 * the schema are followed) or one that points nowhere.
 */
export function checkSchemaDocument(root: JsonSchema): void {
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) visit(node[i], `${path}/${i}`);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const object = node as SchemaObject;
    const ref = object.$ref;
    if (ref !== undefined) {
      if (typeof ref !== "string" || !ref.startsWith("#"))
        throw new SchemaDocumentError(
          `${path}/$ref`,
          `$ref ${JSON.stringify(ref)} points outside the document; only "#…" references within the schema are supported (inline the other schema under $defs)`,
        );
      if (resolvePointer(root, ref) === undefined)
        throw new SchemaDocumentError(
          `${path}/$ref`,
          `$ref ${JSON.stringify(ref)} points nowhere in the schema`,
        );
    }
    for (const [key, value] of Object.entries(object)) {
      if (key === "enum" || key === "const" || key === "default" || key === "examples") continue;
      visit(value, `${path}/${pointerSegment(key)}`);
    }
  };
  visit(root, "#");
}

/**
 * The breaking changes of letting a reader of `reader` accept data written with `writer`; empty when
 * compatible.
 */
export function readerAccepts(reader: JsonSchema, writer: JsonSchema): Finding[] {
  const findings: Finding[] = [];
  judge(
    { schema: reader, root: reader, path: "#" },
    { schema: writer, root: writer, path: "#" },
    findings,
    new Set(),
  );
  return findings;
}

/** Which (reader, writer) pairs a mode checks a new schema against, given the prior versions (oldest first). */
export function pairsToCheck(
  mode: CompatibilityMode,
  candidate: JsonSchema,
  prior: ReadonlyArray<{ readonly version: number; readonly schema: JsonSchema }>,
): Array<{ readonly version: number; readonly reader: JsonSchema; readonly writer: JsonSchema }> {
  if (mode === "NONE" || prior.length === 0) return [];
  const against = mode.endsWith("_TRANSITIVE") ? prior : prior.slice(-1);
  const base = mode.replace("_TRANSITIVE", "");
  const pairs: Array<{ version: number; reader: JsonSchema; writer: JsonSchema }> = [];
  for (const old of against) {
    // BACKWARD: the new schema reads data written with the old one.
    if (base === "BACKWARD" || base === "FULL")
      pairs.push({ version: old.version, reader: candidate, writer: old.schema });
    // FORWARD: readers of the old schema read data written with the new one.
    if (base === "FORWARD" || base === "FULL")
      pairs.push({ version: old.version, reader: old.schema, writer: candidate });
  }
  return pairs;
}

// ---------- the judge: refs, booleans, combinators, then one function per rule family ----------

function judge(reader: Located, writer: Located, out: Finding[], seen: Set<string>): void {
  const r = deref(reader);
  const w = deref(writer);
  // A recursive schema meets itself again: what holds for the rest of the pair holds here.
  // `seen` holds the pairs being judged up the stack (ancestors only).
  const key = `${r.path}\u0000${w.path}`;
  if (seen.has(key)) return;
  seen.add(key);
  try {
    judgeResolved(r, w, out, seen);
  } finally {
    seen.delete(key);
  }
}

function judgeResolved(r: Located, w: Located, out: Finding[], seen: Set<string>): void {
  if (r.schema === true || (isObject(r.schema) && Object.keys(r.schema).length === 0)) return;
  if (w.schema === false) return;
  if (r.schema === false) {
    out.push(finding(r.path, "schema-false", "the reader's schema is `false`: it accepts no data at all"));
    return;
  }
  const rs = r.schema as SchemaObject;
  const ws = (w.schema === true ? {} : w.schema) as SchemaObject;
  if (writerBranches(r, w, ws, out, seen)) return;
  combinatorRules(r, rs, w, ws, out, seen);
  unknownKeywordRule(r.path, rs, ws, out);
  typeRule(r.path, rs, ws, out);
  valueRule(r.path, rs, ws, out);
  numberRules(r.path, rs, ws, out);
  stringRules(r.path, rs, ws, out);
  arrayRules(r, rs, w, ws, out, seen);
  objectRules(r, rs, w, ws, out, seen);
}

/**
 * A writer built of `anyOf`/`oneOf`/`allOf`: its data satisfies its own keywords and one branch (or
 * every `allOf` item). Compatible when the writer's own keywords already prove it, or when each
 * alternative (its keywords with the branch's) does. Answers true when it has judged the pair.
 */
function writerBranches(
  r: Located,
  w: Located,
  ws: SchemaObject,
  out: Finding[],
  seen: Set<string>,
): boolean {
  const alternatives = (ws.anyOf ?? ws.oneOf) as JsonSchema[] | undefined;
  const all = ws.allOf as JsonSchema[] | undefined;
  if (alternatives === undefined && all === undefined) return false;
  if (isObject(r.schema) && isDeepStrictEqual(r.schema, ws)) return true;
  const { anyOf: _a, oneOf: _o, allOf: _l, ...own } = ws;
  const attempt = (schema: JsonSchema, path: string): Finding[] => {
    const found: Finding[] = [];
    judge(r, { schema, root: w.root, path }, found, seen);
    return found;
  };
  const plain = attempt(own, `${w.path}/~own`);
  if (plain.length === 0) return true;
  if (all !== undefined) {
    for (let i = 0; i < all.length; i++) {
      if (attempt(all[i]!, `${w.path}/allOf/${i}`).length === 0) return true;
    }
    if (alternatives === undefined) {
      out.push(...plain);
      return true;
    }
  }
  const kind = ws.anyOf !== undefined ? "anyOf" : "oneOf";
  const perBranch = alternatives!.map((branch, i) => {
    const located = deref({ schema: branch, root: w.root, path: `${w.path}/${kind}/${i}` });
    return attempt(mergeBranch(own, located.schema), `${located.path}/~merged`);
  });
  for (const found of perBranch) out.push(...found);
  return true;
}

/** The writer's own keywords with one branch's: object keywords travel together (they refer to each other). */
function mergeBranch(own: SchemaObject, branch: JsonSchema): JsonSchema {
  if (!isObject(branch)) return branch;
  const objectKeys = ["properties", "additionalProperties"];
  const merged: Record<string, unknown> = { ...own, ...branch };
  if (objectKeys.some((k) => k in branch)) for (const k of objectKeys) if (!(k in branch)) delete merged[k];
  if (Array.isArray(own.required) && Array.isArray(branch.required))
    merged.required = [...new Set([...(own.required as string[]), ...(branch.required as string[])])];
  return merged;
}

/** Reader `allOf` / `anyOf` / `oneOf`: the writer's data must satisfy every item / some branch / exactly one. */
function combinatorRules(
  r: Located,
  rs: SchemaObject,
  w: Located,
  ws: SchemaObject,
  out: Finding[],
  seen: Set<string>,
): void {
  const all = rs.allOf as JsonSchema[] | undefined;
  if (all !== undefined)
    for (let i = 0; i < all.length; i++)
      judge({ schema: all[i]!, root: r.root, path: `${r.path}/allOf/${i}` }, w, out, seen);
  const any = rs.anyOf as JsonSchema[] | undefined;
  if (any !== undefined) {
    const fits = any.some((branch, i) => {
      const found: Finding[] = [];
      judge({ schema: branch, root: r.root, path: `${r.path}/anyOf/${i}` }, w, found, seen);
      return found.length === 0;
    });
    if (!fits)
      out.push(
        finding(
          `${r.path}/anyOf`,
          "cannot-prove",
          "no branch of the reader's anyOf provably accepts all of the writer's data",
        ),
      );
  }
  const one = rs.oneOf as JsonSchema[] | undefined;
  if (one !== undefined && !isDeepStrictEqual(one, ws.oneOf)) {
    out.push(
      finding(
        `${r.path}/oneOf`,
        "cannot-prove",
        "the reader's oneOf differs from the writer's: Herald cannot prove the writer's data matches exactly one branch",
      ),
    );
  }
}

/** Keywords the rules do not understand (`not`, `if`, `patternProperties`…) must be the writer's own. */
function unknownKeywordRule(path: string, rs: SchemaObject, ws: SchemaObject, out: Finding[]): void {
  for (const keyword of Object.keys(rs)) {
    if (UNDERSTOOD.has(keyword) || isDeepStrictEqual(rs[keyword], ws[keyword])) continue;
    out.push(
      finding(
        `${path}/${pointerSegment(keyword)}`,
        "cannot-prove",
        `the reader's "${keyword}" differs from the writer's; Herald's rules do not judge this keyword`,
      ),
    );
  }
}

/** `type`: every type the writer allows must be one the reader allows (integer fits in number). */
function typeRule(path: string, rs: SchemaObject, ws: SchemaObject, out: Finding[]): void {
  const readerTypes = typesOf(rs);
  if (readerTypes === undefined) return;
  const values = valuesOf(ws);
  if (values !== undefined) {
    for (const value of values) {
      if (!readerTypes.some((t) => hasType(value, t)))
        out.push(
          finding(
            `${path}/type`,
            "type-narrowed",
            `the writer may send ${JSON.stringify(value)}, not of the reader's type ${readerTypes.join(" | ")}`,
          ),
        );
    }
    return;
  }
  const writerTypes = typesOf(ws);
  if (writerTypes === undefined) {
    out.push(
      finding(
        `${path}/type`,
        "type-added",
        `the writer's schema allows any type; the reader only ${readerTypes.join(" | ")}`,
      ),
    );
    return;
  }
  for (const t of writerTypes) {
    if (readerTypes.includes(t) || (t === "integer" && readerTypes.includes("number"))) continue;
    out.push(
      finding(
        `${path}/type`,
        "type-narrowed",
        t === "number" && readerTypes.includes("integer")
          ? "the writer may send fractional numbers; the reader accepts only integers"
          : `the writer may send ${t}; the reader accepts only ${readerTypes.join(" | ")}`,
      ),
    );
  }
}

/** `enum` / `const`: a reader's set of values must hold every value the writer may send. */
function valueRule(path: string, rs: SchemaObject, ws: SchemaObject, out: Finding[]): void {
  const readerValues = valuesOf(rs);
  if (readerValues === undefined) return;
  const keyword = "const" in rs ? "const" : "enum";
  const writerValues = valuesOf(ws);
  if (writerValues === undefined) {
    out.push(
      finding(
        `${path}/${keyword}`,
        keyword === "const" ? "const-added" : "enum-added",
        `the reader accepts only ${JSON.stringify(readerValues)}; the writer's values are not restricted`,
      ),
    );
    return;
  }
  const missing = writerValues.filter(
    (v) => !readerValues.some((accepted) => isDeepStrictEqual(v, accepted)),
  );
  if (missing.length > 0)
    out.push(
      finding(
        `${path}/${keyword}`,
        keyword === "const" ? "const-changed" : "enum-narrowed",
        `the writer may send ${missing.map((v) => JSON.stringify(v)).join(", ")}, which the reader does not accept`,
      ),
    );
}

/** `minimum`, `maximum`, their exclusive forms and `multipleOf`: the reader's range must hold the writer's. */
function numberRules(path: string, rs: SchemaObject, ws: SchemaObject, out: Finding[]): void {
  if (!mayBe(ws, "number")) return;
  const values = valuesOf(ws)?.filter((v): v is number => typeof v === "number");
  const lower = (s: SchemaObject) => bound(s, "minimum", "exclusiveMinimum", Math.max);
  const upper = (s: SchemaObject) => bound(s, "maximum", "exclusiveMaximum", Math.min);
  const rl = lower(rs);
  const wl = lower(ws);
  if (rl !== undefined) {
    const ok =
      values !== undefined
        ? values.every((v) => v > rl.value || (v === rl.value && !rl.exclusive))
        : wl !== undefined &&
          (wl.value > rl.value || (wl.value === rl.value && (wl.exclusive || !rl.exclusive)));
    if (!ok)
      out.push(
        finding(
          `${path}/${rl.keyword}`,
          "minimum-raised",
          wl === undefined && values === undefined
            ? `the reader needs numbers ${rl.exclusive ? ">" : "≥"} ${rl.value}; the writer's have no lower bound`
            : `the reader needs numbers ${rl.exclusive ? ">" : "≥"} ${rl.value}; the writer may send lower ones`,
        ),
      );
  }
  const ru = upper(rs);
  const wu = upper(ws);
  if (ru !== undefined) {
    const ok =
      values !== undefined
        ? values.every((v) => v < ru.value || (v === ru.value && !ru.exclusive))
        : wu !== undefined &&
          (wu.value < ru.value || (wu.value === ru.value && (wu.exclusive || !ru.exclusive)));
    if (!ok)
      out.push(
        finding(
          `${path}/${ru.keyword}`,
          "maximum-lowered",
          wu === undefined && values === undefined
            ? `the reader needs numbers ${ru.exclusive ? "<" : "≤"} ${ru.value}; the writer's have no upper bound`
            : `the reader needs numbers ${ru.exclusive ? "<" : "≤"} ${ru.value}; the writer may send higher ones`,
        ),
      );
  }
  const rm = rs.multipleOf;
  if (typeof rm === "number") {
    const wm = ws.multipleOf;
    const ok =
      values !== undefined
        ? values.every((v) => isMultiple(v, rm))
        : typeof wm === "number"
          ? isMultiple(wm, rm)
          : rm === 1 && typesOf(ws)?.every((t) => t === "integer") === true;
    if (!ok)
      out.push(
        finding(
          `${path}/multipleOf`,
          "multipleOf-tightened",
          `the reader needs multiples of ${rm}; the writer's numbers are not all such multiples`,
        ),
      );
  }
}

/** `minLength`, `maxLength`, `pattern`, `format`: the reader's string rules must admit the writer's strings. */
function stringRules(path: string, rs: SchemaObject, ws: SchemaObject, out: Finding[]): void {
  if (!mayBe(ws, "string")) return;
  const values = valuesOf(ws)?.filter((v): v is string => typeof v === "string");
  const length = (s: string) => [...s].length;
  const rMin = rs.minLength;
  if (typeof rMin === "number" && rMin > 0) {
    const wMin = ws.minLength;
    const ok =
      values !== undefined
        ? values.every((v) => length(v) >= rMin)
        : typeof wMin === "number" && wMin >= rMin;
    if (!ok)
      out.push(
        finding(
          `${path}/minLength`,
          "minLength-raised",
          `the reader needs strings of at least ${rMin} characters; the writer may send shorter ones`,
        ),
      );
  }
  const rMax = rs.maxLength;
  if (typeof rMax === "number") {
    const wMax = ws.maxLength;
    const ok =
      values !== undefined
        ? values.every((v) => length(v) <= rMax)
        : typeof wMax === "number" && wMax <= rMax;
    if (!ok)
      out.push(
        finding(
          `${path}/maxLength`,
          "maxLength-lowered",
          `the reader needs strings of at most ${rMax} characters; the writer may send longer ones`,
        ),
      );
  }
  const rPattern = rs.pattern;
  if (typeof rPattern === "string") {
    const ok =
      values !== undefined ? values.every((v) => new RegExp(rPattern, "u").test(v)) : ws.pattern === rPattern;
    if (!ok)
      out.push(
        finding(
          `${path}/pattern`,
          "pattern-changed",
          ws.pattern === undefined
            ? `the reader needs strings matching /${rPattern}/; the writer's strings are not restricted`
            : `the reader's pattern /${rPattern}/ differs from the writer's /${String(ws.pattern)}/: Herald cannot prove one language holds the other`,
        ),
      );
  }
  const rFormat = rs.format;
  if (typeof rFormat === "string" && values === undefined && ws.format !== rFormat)
    out.push(
      finding(
        `${path}/format`,
        "format-changed",
        `the reader needs format "${rFormat}"; the writer's strings ${ws.format === undefined ? "have no format" : `are "${String(ws.format)}"`}`,
      ),
    );
}

/** `items`, `prefixItems`, `minItems`, `maxItems`, `uniqueItems`: the writer's arrays must fit the reader's. */
function arrayRules(
  r: Located,
  rs: SchemaObject,
  w: Located,
  ws: SchemaObject,
  out: Finding[],
  seen: Set<string>,
): void {
  if (!mayBe(ws, "array") || valuesOf(ws) !== undefined) return;
  const path = r.path;
  const rMin = rs.minItems;
  if (typeof rMin === "number" && rMin > 0 && !(typeof ws.minItems === "number" && ws.minItems >= rMin))
    out.push(
      finding(
        `${path}/minItems`,
        "minItems-raised",
        `the reader needs at least ${rMin} items; the writer may send fewer`,
      ),
    );
  const rMax = rs.maxItems;
  if (typeof rMax === "number" && !(typeof ws.maxItems === "number" && ws.maxItems <= rMax))
    out.push(
      finding(
        `${path}/maxItems`,
        "maxItems-lowered",
        `the reader takes at most ${rMax} items; the writer may send more`,
      ),
    );
  if (rs.uniqueItems === true && ws.uniqueItems !== true)
    out.push(
      finding(
        `${path}/uniqueItems`,
        "uniqueItems-added",
        "the reader needs unique items; the writer may repeat one",
      ),
    );
  const rPrefix = (rs.prefixItems ?? []) as JsonSchema[];
  const wPrefix = (ws.prefixItems ?? []) as JsonSchema[];
  const rItems = (rs.items ?? true) as JsonSchema;
  const wItems = (ws.items ?? true) as JsonSchema;
  const count = Math.max(rPrefix.length, wPrefix.length);
  for (let i = 0; i < count; i++) {
    const rAt =
      i < rPrefix.length
        ? { s: rPrefix[i]!, p: `${path}/prefixItems/${i}` }
        : { s: rItems, p: `${path}/items` };
    const wAt =
      i < wPrefix.length
        ? { s: wPrefix[i]!, p: `${w.path}/prefixItems/${i}` }
        : { s: wItems, p: `${w.path}/items` };
    judge(
      { schema: rAt.s, root: r.root, path: rAt.p },
      { schema: wAt.s, root: w.root, path: wAt.p },
      out,
      seen,
    );
  }
  judge(
    { schema: rItems, root: r.root, path: `${path}/items` },
    { schema: wItems, root: w.root, path: `${w.path}/items` },
    out,
    seen,
  );
}

/**
 * `properties`, `required`, `additionalProperties`, `minProperties`, `maxProperties`: every object the
 * writer declares must be one the reader takes. Properties are judged by the schemas on both sides.
 */
function objectRules(
  r: Located,
  rs: SchemaObject,
  w: Located,
  ws: SchemaObject,
  out: Finding[],
  seen: Set<string>,
): void {
  if (!mayBe(ws, "object") || valuesOf(ws) !== undefined) return;
  const path = r.path;
  const rProps = (rs.properties ?? {}) as Record<string, JsonSchema>;
  const wProps = (ws.properties ?? {}) as Record<string, JsonSchema>;
  const rRequired = new Set((rs.required ?? []) as string[]);
  const wRequired = new Set((ws.required ?? []) as string[]);
  for (const name of rRequired) {
    if (wRequired.has(name)) continue;
    out.push(
      finding(
        `${path}/required`,
        "required-added",
        `the reader requires "${name}"; the writer ${name in wProps ? "may leave it out" : "does not send it"}`,
      ),
    );
  }
  const rExtra = rs.additionalProperties ?? true;
  const wExtra = ws.additionalProperties ?? true;
  const wOpen = wExtra !== false;
  for (const [name, writerProperty] of Object.entries(wProps)) {
    const wAt = {
      schema: writerProperty,
      root: w.root,
      path: `${w.path}/properties/${pointerSegment(name)}`,
    };
    if (name in rProps) {
      judge(
        { schema: rProps[name]!, root: r.root, path: `${path}/properties/${pointerSegment(name)}` },
        wAt,
        out,
        seen,
      );
    } else if (rExtra === false) {
      if (deref(wAt).schema !== false)
        out.push(
          finding(
            `${path}/properties`,
            "property-removed-closed",
            `the writer sends "${name}"; the reader's schema no longer names it and refuses other properties`,
          ),
        );
    } else if (rExtra !== true) {
      judge(
        { schema: rExtra as JsonSchema, root: r.root, path: `${path}/additionalProperties` },
        wAt,
        out,
        seen,
      );
    }
  }
  for (const [name, readerProperty] of Object.entries(rProps)) {
    if (name in wProps) continue;
    // The writer never names it: closed, the writer cannot send it; open, it is not the writer's data
    // (Herald's stance above). An additionalProperties schema does say what the writer may send there.
    if (wOpen && wExtra !== true)
      judge(
        { schema: readerProperty, root: r.root, path: `${path}/properties/${pointerSegment(name)}` },
        { schema: wExtra as JsonSchema, root: w.root, path: `${w.path}/additionalProperties` },
        out,
        seen,
      );
  }
  if (rExtra === false && wOpen)
    out.push(
      finding(
        `${path}/additionalProperties`,
        "content-closed",
        "the reader refuses properties it does not name; the writer's open schema lets producers send them",
      ),
    );
  else if (rExtra !== true && rExtra !== false && wOpen)
    judge(
      { schema: rExtra as JsonSchema, root: r.root, path: `${path}/additionalProperties` },
      { schema: wExtra as JsonSchema, root: w.root, path: `${w.path}/additionalProperties` },
      out,
      seen,
    );
  const rMin = rs.minProperties;
  if (
    typeof rMin === "number" &&
    rMin > 0 &&
    !(typeof ws.minProperties === "number" && ws.minProperties >= rMin) &&
    wRequired.size < rMin
  )
    out.push(
      finding(
        `${path}/minProperties`,
        "minProperties-raised",
        `the reader needs at least ${rMin} properties; the writer may send fewer`,
      ),
    );
  const rMax = rs.maxProperties;
  if (
    typeof rMax === "number" &&
    !(typeof ws.maxProperties === "number" && ws.maxProperties <= rMax) &&
    (wOpen || Object.keys(wProps).length > rMax)
  )
    out.push(
      finding(
        `${path}/maxProperties`,
        "maxProperties-lowered",
        `the reader takes at most ${rMax} properties; the writer may send more`,
      ),
    );
}

// ---------- helpers ----------

const JSON_TYPES = ["null", "boolean", "object", "array", "number", "integer", "string"] as const;

function finding(path: string, rule: string, reason: string): Finding {
  return { path, rule, reason };
}

function isObject(value: unknown): value is SchemaObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function typesOf(schema: SchemaObject): string[] | undefined {
  const type = schema.type;
  if (type === undefined) return undefined;
  return Array.isArray(type) ? (type as string[]) : [type as string];
}

/** The writer's finite set of values (`const` or `enum`), when it has one. */
function valuesOf(schema: SchemaObject): readonly unknown[] | undefined {
  if ("const" in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
}

/** Whether the writer may send a value of this JSON type (number covers integer). */
function mayBe(schema: SchemaObject, type: "number" | "string" | "array" | "object"): boolean {
  const values = valuesOf(schema);
  if (values !== undefined) return values.some((v) => hasType(v, type));
  const types = typesOf(schema);
  return types === undefined || types.includes(type) || (type === "number" && types.includes("integer"));
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "boolean":
      return typeof value === "boolean";
    case "number":
      return typeof value === "number";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "string":
      return typeof value === "string";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return JSON_TYPES.includes(type as never);
  }
}

function bound(
  schema: SchemaObject,
  inclusive: string,
  exclusive: string,
  tighter: (a: number, b: number) => number,
): { value: number; exclusive: boolean; keyword: string } | undefined {
  const i = typeof schema[inclusive] === "number" ? (schema[inclusive] as number) : undefined;
  const e = typeof schema[exclusive] === "number" ? (schema[exclusive] as number) : undefined;
  if (i === undefined && e === undefined) return undefined;
  if (e === undefined) return { value: i!, exclusive: false, keyword: inclusive };
  if (i === undefined) return { value: e, exclusive: true, keyword: exclusive };
  const value = tighter(i, e);
  return value === e
    ? { value: e, exclusive: true, keyword: exclusive }
    : { value: i, exclusive: false, keyword: inclusive };
}

function isMultiple(value: number, of: number): boolean {
  const q = value / of;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function deref(located: Located): Located {
  let current = located;
  for (let hops = 0; hops < 32; hops++) {
    const schema = current.schema;
    if (!isObject(schema) || typeof schema.$ref !== "string") return current;
    const { $ref, ...siblings } = schema;
    const target = resolvePointer(current.root, $ref as string);
    if (target === undefined) return current;
    // Keywords beside $ref (2020-12) apply too: keep them when there are any besides annotations.
    const own = Object.keys(siblings).filter((k) => UNDERSTOOD.has(k) && !ANNOTATIONS.has(k));
    if (own.length > 0 && isObject(target)) {
      return { schema: { allOf: [target, siblings] }, root: current.root, path: current.path };
    }
    current = { schema: target, root: current.root, path: $ref as string };
  }
  return current;
}

const ANNOTATIONS = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
]);

function resolvePointer(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node === undefined ? undefined : (node as JsonSchema);
}

function pointerSegment(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}
