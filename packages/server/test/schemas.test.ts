// The schema registry over HTTP on real servers: versions, idempotent registration, 409 with each
// breaking change, modes per type and server-wide, access, enforcement with `dataschema`, and storage
// that survives a restart (SQLite) and is shared by a cluster (PostgreSQL).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  RegisterSchemaResponse,
  SchemaConfigResponse,
  SchemaListResponse,
  SchemaVersionResponse,
} from "@herald/protocol";
import { type HeraldServer, startServer } from "@herald/server";
import { batch, get, post, structured, tempDir, withServer } from "./server-harness.js";
import { databaseUrl, freshSchema, needsPostgres } from "./support/pg.js";

const V1 = { type: "object", properties: { id: { type: "string" } }, required: ["id"] };
const V2 = { ...V1, properties: { ...V1.properties, total: { type: "number" } } };

async function put<T = Record<string, unknown>>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

const register = (server: HeraldServer, type: string, schema: unknown) =>
  put<RegisterSchemaResponse & { code?: string; breakingChanges?: unknown[] }>(
    `${server.url}/schemas/${encodeURIComponent(type)}`,
    schema,
  );

const send = (server: HeraldServer, event: Record<string, unknown>) =>
  post(`${server.url}/events`, ...structured({ source: "/test", type: "order.placed", ...event }));

