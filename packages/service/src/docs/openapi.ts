// OpenAPI 3.1 from the HTTP definitions: paths and methods from the triggers, parameters from the
// params/query/headers schemas, the request body and each declared output status from the schemas,
// the refusals every event source answers (problem+json with catalog codes), and the security the
// definitions need. JSON Schema is OpenAPI 3.1's schema dialect, so schemas go in unchanged.
import { PROBLEMS, type ProblemCode, problemType } from "@herald/protocol";
import type { EventSourceDefinition, HttpDefinition } from "../definition.js";
import type { JsonSchema } from "../schema.js";
import { pathParameters } from "../trigger.js";

export interface DocumentInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

const PROBLEM_SCHEMA = {
  type: "object",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", description: "A code of Herald's problem catalog (docs/errors.md)." },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["field", "reason"],
        properties: { field: { type: "string" }, reason: { type: "string" } },
      },
    },
  },
};

function problemResponse(codes: readonly ProblemCode[]): Record<string, unknown> {
  return {
    description: codes.map((c) => `\`${c}\`: ${PROBLEMS[c].title}`).join("; "),
    content: {
      "application/problem+json": {
        schema: { $ref: "#/components/schemas/Problem" },
        examples: Object.fromEntries(
          codes.map((code) => [
            code,
            {
              value: {
                type: problemType(code),
                title: PROBLEMS[code].title,
                status: PROBLEMS[code].status,
                code,
                detail: PROBLEMS[code].description,
              },
            },
          ]),
        ),
      },
    },
  };
}

/** `/orders/:id` → `/orders/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([^/]+)/g, "{$1}");
}

function parameters(definition: HttpDefinition): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const add = (
    where: "path" | "query" | "header",
    schema: JsonSchema | undefined,
    names: readonly string[],
  ) => {
    const object = typeof schema === "object" ? schema : {};
    const properties = (object["properties"] ?? {}) as Record<string, unknown>;
    const required = new Set((object["required"] ?? []) as string[]);
    for (const name of new Set([...names, ...Object.keys(properties)])) {
      out.push({
        name,
        in: where,
        required: where === "path" || required.has(name),
        schema: properties[name] ?? { type: "string" },
      });
    }
  };
  add("path", definition.input.params, pathParameters(definition.trigger.path));
  add("query", definition.input.query, []);
  add("header", definition.input.headers, []);
  return out;
}

function operation(definition: HttpDefinition, secured: boolean): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(definition.output ?? { 200: {} })) {
    responses[status] = {
      description: definition.output ? `the handler's answer (${status})` : "the handler's answer",
      ...(definition.output ? { content: { "application/json": { schema } } } : {}),
    };
  }
  const inputCodes: ProblemCode[] = ["input-invalid"];
  if (definition.input.body !== undefined) inputCodes.push("json-invalid");
  responses["400"] = problemResponse(inputCodes);
  const needsAuth = definition.auth?.required ?? (secured || (definition.auth?.scopes?.length ?? 0) > 0);
  if (needsAuth) {
    responses["401"] = problemResponse(["unauthorized", "api-key-invalid", "token-invalid"]);
  }
  const forbidden: ProblemCode[] = [];
  if ((definition.auth?.scopes?.length ?? 0) > 0) forbidden.push("forbidden");
  if (definition.authorize) forbidden.push("authorization-refused");
  if (forbidden.length > 0) responses["403"] = problemResponse(forbidden);
  responses["422"] = problemResponse(["handler-refused"]);
  responses["500"] = problemResponse(["internal-error", "output-invalid"]);
  responses["503"] = problemResponse(["handler-unavailable"]);
  const scopes = [...(definition.auth?.scopes ?? [])];
  return {
    operationId: definition.key,
    ...(definition.summary ? { summary: definition.summary } : {}),
    ...(definition.description ? { description: definition.description } : {}),
    ...(definition.tags ? { tags: [...definition.tags] } : {}),
    parameters: parameters(definition),
    ...(definition.input.body !== undefined
      ? {
          requestBody: { required: true, content: { "application/json": { schema: definition.input.body } } },
        }
      : {}),
    responses,
    security: needsAuth ? [{ apiKey: [] }, { bearer: scopes }] : [],
  };
}

export interface OpenApiOptions extends DocumentInfo {
  /** True when the app has authenticators (then definitions need credentials unless `auth.required: false`). */
  readonly secured?: boolean;
  readonly serverUrl?: string;
}

export function openApiDocument(
  definitions: readonly EventSourceDefinition[],
  options: OpenApiOptions,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const definition of definitions) {
    if (definition.kind !== "http") continue;
    const path = openApiPath(definition.trigger.path);
    paths[path] ??= {};
    paths[path][definition.trigger.method] = operation(definition, options.secured ?? false);
  }
  // Through JSON: TypeBox's symbol-keyed members stay out, and the document is what is served.
  return plainJson({
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      },
    },
  });
}

/** A deep copy through JSON. */
export function plainJson(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
