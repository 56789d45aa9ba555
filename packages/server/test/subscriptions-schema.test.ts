// Every subscription resource the server answers (POST, GET, list, PUT) validates against the
// Subscriptions API's OpenAPI schema (conformance/subscriptions/subscriptions-openapi.yaml), and a
// GET answer sent back with PUT round-trips unchanged.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { HeraldServer } from "@herald/server";
import { Ajv, type ValidateFunction } from "ajv";
import YAML from "yaml";
import { conformanceDir } from "./support/conformance.js";
import { api } from "./support/harness.js";
import { start } from "./server-harness.js";

type Json = { [key: string]: unknown };

/**
 * The OpenAPI 3.0 schema components as JSON Schema, with the two defects of the published document
 * fixed (each would make every resource invalid, not just Herald's):
 * - `oneOf` → `anyOf`: `Filter` (any object) and `SqlFilter` (additionalProperties) overlap every other
 *   filter dialect, and the empty `ProtocolSettings` every settings type, so "exactly one" never holds.
 * - `additionalProperties: false` dropped from `ProtocolSettings` and `SinkCredential`: under `allOf`
 *   it refuses the members the derived schemas add (`headers`, `identifier`, `accesstoken`, …).
 * `pull` drops `sink` from `required`: Herald's pull subscriptions have no sink (docs/subscriptions.md).
 */
function components(pull: boolean): Json {
  const doc = YAML.parse(
    readFileSync(join(conformanceDir(), "subscriptions/subscriptions-openapi.yaml"), "utf8"),
  ) as { components: { schemas: Record<string, Json> } };
  const convert = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(convert);
    if (typeof node !== "object" || node === null) return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "example") continue; // OpenAPI annotation, no JSON Schema keyword
      out[key === "oneOf" ? "anyOf" : key] = convert(value);
    }
    return out;
  };
  const schemas = convert(doc.components.schemas) as Record<string, Json>;
  delete schemas.ProtocolSettings!.additionalProperties;
  delete schemas.SinkCredential!.additionalProperties;
  if (pull) {
    schemas.SubscriptionRequest!.required = ["protocol"];
    schemas.Subscription!.required = ["id", "protocol"];
  }
  return { $id: pull ? "pull" : "push", components: { schemas } };
}

function validators(): { push: ValidateFunction; pull: ValidateFunction } {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The formats the document names; `url` is not a JSON Schema format, read as an absolute URL.
  const absoluteUrl = (s: string) => URL.canParse(s);
  ajv.addFormat("url", absoluteUrl);
  ajv.addFormat("uri", absoluteUrl);
  ajv.addFormat("uri-reference", (s: string) => URL.canParse(s, "http://base.invalid/"));
  ajv.addFormat("date-time", (s: string) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s),
  );
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addSchema(components(false));
  ajv.addSchema(components(true));
  return {
    push: ajv.getSchema("push#/components/schemas/Subscription")!,
    pull: ajv.getSchema("pull#/components/schemas/Subscription")!,
  };
}

