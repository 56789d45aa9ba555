// HTTP and WebSocket sources against a real server on port 0: validation in and out, API keys, JWTs,
// scopes, authorize, and the catalog problem each refusal answers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PROBLEM_CODES, PROBLEMS, type ProblemCode, problemType } from "@herald/protocol";
import { NonRetryableError, RetryableError } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { type App, createApp, defineEventSource, http, ws } from "../src/index.js";
import { quietLogger } from "./support.js";

const SECRET = "a-test-secret-of-at-least-32-bytes!!";
const Order = Type.Object(
  { sku: Type.String({ minLength: 1 }), qty: Type.Integer({ minimum: 1 }) },
  {
    additionalProperties: false,
  },
);

const placeOrder = defineEventSource({
  trigger: http.post("/orders"),
  input: { body: Order, query: Type.Object({ dry: Type.Optional(Type.Boolean()) }) },
  output: { 201: Type.Object({ id: Type.String(), qty: Type.Integer() }) },
  auth: { scopes: ["orders:write"] },
  authorize: ({ body }, ctx) => !(ctx.principal.subject === "bob" && body.sku === "gold"),
  handler: ({ body }) => {
    if (body.sku === "refuse") throw new NonRetryableError("out of stock");
    if (body.sku === "busy") throw new RetryableError("warehouse busy", { delayMs: 2_000 });
    if (body.sku === "crash") throw new Error("boom");
    // A handler bug: the output schema says qty is an integer.
    if (body.sku === "bug") return { status: 201, body: { id: "x", qty: 1.5 } };
    return { status: 201, body: { id: `order-${body.sku}`, qty: body.qty } };
  },
});
const getOrder = defineEventSource({
  trigger: "http.get./orders/:id",
  input: { params: Type.Object({ id: Type.Integer() }) },
  auth: { required: false },
  handler: ({ params }) => ({ status: 200, body: { id: params.id, twice: params.id * 2 } }),
});
const echo = defineEventSource({
  trigger: ws("/echo"),
  input: { message: Type.Object({ text: Type.String() }) },
  output: { message: Type.Object({ echoed: Type.String() }) },
  auth: { required: true },
  authorize: (message) => message.text !== "forbidden",
  handler: (message) => (message.text === "silent" ? undefined : { echoed: message.text.toUpperCase() }),
});

let app: App;
const keys = {
  "key-alice": { subject: "alice", scopes: ["orders:write"] },
  "key-bob": { subject: "bob", scopes: ["orders:write"] },
  "key-eve": { subject: "eve" },
};

async function jwt(claims: Record<string, unknown>, expiresIn = "5m"): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://issuer.test")
    .setAudience("orders")
    .setSubject(String(claims["sub"] ?? "jwt-user"))
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const provoked = new Set<string>();

async function expectProblem(response: Response, code: ProblemCode): Promise<Record<string, unknown>> {
  provoked.add(code);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, PROBLEMS[code].status, JSON.stringify(body));
  assert.match(String(response.headers.get("content-type")), /^application\/problem\+json/);
  assert.equal(body["code"], code);
  assert.equal(body["type"], problemType(code));
  assert.equal(body["title"], PROBLEMS[code].title);
  return body;
}

before(async () => {
  app = await createApp({
    definitions: [placeOrder, getOrder, echo],
    auth: { apiKeys: keys, jwt: { secret: SECRET, issuer: "https://issuer.test", audience: "orders" } },
    logger: quietLogger(),
  }).start();
});
after(() => app.stop());

after(() => {
  // The catalog's event-source codes are each provoked above (the server's catalog test skips them).
  const missing = PROBLEM_CODES.filter((c) => PROBLEMS[c].answeredBy === "event-source" && !provoked.has(c));
  assert.deepEqual(missing, [], "event-source codes no test provoked");
});

