// The schema registry: versions of each event type's `data` schema, judged by the compatibility rules
// (./compatibility.ts) before they are stored (./store.ts), and — with `schemas.enforce` — the check
// every ingested event of a registered type passes before it is appended.
import { isDeepStrictEqual } from "node:util";
import type { CloudEvent } from "@herald/cloudevents";
import type { EventLog } from "@herald/log";
import {
  type BreakingChange,
  type CompatibilityMode,
  dataschemaOf,
  type ProblemFieldError,
  parseDataschema,
} from "@herald/protocol";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { HttpProblem } from "../http/problem.js";
import {
  checkSchemaDocument,
  type JsonSchema,
  pairsToCheck,
  readerAccepts,
  SchemaDocumentError,
} from "./compatibility.js";
import { SchemaStore, type StoredSchema } from "./store.js";

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-0[467]\/schema#?$/;

export interface SchemaRegistryOptions {
  readonly log: EventLog;
  /** The server-wide compatibility mode (`schemas.compatibility`). */
  readonly compatibility: CompatibilityMode;
  /** Refuse events whose data does not validate (`schemas.enforce`). */
  readonly enforce: boolean;
  /**
   * How long the ingest check trusts what it read of a type (ms). 0: forever, right for one server
   * (every change goes through it); a cluster (PostgreSQL) re-reads so a version registered on another
   * instance is enforced here within this time.
   */
  readonly refreshMs: number;
}

interface TypeEntry {
  readonly versions: readonly StoredSchema[];
  readonly loadedAt: number;
}

