// Typed events: one definition gives the compile-time type of `data` (TypeBox's Static) and its run-time
// check (the same schema compiled by ajv), plus versioning with upcasters.
//
// Why TypeBox: a TypeBox schema IS a JSON Schema object, so the schema that types the code is the one
// validated at run time, published in docs (AsyncAPI/OpenAPI) and readable by non-TypeScript services,
// with no export step that could drift. zod 4 can export JSON Schema too, but then two representations
// exist and some zod features (transforms, refinements) do not survive the export.
//
// Versions: the version an event's data was written with travels in the `dataversion` extension
// (integer; absent = 1). A definition at version N has upcasters n → n+1 for every older n; `parse()`
// upcasts old data to N before validating, and refuses versions newer than it knows.
import { CloudEvent, type CloudEventInit } from "@herald/cloudevents";
import { JSON_MEDIA_TYPE } from "@herald/protocol";
import type { Static, TSchema } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { type DataIssue, EventDataValidationError } from "../errors.js";

/** The extension that carries the data version. */
export const DATA_VERSION = "dataversion";

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

export interface DefineEventOptions<S extends TSchema> {
  /** The CloudEvents `type`. */
  readonly type: string;
  /** The data schema (TypeBox, or any JSON Schema typed as TSchema). */
  readonly schema: S;
  /** Current version of the data shape (default 1). */
  readonly version?: number;
  /** `upcasters[n]` turns version-n data into version n+1 data, for every n below `version`. */
  readonly upcasters?: Readonly<Record<number, (data: unknown) => unknown>>;
  /** Default `source` for create(). */
  readonly source?: string;
  /** Default `dataschema` for create(). */
  readonly dataschema?: string;
}

/** Attributes for create(): everything but type, with typed data. */
export interface TypedEventInit<T> {
  readonly data: T;
  /** Default: the definition's source. */
  readonly source?: string;
  readonly id?: string;
  readonly subject?: string;
  readonly time?: string | Date;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** Extensions (correlationid, partitionkey…). */
  readonly [extension: string]: unknown;
}

export interface EventDefinition<T = unknown> {
  readonly type: string;
  readonly version: number;
  readonly schema: TSchema;
  /** Builds a valid event of this type (data checked at compile time and at run time). */
  create(init: TypedEventInit<T>): CloudEvent<T>;
  /** True for events of this type, whatever their version. */
  is(event: CloudEvent): boolean;
  /** Upcasts and validates a received event; throws EventDataValidationError. */
  parse(event: CloudEvent): TypedEvent<T>;
  /** The issues of `data` against the current schema ([] when valid). */
  check(data: unknown): readonly DataIssue[];
}

/** An event whose data has been checked against its definition. */
export type TypedEvent<T> = CloudEvent<T> & { readonly data: T };

/** The data type of a definition: `EventData<typeof OrderPlaced>`. */
export type EventData<D> = D extends EventDefinition<infer T> ? T : never;

function issuesOf(errors: ErrorObject[] | null | undefined): DataIssue[] {
  return (errors ?? []).map((e) => ({
    path: e.instancePath,
    message:
      e.keyword === "additionalProperties"
        ? `has unknown property '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'`
        : e.keyword === "required"
          ? `must have property '${String((e.params as { missingProperty?: unknown }).missingProperty)}'`
          : (e.message ?? e.keyword),
  }));
}

/** The data version an event says it carries (absent = 1); NaN when the extension is malformed. */
export function dataVersionOf(event: CloudEvent): number {
  const raw = event[DATA_VERSION];
  if (raw === undefined) return 1;
  const n = typeof raw === "number" ? raw : Number(raw);
  return Number.isInteger(n) && n >= 1 ? n : Number.NaN;
}

export function defineEvent<S extends TSchema>(options: DefineEventOptions<S>): EventDefinition<Static<S>> {
  type T = Static<S>;
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1)
    throw new RangeError(`version must be an integer ≥ 1, got ${version}`);
  for (let n = 1; n < version; n++) {
    if (typeof options.upcasters?.[n] !== "function") {
      throw new RangeError(`${options.type} v${version} needs an upcaster from v${n} to v${n + 1}`);
    }
  }
  const validate: ValidateFunction = ajv.compile(options.schema);
  const check = (data: unknown): DataIssue[] => (validate(data) ? [] : issuesOf(validate.errors));

  return {
    type: options.type,
    version,
    schema: options.schema,
    check,
    is: (event) => event.type === options.type,
    create(init) {
      const issues = check(init.data);
      if (issues.length > 0) throw new EventDataValidationError(options.type, version, issues);
      const source = init.source ?? options.source;
      if (source === undefined)
        throw new TypeError(`${options.type}: create() needs a source (or define one)`);
      const attributes: CloudEventInit<T> = {
        ...(options.dataschema ? { dataschema: options.dataschema } : {}),
        ...init,
        source,
        type: options.type,
        datacontenttype: init.datacontenttype ?? JSON_MEDIA_TYPE,
      };
      // Version 1 events carry no extension, so unversioned producers and consumers interoperate.
      if (version > 1) attributes[DATA_VERSION] = version;
      return new CloudEvent<T>(attributes);
    },
    parse(event) {
      if (event.type !== options.type) {
        throw new EventDataValidationError(
          options.type,
          version,
          [{ path: "", message: `event type is ${event.type}, expected ${options.type}` }],
          "event",
        );
      }
      const from = dataVersionOf(event);
      if (Number.isNaN(from) || from > version) {
        throw new EventDataValidationError(
          options.type,
          version,
          [
            {
              path: "",
              message: `unsupported ${DATA_VERSION} ${String(event[DATA_VERSION])} (this consumer knows v1..v${version})`,
            },
          ],
          "event",
        );
      }
      let data: unknown = event.data;
      for (let n = from; n < version; n++) data = options.upcasters![n]!(data);
      const issues = check(data);
      if (issues.length > 0) throw new EventDataValidationError(options.type, version, issues);
      if (from === version) return event as TypedEvent<T>;
      return event.cloneWith<T>({ data: data as T, [DATA_VERSION]: version }) as TypedEvent<T>;
    },
  };
}

/** Checks outgoing events whose type has a definition (used by HeraldClient on send). */
export class EventRegistry {
  readonly #byType = new Map<string, EventDefinition>();
  constructor(definitions: readonly EventDefinition[] = []) {
    for (const d of definitions) this.#byType.set(d.type, d);
  }
  get(type: string): EventDefinition | undefined {
    return this.#byType.get(type);
  }
  /** Throws EventDataValidationError when the event's type is defined and its data does not fit. */
  assertValid(event: CloudEvent): void {
    const definition = this.#byType.get(event.type);
    if (!definition) return;
    const v = dataVersionOf(event);
    if (v !== definition.version) {
      throw new EventDataValidationError(
        definition.type,
        definition.version,
        [
          {
            path: "",
            message: `sending ${DATA_VERSION} ${String(event[DATA_VERSION] ?? 1)}, the definition is v${definition.version}`,
          },
        ],
        "event",
      );
    }
    const issues = definition.check(event.data);
    if (issues.length > 0) throw new EventDataValidationError(definition.type, definition.version, issues);
  }
}