describe("schema registry: versions", () => {
  it("registers versions, answers the existing version for the same schema, lists and reads them", async () => {
    await withServer({}, async (server) => {
      const first = await register(server, "order.placed", V1);
      assert.equal(first.status, 201);
      assert.deepEqual(first.body, {
        type: "order.placed",
        version: 1,
        dataschema: "herald:/schemas/order.placed/versions/1",
        created: true,
      });
      assert.equal(first.headers.get("location"), "/schemas/order.placed/versions/1");
      const again = await register(server, "order.placed", V1);
      assert.equal(again.status, 200);
      assert.equal(again.body.version, 1);
      assert.equal(again.body.created, false);
      assert.equal((await register(server, "order.placed", V2)).body.version, 2);
      // An earlier version registered again is that version, not a new one.
      assert.equal((await register(server, "order.placed", V1)).body.version, 1);

      const latest = await get<SchemaVersionResponse>(`${server.url}/schemas/order.placed`);
      assert.equal(latest.status, 200);
      assert.equal(latest.body.version, 2);
      assert.deepEqual(latest.body.schema, V2);
      assert.deepEqual(latest.body.versions, [1, 2]);
      assert.equal(latest.body.compatibility, "BACKWARD");
      const one = await get<SchemaVersionResponse>(`${server.url}/schemas/order.placed/versions/1`);
      assert.deepEqual(one.body.schema, V1);
      assert.ok(!Number.isNaN(Date.parse(one.body.registeredAt)));
      const missing = await get(`${server.url}/schemas/order.placed/versions/3`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, "schema-not-found");

      // A type with a slash is one path segment, and never lists another type's versions.
      assert.equal((await register(server, "order.placed/v", { type: "string" })).status, 201);
      const list = await get<SchemaListResponse>(`${server.url}/schemas`);
      assert.deepEqual(list.body.schemas, [
        { type: "order.placed", latestVersion: 2, compatibility: "BACKWARD" },
        { type: "order.placed/v", latestVersion: 1, compatibility: "BACKWARD" },
      ]);
    });
  });

  it("409 schema-incompatible lists each breaking change; nothing is registered", async () => {
    await withServer({}, async (server) => {
      await register(server, "order.placed", V1);
      const refused = await register(server, "order.placed", {
        type: "object",
        properties: { id: { type: "integer" }, total: { type: "number" } },
        required: ["id", "total"],
      });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, "schema-incompatible");
      assert.deepEqual(refused.body.breakingChanges, [
        {
          version: 1,
          path: "#/required",
          rule: "required-added",
          reason: 'the reader requires "total"; the writer does not send it',
        },
        {
          version: 1,
          path: "#/properties/id/type",
          rule: "type-narrowed",
          reason: "the writer may send string; the reader accepts only integer",
        },
      ]);
      const latest = await get<SchemaVersionResponse>(`${server.url}/schemas/order.placed`);
      assert.deepEqual(latest.body.versions, [1]);
    });
  });

  it("modes: per type over server-wide; TRANSITIVE checks every version; null falls back", async () => {
    await withServer({ schemas: { compatibility: "FORWARD" } }, async (server) => {
      // FORWARD: old readers must read new data. Dropping a required property breaks them.
      await register(server, "t", V1);
      const dropped = await register(server, "t", { type: "object", properties: { id: { type: "string" } } });
      assert.equal(dropped.status, 409);
      const config = await put<SchemaConfigResponse>(`${server.url}/schemas/t/config`, {
        compatibility: "NONE",
      });
      assert.deepEqual(config.body, { type: "t", compatibility: "NONE", from: "type" });
      assert.equal((await register(server, "t", { type: "object" })).status, 201);
      const back = await put<SchemaConfigResponse>(`${server.url}/schemas/t/config`, { compatibility: null });
      assert.deepEqual(back.body, { type: "t", compatibility: "FORWARD", from: "server" });
      const bad = await put(`${server.url}/schemas/t/config`, { compatibility: "SIDEWAYS" });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "body-invalid");

      // v1 {minimum 0}, v2 {no bound} (BACKWARD: relaxed). Then v3 {maximum 10} under FORWARD_TRANSITIVE:
      // v2's readers take it, v1's (minimum 0) do not; under FORWARD (latest only) it is fine.
      await put(`${server.url}/schemas/n/config`, { compatibility: "BACKWARD" });
      assert.equal((await register(server, "n", { type: "integer", minimum: 0 })).status, 201);
      assert.equal((await register(server, "n", { type: "integer" })).status, 201);
      await put(`${server.url}/schemas/n/config`, { compatibility: "FORWARD_TRANSITIVE" });
      const transitive = await register(server, "n", { type: "integer", maximum: 10 });
      assert.equal(transitive.status, 409);
      assert.deepEqual(
        (transitive.body.breakingChanges as Array<{ version: number; rule: string }>).map((b) => [
          b.version,
          b.rule,
        ]),
        [[1, "minimum-raised"]],
      );
      await put(`${server.url}/schemas/n/config`, { compatibility: "FORWARD" });
      assert.equal((await register(server, "n", { type: "integer", maximum: 10 })).status, 201);
    });
  });

  it("refuses schemas it cannot judge: another document's $ref, non-schemas, what does not compile", async () => {
    await withServer({}, async (server) => {
      const external = await register(server, "x", { properties: { a: { $ref: "other.json#/a" } } });
      assert.equal(external.status, 400);
      assert.equal(external.body.code, "schema-invalid");
      assert.equal((await register(server, "x", [1, 2])).body.code, "schema-invalid");
      assert.equal((await register(server, "x", { type: "no-such-type" })).body.code, "schema-invalid");
    });
  });

  it("access: registering and configuring need admin, reading needs consume", async () => {
    const apiKeys = [
      { key: "admin-key", scopes: ["admin" as const] },
      { key: "consume-key", scopes: ["consume" as const] },
      { key: "publish-key", scopes: ["publish" as const] },
    ];
    await withServer({ apiKeys }, async (server) => {
      const as = (key: string) => ({ authorization: `Bearer ${key}` });
      const url = `${server.url}/schemas/t`;
      assert.equal((await put(url, V1, as("consume-key"))).status, 403);
      assert.equal((await put(`${url}/config`, { compatibility: "NONE" }, as("publish-key"))).status, 403);
      assert.equal((await put(url, V1, as("admin-key"))).status, 201);
      assert.equal((await get(url, as("consume-key"))).status, 200);
      assert.equal((await get(`${server.url}/schemas`, as("publish-key"))).status, 403);
      assert.equal((await get(url)).status, 401);
    });
  });
});

