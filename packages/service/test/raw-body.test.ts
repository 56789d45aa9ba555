// A handler's body sent as it is: a string or bytes with a non-JSON content-type (a page, a script);
// with a JSON content-type (or none) the body is serialized as JSON as always.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Type } from "@sinclair/typebox";
import { type App, createApp, defineEventSource, http } from "../src/index.js";
import { quietLogger } from "./support.js";

const page = defineEventSource({
  trigger: http.get("/page"),
  output: { 200: Type.String() },
  handler: () => ({
    status: 200,
    body: "<!doctype html><title>é</title>",
    headers: { "Content-Type": "text/html; charset=utf-8" },
  }),
});
const script = defineEventSource({
  trigger: http.get("/app.js"),
  handler: () => ({
    status: 200,
    body: new TextEncoder().encode("export const x = 1;\n"),
    headers: { "content-type": "text/javascript" },
  }),
});
const quoted = defineEventSource({
  trigger: http.get("/quoted"),
  handler: () => ({ status: 200, body: "<b>", headers: { "content-type": "application/problem+json" } }),
});

let app: App;
before(async () => {
  app = await createApp({ definitions: [page, script, quoted], logger: quietLogger() }).start();
});
after(() => app.stop());

describe("raw bodies", () => {
  it("sends a string or bytes with a non-JSON content-type as they are", async () => {
    const html = await fetch(`${app.url}/page`);
    assert.equal(html.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await html.text(), "<!doctype html><title>é</title>");
    assert.equal(
      Number(html.headers.get("content-length")),
      Buffer.byteLength("<!doctype html><title>é</title>"),
    );
    const js = await fetch(`${app.url}/app.js`);
    assert.equal(js.headers.get("content-type"), "text/javascript");
    assert.equal(await js.text(), "export const x = 1;\n");
  });
  it("still serializes a string as JSON under a JSON content-type", async () => {
    const res = await fetch(`${app.url}/quoted`);
    assert.equal(await res.text(), '"<b>"');
  });
});