describe("subscription resources validate against the Subscriptions API schema", () => {
  let server: HeraldServer;
  let push: ValidateFunction;
  let pull: ValidateFunction;
  const seen: unknown[] = [];

  /** Validates an answer (push when it has a sink, else pull) and remembers it. */
  const check = (resource: unknown, what: string): Json => {
    const r = resource as Json;
    const validate = r.sink === undefined ? pull : push;
    assert.ok(validate(r), `${what}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(r)}`);
    seen.push(r);
    return r;
  };
  const call = async (method: string, path: string, body?: unknown, status = 200): Promise<Json> => {
    const answer = await api(server.url, method, path, body);
    assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    return answer.body as Json;
  };

  before(async () => {
    ({ push, pull } = validators());
    server = await start({});
  });
  after(async () => {
    await server.close();
    assert.ok(seen.length > 10, "answers were checked");
  });

  it("the schema as converted refuses what the API refuses", () => {
    assert.ok(!push({ id: "x", protocol: "HTTP" }), "push needs a sink");
    assert.ok(
      !push({ id: "x", protocol: "HTTP", sink: "http://a/", config: { maxInFlight: 4 } }),
      "config is strings",
    );
    assert.ok(!push({ id: "x", protocol: "SMTP", sink: "http://a/" }), "protocol enum");
    assert.ok(!pull({ id: "x" }), "protocol is required");
    assert.ok(push({ id: "x", protocol: "HTTP", sink: "http://a/", config: { maxInFlight: "4" } }));
  });

  it("POST, GET, list and PUT answers validate; typed delivery settings come back as strings", async () => {
    const typed = {
      id: "schema-push",
      protocol: "HTTP",
      protocolsettings: { headers: { "x-team": "orders" }, method: "PUT" },
      sink: "http://127.0.0.1:9/hook",
      sinkcredential: { credentialtype: "PLAIN", identifier: "me", secret: "pw" },
      source: "/orders",
      types: ["order.created"],
      filters: [
        { exact: { type: "order.created" } },
        { all: [{ prefix: { subject: "o/" } }, { not: { suffix: { source: "/x" } } }] },
        { any: [{ sql: "EXISTS subject" }] },
      ],
      config: {
        secret: "whsec_c2VjcmV0",
        contentMode: "structured",
        ordering: "none",
        maxInFlight: 8,
        ackTimeoutMs: 1000,
        maxDeliveries: 3,
        backoff: { baseMs: 100, capMs: 2000 },
        timeoutMs: "5000",
        start: { position: 0 },
      },
    };
    const created = check(await call("POST", "/subscriptions", typed, 201), "POST");
    assert.deepEqual(created.config, {
      secret: "********",
      contentMode: "structured",
      ordering: "none",
      maxInFlight: "8",
      ackTimeoutMs: "1000",
      maxDeliveries: "3",
      backoffBaseMs: "100",
      backoffCapMs: "2000",
      timeoutMs: "5000",
      start: "position:0",
    });
    assert.deepEqual(created.sinkcredential, {
      credentialtype: "PLAIN",
      identifier: "me",
      secret: "********",
    });
    const got = check(await call("GET", "/subscriptions/schema-push"), "GET");
    assert.deepEqual(got, created);

    // GET → PUT of the answer changes nothing (secrets sent back redacted keep the stored ones).
    const put = check(await call("PUT", "/subscriptions/schema-push", got), "PUT");
    assert.deepEqual(put, got);
    assert.deepEqual(check(await call("GET", "/subscriptions/schema-push"), "GET after PUT"), got);

    const token = {
      id: "schema-token",
      sink: "https://127.0.0.1:9/t",
      sinkcredential: {
        credentialtype: "ACCESSTOKEN",
        accesstoken: "tok",
        accesstokenexpiresutc: "2030-01-01T00:00:00Z",
      },
      config: { start: "now", backoffBaseMs: 10 },
    };
    const tokenAnswer = check(await call("POST", "/subscriptions", token, 201), "POST token");
    assert.equal(tokenAnswer.protocol, "HTTP");
    assert.deepEqual(tokenAnswer.config, { start: "now", backoffBaseMs: "10" });
  });

  it("pull subscriptions answer protocol HTTP and no sink; every start form round-trips", async () => {
    const starts: Array<[unknown, string]> = [
      ["beginning", "beginning"],
      ["now", "now"],
      [12, "position:12"],
      ["12", "position:12"],
      ["position:7", "position:7"],
      [{ time: "2026-01-02T03:04:05Z" }, "time:2026-01-02T03:04:05.000Z"],
      ["2026-01-02T05:04:05+02:00", "time:2026-01-02T03:04:05.000Z"],
      ["time:2026-01-02T03:04:05.000Z", "time:2026-01-02T03:04:05.000Z"],
    ];
    for (const [i, [given, shown]] of starts.entries()) {
      const id = `schema-pull-${i}`;
      const created = check(
        await call("POST", "/subscriptions", { id, types: ["t"], config: { start: given } }, 201),
        `POST start ${JSON.stringify(given)}`,
      );
      assert.equal(created.protocol, "HTTP");
      assert.equal(created.sink, undefined);
      assert.deepEqual(created.config, { start: shown });
      // Against the unrelaxed schema only `sink` is missing.
      assert.ok(!push(created));
      assert.deepEqual(
        [...new Set(push.errors?.map((e) => (e.params as { missingProperty?: string }).missingProperty))],
        ["sink"],
      );
      const got = check(await call("GET", `/subscriptions/${id}`), "GET pull");
      assert.deepEqual(check(await call("PUT", `/subscriptions/${id}`, got), "PUT pull"), got);
    }
    const bare = check(await call("POST", "/subscriptions", { id: "schema-bare" }, 201), "POST bare");
    assert.deepEqual(bare, { id: "schema-bare", protocol: "HTTP" });
    const list = await call("GET", "/subscriptions");
    assert.ok(Array.isArray(list));
    for (const resource of list as unknown[]) check(resource, "list entry");
  });

  it("refuses a start string it cannot read, naming the forms", async () => {
    for (const start of ["position:", "position:-1", "time:yesterday", "later"]) {
      const answer = await api(server.url, "POST", "/subscriptions", { id: "bad-start", config: { start } });
      assert.equal(answer.status, 400, start);
      const errors = (answer.body as { errors: Array<{ field: string; reason: string }> }).errors;
      assert.deepEqual(
        errors.map((e) => e.field),
        ["/config/start"],
      );
      assert.match(errors[0]!.reason, /position:N/);
    }
  });
});
