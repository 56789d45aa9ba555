// The registry's HTTP routes. Registering and configuring change what every producer may send: `admin`.
// Reading schemas is for producers and consumers alike: `consume` (admin implies it).
import {
  COMPATIBILITY_MODES,
  type CompatibilityMode,
  dataschemaOf,
  type JsonValue,
  type RegisterSchemaResponse,
  type SchemaConfigResponse,
  type SchemaListResponse,
  type SchemaVersionResponse,
  schemaVersionPath,
} from "@herald/protocol";
import type { LimitsConfig } from "../config.js";
import { readJsonBody } from "../http/body.js";
import { HttpProblem, sendJson } from "../http/problem.js";
import type { Router } from "../http/router.js";
import type { SchemaRegistry } from "./registry.js";
import type { StoredSchema } from "./store.js";

export function registerSchemaRoutes(router: Router, registry: SchemaRegistry, limits: LimitsConfig): void {
  router.add({
    method: "GET",
    path: "/schemas",
    access: "consume",
    handler: async ({ res }) => {
      sendJson(res, 200, { schemas: await registry.list() } satisfies SchemaListResponse);
    },
  });

  router.add({
    method: "PUT",
    path: "/schemas/:type",
    access: "admin",
    handler: async ({ req, res, params }) => {
      const type = checkType(params.type!);
      const schema = await readJsonBody(req, limits);
      if (schema === undefined)
        throw new HttpProblem("schema-invalid", "the body must be a JSON Schema", {
          errors: [{ field: "#", reason: "empty body" }],
        });
      const { version, created } = await registry.register(type, schema);
      const answer: RegisterSchemaResponse = {
        type,
        version,
        dataschema: dataschemaOf(type, version),
        created,
      };
      sendJson(
        res,
        created ? 201 : 200,
        answer,
        created ? { location: schemaVersionPath(type, version) } : undefined,
      );
    },
  });

  router.add({
    method: "GET",
    path: "/schemas/:type",
    access: "consume",
    handler: async ({ res, params }) => {
      const type = checkType(params.type!);
      const versions = await registry.versions(type);
      const latest = versions.at(-1);
      if (latest === undefined) throw notFound(type);
      const { compatibility } = await registry.mode(type);
      sendJson(res, 200, {
        ...answer(latest),
        versions: versions.map((v) => v.version),
        compatibility,
      } satisfies SchemaVersionResponse);
    },
  });

  router.add({
    method: "GET",
    path: "/schemas/:type/versions/:version",
    access: "consume",
    handler: async ({ res, params }) => {
      const type = checkType(params.type!);
      const wanted = params.version!;
      const versions = await registry.versions(type);
      const found =
        wanted === "latest" ? versions.at(-1) : versions.find((v) => String(v.version) === wanted);
      if (found === undefined) throw notFound(type, wanted);
      sendJson(res, 200, answer(found) satisfies SchemaVersionResponse);
    },
  });

  router.add({
    method: "GET",
    path: "/schemas/:type/config",
    access: "consume",
    handler: async ({ res, params }) => {
      const type = checkType(params.type!);
      sendJson(res, 200, { type, ...(await registry.mode(type)) } satisfies SchemaConfigResponse);
    },
  });

  router.add({
    method: "PUT",
    path: "/schemas/:type/config",
    access: "admin",
    handler: async ({ req, res, params }) => {
      const type = checkType(params.type!);
      const body = await readJsonBody(req, limits);
      const mode = (body as { compatibility?: unknown } | undefined)?.compatibility;
      if (
        body === null ||
        typeof body !== "object" ||
        (mode !== null && !COMPATIBILITY_MODES.includes(mode as CompatibilityMode))
      )
        throw new HttpProblem("body-invalid", 'the body must be {"compatibility": <mode> | null}', {
          errors: [
            { field: "/compatibility", reason: `must be one of ${COMPATIBILITY_MODES.join(", ")}, or null` },
          ],
        });
      await registry.setMode(type, mode as CompatibilityMode | null);
      sendJson(res, 200, { type, ...(await registry.mode(type)) } satisfies SchemaConfigResponse);
    },
  });
}

function answer(stored: StoredSchema): SchemaVersionResponse {
  return {
    type: stored.type,
    version: stored.version,
    dataschema: dataschemaOf(stored.type, stored.version),
    schema: stored.schema as JsonValue,
    registeredAt: stored.registeredAt,
  };
}

function checkType(type: string): string {
  // CloudEvents `type` is any non-empty string; the log's attribute limit keeps keys bounded.
  if (type.length === 0 || type.length > 1024)
    throw new HttpProblem("path-invalid", "the event type in the path must be 1 to 1024 characters", {
      errors: [{ field: "type", reason: `length ${type.length}` }],
    });
  return type;
}

function notFound(type: string, version?: string): HttpProblem {
  return new HttpProblem(
    "schema-not-found",
    version === undefined
      ? `no schema is registered for ${JSON.stringify(type)}`
      : `${JSON.stringify(type)} has no version ${JSON.stringify(version)}`,
    { extensions: { type, ...(version === undefined ? {} : { version }) } },
  );
}