describe("schema registry: enforcement", () => {
  it("off by default: events are neither checked nor given a dataschema", async () => {
    await withServer({}, async (server) => {
      await register(server, "order.placed", V1);
      assert.equal((await send(server, { id: "e1", data: { id: 1 } })).status, 200);
      const [stored] = (await server.log.read({})).events;
      assert.equal(stored!.event.dataschema, undefined);
    });
  });

  it("on: 422 event-schema-mismatch lists each field; accepted events name the version they match", async () => {
    await withServer({ schemas: { enforce: true } }, async (server) => {
      await register(server, "order.placed", V1);
      await register(server, "order.placed", V2);
      const refused = await send(server, { id: "e1", data: { total: "ten" } });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.code, "event-schema-mismatch");
      assert.deepEqual(refused.body.errors, [
        { field: "data/id", reason: "must have required property 'id'" },
        { field: "data/total", reason: "must be number" },
      ]);
      // A batch is refused whole, each error named by its event.
      const mixed = await post(
        `${server.url}/events`,
        ...batch([
          { id: "b1", source: "/test", type: "order.placed", data: { id: "a" } },
          { id: "b2", source: "/test", type: "order.placed", data: { id: 2 } },
        ]),
      );
      assert.equal(mixed.status, 422);
      assert.deepEqual(mixed.body.errors, [{ field: "[1].data/id", reason: "must be string" }]);
      assert.equal((await server.log.read({})).events.length, 0, "nothing of a refused request is stored");

      assert.equal((await send(server, { id: "e2", data: { id: "a", total: 3 } })).status, 200);
      // The version named in dataschema is the one checked (v1 has no `total`, open: still valid).
      assert.equal(
        (
          await send(server, {
            id: "e3",
            dataschema: "herald:/schemas/order.placed/versions/1",
            data: { id: "b" },
          })
        ).status,
        200,
      );
      const unknown = await send(server, {
        id: "e4",
        dataschema: "herald:/schemas/order.placed/versions/9",
        data: { id: "c" },
      });
      assert.equal(unknown.status, 422);
      assert.equal((unknown.body.errors as Array<{ field: string }>)[0]!.field, "dataschema");
      // Types without a schema pass unchanged; a foreign dataschema is kept.
      assert.equal((await send(server, { id: "e5", type: "other", data: 1 })).status, 200);
      assert.equal(
        (await send(server, { id: "e6", dataschema: "https://example.com/s.json", data: { id: "d" } }))
          .status,
        200,
      );
      const stored = (await server.log.read({})).events.map((e) => [e.event.id, e.event.dataschema]);
      assert.deepEqual(stored, [
        ["e2", "herald:/schemas/order.placed/versions/2"],
        ["e3", "herald:/schemas/order.placed/versions/1"],
        ["e5", undefined],
        ["e6", "https://example.com/s.json"],
      ]);
      // A new version applies at once.
      await register(server, "order.placed", {
        ...V2,
        properties: { ...V2.properties, note: { type: "string" } },
      });
      const after = await send(server, { id: "e7", data: { id: "x", note: 5 } });
      assert.equal(after.status, 422);
    });
  });

  it("the registry survives a restart (SQLite)", async () => {
    const dir = tempDir();
    try {
      await withServer({ dataDir: dir.path }, async (server) => {
        await register(server, "order.placed", V1);
        await put(`${server.url}/schemas/order.placed/config`, { compatibility: "FULL" });
      });
      await withServer({ dataDir: dir.path, schemas: { enforce: true } }, async (server) => {
        const latest = await get<SchemaVersionResponse>(`${server.url}/schemas/order.placed`);
        assert.equal(latest.body.version, 1);
        assert.equal(latest.body.compatibility, "FULL");
        assert.equal((await send(server, { id: "r1", data: {} })).status, 422);
        assert.equal((await register(server, "order.placed", V2)).body.version, 2);
      });
    } finally {
      dir.remove();
    }
  });
});

describe("schema registry: a PostgreSQL cluster shares it", needsPostgres, () => {
  it("a version registered on one instance is read and enforced on the other", async () => {
    const schema = freshSchema();
    const options = {
      port: 0,
      logLevel: "silent" as const,
      storage: "postgres" as const,
      database: { url: databaseUrl, schema },
      schemas: { enforce: true },
    };
    const a = await startServer({ ...options, nodeId: "a" });
    const b = await startServer({ ...options, nodeId: "b" });
    try {
      // b looks at the type before it has a schema (its cache learns "none").
      assert.equal((await send(b, { id: "p0", data: "anything" })).status, 200);
      assert.equal((await register(a, "order.placed", V1)).status, 201);
      const read = await get<SchemaVersionResponse>(`${b.url}/schemas/order.placed`);
      assert.equal(read.body.version, 1);
      // b re-reads the type within its refresh interval: wait for the refusal, not for a clock.
      let status = 200;
      for (let i = 0; i < 100 && status === 200; i++) {
        status = (await send(b, { id: `p${i + 1}`, data: {} })).status;
        if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 422);
      assert.equal((await register(b, "order.placed", V1)).body.version, 1, "b sees a's version as its own");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