describe("HTTP source", () => {
  it("answers the handler's validated output", async () => {
    const response = await post("/orders", { sku: "abc", qty: 2 }, { "x-api-key": "key-alice" });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { id: "order-abc", qty: 2 });
    assert.equal(app.outcomes.get("http.post./orders", "handled"), 1);
  });
  it("coerces path parameters by their schema, and lets public events through without credentials", async () => {
    const response = await fetch(`${app.url}/orders/21`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { id: 21, twice: 42 });
  });
  it("routes raw request targets as a URL would: dot segments, encoded parameters, query strings", async () => {
    const { request } = await import("node:http");
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${app.url}${path}`, { path }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    assert.deepEqual(await get("/x/../orders/21"), { status: 200, body: '{"id":21,"twice":42}' });
    assert.deepEqual(await get("/orders/%32%31?x=1"), { status: 200, body: '{"id":21,"twice":42}' });
    assert.equal((await get("/orders/21/")).status, 200);
    assert.equal((await get("/nowhere?x=/orders/21")).status, 404);
  });
  it("lists every invalid field (input-invalid)", async () => {
    const body = await expectProblem(
      await post("/orders?dry=maybe", { qty: 0, extra: true }, { "x-api-key": "key-alice" }),
      "input-invalid",
    );
    const fields = (body["errors"] as { field: string }[]).map((e) => e.field).sort();
    assert.deepEqual(fields, ["body/extra", "body/qty", "body/sku", "query/dry"]);
    await expectProblem(await fetch(`${app.url}/orders/abc`), "input-invalid");
  });
  it("refuses bad JSON, a non-JSON body, and unknown routes and methods", async () => {
    await expectProblem(await post("/orders", "{", { "x-api-key": "key-alice" }), "json-invalid");
    await expectProblem(
      await post("/orders", "x", { "x-api-key": "key-alice", "content-type": "text/plain" }),
      "unsupported-media-type",
    );
    await expectProblem(await fetch(`${app.url}/nowhere`), "route-not-found");
    const wrong = await fetch(`${app.url}/orders/1`, { method: "DELETE" });
    assert.equal(wrong.headers.get("allow"), "GET");
    await expectProblem(wrong, "method-not-allowed");
  });
  it("authenticates API keys and JWTs and checks scopes", async () => {
    const none = await post("/orders", { sku: "a", qty: 1 });
    assert.match(String(none.headers.get("www-authenticate")), /^Bearer/);
    await expectProblem(none, "unauthorized");
    await expectProblem(
      await post("/orders", { sku: "a", qty: 1 }, { "x-api-key": "nope" }),
      "api-key-invalid",
    );
    const forbidden = await expectProblem(
      await post("/orders", { sku: "a", qty: 1 }, { "x-api-key": "key-eve" }),
      "forbidden",
    );
    assert.equal(forbidden["requiredScope"], "orders:write");
    const good = await jwt({ sub: "carol", scope: "orders:read orders:write" });
    const ok = await post("/orders", { sku: "j", qty: 1 }, { authorization: `Bearer ${good}` });
    assert.equal(ok.status, 201);
    const expired = await jwt({ sub: "carol", scope: "orders:write" }, "-1m");
    await expectProblem(
      await post("/orders", { sku: "j", qty: 1 }, { authorization: `Bearer ${expired}` }),
      "token-invalid",
    );
    const tampered = `${good.slice(0, -4)}AAAA`;
    await expectProblem(
      await post("/orders", { sku: "j", qty: 1 }, { authorization: `Bearer ${tampered}` }),
      "token-invalid",
    );
    const narrow = await jwt({ sub: "dan", scope: "orders:read" });
    await expectProblem(
      await post("/orders", { sku: "j", qty: 1 }, { authorization: `Bearer ${narrow}` }),
      "forbidden",
    );
  });
  it("runs authorize with the principal and the validated input (authorization-refused)", async () => {
    await expectProblem(
      await post("/orders", { sku: "gold", qty: 1 }, { "x-api-key": "key-bob" }),
      "authorization-refused",
    );
    const alice = await post("/orders", { sku: "gold", qty: 1 }, { "x-api-key": "key-alice" });
    assert.equal(alice.status, 201);
  });
  it("maps handler failures: refused 422, retryable 503 with Retry-After, a crash 500", async () => {
    await expectProblem(
      await post("/orders", { sku: "refuse", qty: 1 }, { "x-api-key": "key-alice" }),
      "handler-refused",
    );
    const busy = await post("/orders", { sku: "busy", qty: 1 }, { "x-api-key": "key-alice" });
    assert.equal(busy.headers.get("retry-after"), "2");
    await expectProblem(busy, "handler-unavailable");
    await expectProblem(
      await post("/orders", { sku: "crash", qty: 1 }, { "x-api-key": "key-alice" }),
      "internal-error",
    );
  });
  it("never sends an output that breaks the output schema (output-invalid)", async () => {
    await expectProblem(
      await post("/orders", { sku: "bug", qty: 1 }, { "x-api-key": "key-alice" }),
      "output-invalid",
    );
    assert.equal(app.outcomes.get("http.post./orders", "output-invalid"), 1);
  });
});

function open(path: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${app.url.replace("http", "ws")}${path}`, { headers });
    socket.once("open", () => resolve(socket));
    socket.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => reject(Object.assign(new Error(text), { status: res.statusCode, body: text })));
    });
    socket.once("error", reject);
  });
}

function exchange(socket: WebSocket, frame: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    socket.once("message", (raw) => resolve(JSON.parse(raw.toString()) as Record<string, unknown>));
    socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  });
}

describe("WebSocket source", () => {
  it("authenticates the upgrade, then answers each message with the handler's reply or a problem", async () => {
    await assert.rejects(open("/echo"), (e: { status: number; body: string }) => {
      assert.equal(e.status, 401);
      assert.equal((JSON.parse(e.body) as { code: string }).code, "unauthorized");
      return true;
    });
    await assert.rejects(
      open("/nowhere", { "x-api-key": "key-eve" }),
      (e: { status: number }) => e.status === 404,
    );
    const socket = await open("/echo?access_token=key-eve");
    try {
      assert.deepEqual(await exchange(socket, { id: "1", data: { text: "hi" } }), {
        id: "1",
        data: { echoed: "HI" },
      });
      const invalid = await exchange(socket, { id: "2", data: { text: 3 } });
      assert.equal((invalid["problem"] as { code: string }).code, "input-invalid");
      assert.deepEqual((invalid["problem"] as { errors: unknown }).errors, [
        { field: "message/data/text", reason: "must be string" },
      ]);
      const refused = await exchange(socket, { id: "3", data: { text: "forbidden" } });
      assert.equal((refused["problem"] as { code: string }).code, "authorization-refused");
      const notJson = await exchange(socket, "{");
      assert.equal((notJson["problem"] as { code: string }).code, "json-invalid");
      // No reply for "silent": the next answer is the next message's.
      socket.send(JSON.stringify({ id: "4", data: { text: "silent" } }));
      assert.deepEqual(await exchange(socket, { id: "5", data: { text: "after" } }), {
        id: "5",
        data: { echoed: "AFTER" },
      });
      assert.equal(app.outcomes.get("ws./echo", "handled"), 3);
    } finally {
      socket.close();
    }
  });
});