export class SchemaRegistry {
  readonly enforce: boolean;
  readonly #store: SchemaStore;
  readonly #options: SchemaRegistryOptions;
  readonly #types = new Map<string, TypeEntry>();
  readonly #loading = new Map<string, Promise<TypeEntry>>();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }) as unknown as Ajv);
  readonly #ajv07 = addFormats(new Ajv({ allErrors: true, strict: false }));
  /** Registrations and config changes run one at a time (a version number is read, then written). */
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: SchemaRegistryOptions) {
    this.#options = options;
    this.enforce = options.enforce;
    this.#store = new SchemaStore(options.log);
  }

  /** Registers `schema` as the next version of `type`, or answers the version it already is. */
  register(type: string, schema: unknown): Promise<{ version: number; created: boolean }> {
    return this.#serial(async () => {
      this.#checkDocument(schema);
      const versions = await this.#store.versions(type);
      const same = versions.find((v) => isDeepStrictEqual(v.schema, schema));
      if (same !== undefined) return { version: same.version, created: false };
      const mode = await this.mode(type);
      const breaking: BreakingChange[] = [];
      for (const pair of pairsToCheck(mode.compatibility, schema as JsonSchema, versions))
        for (const change of readerAccepts(pair.reader, pair.writer))
          breaking.push({ version: pair.version, ...change });
      if (breaking.length > 0) {
        throw new HttpProblem(
          "schema-incompatible",
          `the schema breaks ${mode.compatibility} compatibility of ${type} (${breaking.length} breaking change${breaking.length === 1 ? "" : "s"})`,
          {
            errors: breaking.map((b) => ({
              field: b.path,
              reason: `${b.rule}: ${b.reason} (against version ${b.version})`,
            })),
            extensions: { compatibility: mode.compatibility, breakingChanges: breaking },
          },
        );
      }
      const version = (versions.at(-1)?.version ?? 0) + 1;
      await this.#store.add({
        type,
        version,
        schema: schema as JsonSchema,
        registeredAt: new Date().toISOString(),
      });
      this.#types.delete(type);
      return { version, created: true };
    });
  }

  /** Every version of a type, oldest first (empty when none is registered). */
  versions(type: string): Promise<StoredSchema[]> {
    return this.#store.versions(type);
  }

  async list(): Promise<Array<{ type: string; latestVersion: number; compatibility: CompatibilityMode }>> {
    const [all, modes] = await Promise.all([this.#store.all(), this.#store.modes()]);
    const latest = new Map<string, number>();
    for (const s of all) latest.set(s.type, Math.max(latest.get(s.type) ?? 0, s.version));
    return [...latest]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([type, latestVersion]) => ({
        type,
        latestVersion,
        compatibility: modes.get(type) ?? this.#options.compatibility,
      }));
  }

  async mode(type: string): Promise<{ compatibility: CompatibilityMode; from: "type" | "server" }> {
    const own = await this.#store.mode(type);
    return own === undefined
      ? { compatibility: this.#options.compatibility, from: "server" }
      : { compatibility: own, from: "type" };
  }

  setMode(type: string, mode: CompatibilityMode | null): Promise<void> {
    return this.#serial(() => this.#store.setMode(type, mode));
  }

  /**
   * With enforcement on: each event of a registered type must carry JSON `data` valid under the version
   * its `dataschema` names (a Herald `/schemas/{type}/versions/{n}` reference), else the latest. Answers
   * the events to append, those without `dataschema` given the version they matched; throws 422
   * `event-schema-mismatch` listing every error of every event. Off: the events, unchanged.
   */
  async check(events: readonly CloudEvent[]): Promise<readonly CloudEvent[]> {
    if (!this.enforce) return events;
    const batch = events.length > 1;
    const errors: ProblemFieldError[] = [];
    let out: CloudEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const entry = await this.#entry(event.type);
      if (entry.versions.length === 0) continue;
      const where = (field: string) => (batch ? `[${i}].${field}` : field);
      const named = event.dataschema === undefined ? undefined : parseDataschema(event.dataschema);
      let target = entry.versions.at(-1)!;
      if (named !== undefined) {
        const found =
          named.type === event.type ? entry.versions.find((v) => v.version === named.version) : undefined;
        if (found === undefined) {
          errors.push({
            field: where("dataschema"),
            reason: `${event.dataschema} is not a registered version of ${event.type}`,
          });
          continue;
        }
        target = found;
      }
      const data = event.data;
      if (data instanceof Uint8Array) {
        errors.push({
          field: where("data"),
          reason: `${event.type} has a registered schema: data must be JSON`,
        });
        continue;
      }
      const validate = this.#validator(target);
      if (!validate(data ?? null)) {
        for (const error of validate.errors ?? [])
          errors.push({ field: where(dataField(error)), reason: describe(error) });
        continue;
      }
      if (event.dataschema === undefined) {
        out ??= [...events];
        out[i] = event.cloneWith({ dataschema: dataschemaOf(target.type, target.version) });
      }
    }
    if (errors.length > 0)
      throw new HttpProblem(
        "event-schema-mismatch",
        "event data does not match its type's registered schema",
        {
          errors,
        },
      );
    return out ?? events;
  }

  #checkDocument(schema: unknown): void {
    if (
      typeof schema !== "boolean" &&
      (schema === null || typeof schema !== "object" || Array.isArray(schema))
    )
      throw new HttpProblem("schema-invalid", "the body must be a JSON Schema (an object or a boolean)", {
        errors: [{ field: "#", reason: "not a JSON object" }],
      });
    try {
      checkSchemaDocument(schema as JsonSchema);
    } catch (error) {
      if (!(error instanceof SchemaDocumentError)) throw error;
      throw new HttpProblem("schema-invalid", error.message, {
        errors: [{ field: error.path, reason: error.message }],
      });
    }
    try {
      this.#compile(schema as JsonSchema);
    } catch (error) {
      throw new HttpProblem("schema-invalid", `the schema does not compile: ${(error as Error).message}`, {
        errors: [{ field: "#", reason: (error as Error).message }],
      });
    }
  }

  #compile(schema: JsonSchema): ValidateFunction {
    const draft07 =
      typeof schema === "object" && typeof schema.$schema === "string" && DRAFT_07.test(schema.$schema);
    // `$id`s are the caller's: compiled without registering them, so two versions may share one.
    let copy: JsonSchema = schema;
    if (typeof schema === "object") {
      const { $id: _id, ...rest } = schema;
      copy = rest;
    }
    return (draft07 ? this.#ajv07 : this.#ajv).compile(copy);
  }

  /** Compiled once per version (a version never changes). */
  #validator(stored: StoredSchema): ValidateFunction {
    const key = `${stored.type}\u0000${stored.version}`;
    let validate = this.#validators.get(key);
    if (validate === undefined) {
      validate = this.#compile(stored.schema);
      this.#validators.set(key, validate);
    }
    return validate;
  }

  async #entry(type: string): Promise<TypeEntry> {
    const cached = this.#types.get(type);
    const refresh = this.#options.refreshMs;
    if (cached !== undefined && (refresh === 0 || Date.now() - cached.loadedAt < refresh)) return cached;
    let loading = this.#loading.get(type);
    if (loading === undefined) {
      loading = this.#store.versions(type).then((versions) => ({ versions, loadedAt: Date.now() }));
      this.#loading.set(type, loading);
      loading.then(
        (entry) => {
          this.#types.set(type, entry);
          this.#loading.delete(type);
        },
        () => this.#loading.delete(type),
      );
    }
    return await loading;
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(run, run);
    this.#writes = next.catch(() => undefined);
    return next;
  }
}

/** `data/…` JSON pointer of an ajv error. */
function dataField(error: ErrorObject): string {
  const missing =
    error.keyword === "required"
      ? `/${String((error.params as { missingProperty: string }).missingProperty)}`
      : "";
  return `data${error.instancePath}${missing}`;
}

function describe(error: ErrorObject): string {
  if (error.keyword === "additionalProperties")
    return `must not have property ${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)}`;
  return error.message ?? error.keyword;
}
