// YAML definitions: a file defines the same app as TypeScript would; load errors name file, line and key.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { createApp, EventFileError, loadEventDefinitions } from "../src/index.js";
import { ManualClock, quietLogger } from "./support.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/app/", import.meta.url));

describe("YAML definitions", () => {
  it("load into definitions of every kind, with $ref schemas resolved", async () => {
    const definitions = await loadEventDefinitions(join(fixtures, "events"));
    assert.deepEqual(
      definitions.map((d) => d.key),
      [
        "http.post./orders",
        "http.get./orders/:id",
        "ws./echo",
        "cron.*/5 * * * *.Europe/Paris",
        "herald.billing",
      ],
    );
    const place = definitions[0]!;
    assert.equal(place.kind, "http");
    if (place.kind === "http") {
      assert.deepEqual((place.input.body as { required: string[] }).required, ["sku", "qty"]);
      assert.deepEqual(place.auth, { scopes: ["orders:write"] });
      assert.equal(place.summary, "Place an order");
    }
    const tick = definitions[3]!;
    assert.ok(
      tick.kind === "cron" && tick.missed === "fire-once" && tick.trigger.timezone === "Europe/Paris",
    );
  });

  it("run as an app: validation, scopes and authorize from the file, handlers from the modules", async () => {
    const definitions = (await loadEventDefinitions(join(fixtures, "events"))).filter(
      (d) => d.kind !== "herald",
    );
    const clock = new ManualClock(new Date("2026-01-01T00:00:30Z"));
    const app = await createApp({
      definitions,
      auth: { apiKeys: { k: { subject: "someone", scopes: ["orders:write"] } } },
      clock,
      logger: quietLogger(),
    }).start();
    try {
      const post = (body: unknown) =>
        fetch(`${app.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": "k" },
          body: JSON.stringify(body),
        });
      const ok = await post({ sku: "abc", qty: 1 });
      assert.equal(ok.status, 201);
      assert.deepEqual(await ok.json(), { id: "order-abc" });
      const invalid = await post({ sku: "abc", qty: "1" });
      assert.equal(invalid.status, 400);
      assert.deepEqual(((await invalid.json()) as { errors: unknown }).errors, [
        { field: "body/qty", reason: "must be integer" },
      ]);
      assert.equal((await post({ sku: "gold", qty: 1 })).status, 403);
      const got = await fetch(`${app.url}/orders/7`);
      assert.deepEqual(await got.json(), { id: 7 });
      await clock.advanceTo(new Date("2026-01-01T00:10:00Z"));
      const handlers = (await import(join(fixtures, "handlers/orders.mjs"))) as { ticks: string[] };
      assert.deepEqual(handlers.ticks, ["2026-01-01T00:05:00.000Z", "2026-01-01T00:10:00.000Z"]);
    } finally {
      await app.stop();
    }
  });
});

describe("YAML load errors", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "herald-service-yaml-"));
    await writeFile(join(dir, "h.mjs"), "export default () => undefined;\nexport const notAFunction = 1;\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function loadError(text: string): Promise<EventFileError> {
    const file = join(dir, "events.yaml");
    await writeFile(file, text);
    try {
      await loadEventDefinitions(file);
    } catch (error) {
      assert.ok(error instanceof EventFileError, String(error));
      assert.equal(error.file, file);
      return error;
    }
    throw new Error("loaded without error");
  }

  it("name the file, line and key of each mistake", async () => {
    const cases: [string, number, string | undefined, RegExp][] = [
      [
        "http.post./ok:\n  fn: ./h.mjs\nhttp.fetch./x:\n  fn: ./h.mjs\n",
        3,
        "http.fetch./x",
        /expected http\.<get/,
      ],
      ["http.post./x:\n  fn: ./h.mjs\n  inptu: {}\n", 3, "http.post./x", /unknown member inptu/],
      ["ws./x:\n  summary: no fn\n", 2, "ws./x", /needs fn/],
      ["cron.* * * * *.Mars/Olympus:\n  fn: ./h.mjs\n", 1, "cron.* * * * *.Mars/Olympus", /unknown timezone/],
      [
        "cron.* * * * *:\n  fn: ./h.mjs\n  missed: all\n",
        3,
        "cron.* * * * *",
        /missed must be equal to one of/,
      ],
      ["http.get./x:\n  fn: ./h.mjs#notAFunction\n", 2, "http.get./x", /no function export notAFunction/],
      ["http.get./x:\n  fn: ./missing.mjs\n", 2, "http.get./x", /cannot import/],
      [
        "http.post./x:\n  fn: ./h.mjs\n  input:\n    body:\n      $ref: ./none.json\n",
        5,
        "http.post./x",
        /cannot read/,
      ],
      [
        "http.post./x:\n  fn: ./h.mjs\n  input:\n    body: { type: objekt }\n",
        4,
        "http.post./x",
        /invalid JSON Schema/,
      ],
      ["http.post./x:\n  fn: [unclosed\n", 3, undefined, /./],
    ];
    for (const [text, line, key, reason] of cases) {
      const error = await loadError(text);
      assert.equal(error.line, line, `${error.message}\n${text}`);
      assert.equal(error.key, key, error.message);
      assert.match(error.reason, reason, error.message);
      assert.match(
        error.message,
        new RegExp(`^${error.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}:`),
      );
    }
  });
});
