// Subscription resource validation: OpenAPI-shaped resources are accepted, bad fields are all named.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SubscriptionValidationError } from "../src/subscriptions/errors.js";
import {
  DEFAULT_SETTINGS,
  parseSubscription,
  REDACTED,
  redact,
  restoreSecrets,
} from "../src/subscriptions/model.js";

function issuesOf(body: unknown, id = "s1"): string[] {
  try {
    parseSubscription(body, id);
  } catch (error) {
    assert.ok(error instanceof SubscriptionValidationError);
    return error.issues.map((i) => i.field);
  }
  assert.fail("expected a validation error");
}

describe("subscription resource", () => {
  it("accepts the Subscriptions API shape and keeps it verbatim", () => {
    const body = {
      id: "orders-webhook",
      protocol: "HTTP",
      protocolsettings: { headers: { "x-team": "orders" }, method: "POST" },
      sink: "https://hooks.example.com/orders",
      sinkcredential: {
        credentialtype: "ACCESSTOKEN",
        accesstoken: "t0k",
        accesstokenexpiresutc: "2030-01-01T00:00:00Z",
      },
      source: "/orders",
      types: ["order.created", "order.paid"],
      filters: [
        { exact: { type: "order.created" } },
        { prefix: { subject: "orders/" } },
        { suffix: { source: "/orders" } },
        { all: [{ exact: { region: "eu" } }, { not: { exact: { test: "true" } } }] },
        { any: [{ prefix: { type: "order." } }, { suffix: { type: ".paid" } }] },
      ],
      config: { maxInFlight: "8", ordering: "none", contentMode: "structured" },
    };
    const { resource, settings } = parseSubscription(body, undefined);
    assert.deepEqual(resource, body);
    assert.equal(settings.maxInFlight, 8);
    assert.equal(settings.ordering, "none");
    assert.equal(settings.contentMode, "structured");
    assert.equal(settings.maxDeliveries, DEFAULT_SETTINGS.maxDeliveries);
  });

  it("defaults protocol to HTTP for push and pull subscriptions (pull has no sink)", () => {
    assert.equal(parseSubscription({ sink: "http://127.0.0.1:1/x" }, "a").resource.protocol, "HTTP");
    const pull = parseSubscription({}, "a").resource;
    assert.equal(pull.protocol, "HTTP");
    assert.equal(pull.sink, undefined);
  });

  it("reads every config member, numbers as JSON numbers or strings", () => {
    const { settings } = parseSubscription(
      {
        config: {
          secret: "s3cret",
          maxInFlight: 3,
          ackTimeoutMs: "250",
          maxDeliveries: 4,
          backoff: { baseMs: 5, capMs: 50 },
          timeoutMs: 1000,
          start: { position: 7 },
          retention: "queue",
        },
      },
      "a",
    );
    assert.deepEqual(settings, {
      contentMode: "binary",
      ordering: "key",
      maxInFlight: 3,
      ackTimeoutMs: 250,
      maxDeliveries: 4,
      backoff: { baseMs: 5, capMs: 50 },
      timeoutMs: 1000,
      retention: "queue",
      secret: "s3cret",
      start: { kind: "position", position: 7 },
    });
    const flat = parseSubscription({ config: { backoffBaseMs: "10", backoffCapMs: "20" } }, "a").settings;
    assert.deepEqual(flat.backoff, { baseMs: 10, capMs: 20 });
  });

  it("reads the start forms", () => {
    const start = (value: unknown) => parseSubscription({ config: { start: value } }, "a").settings.start;
    assert.deepEqual(start("beginning"), { kind: "beginning" });
    assert.deepEqual(start("now"), { kind: "now" });
    assert.deepEqual(start(12), { kind: "position", position: 12 });
    assert.deepEqual(start("12"), { kind: "position", position: 12 });
    assert.deepEqual(start("position:12"), { kind: "position", position: 12 });
    assert.deepEqual(start("time:2026-01-01T00:00:00Z"), {
      kind: "time",
      time: Date.parse("2026-01-01T00:00:00Z"),
    });
    assert.deepEqual(start({ time: "2026-01-01T00:00:00Z" }), {
      kind: "time",
      time: Date.parse("2026-01-01T00:00:00Z"),
    });
    assert.deepEqual(start("2026-01-01T00:00:00Z"), {
      kind: "time",
      time: Date.parse("2026-01-01T00:00:00Z"),
    });
  });

  it("answers config as strings that parse back to the same settings and the same resource", () => {
    const typedConfigs: Array<Record<string, unknown>> = [
      { maxInFlight: 3, ackTimeoutMs: "250", maxDeliveries: 2, timeoutMs: 40, start: { position: 5 } },
      { backoff: { baseMs: 7, capMs: 70 }, ordering: "none", contentMode: "structured", start: "now" },
      { backoff: { capMs: 900 }, backoffBaseMs: "9", secret: "s", start: { time: "2026-03-04T05:06:07Z" } },
      {},
    ];
    for (const config of typedConfigs) {
      const first = parseSubscription({ sink: "http://127.0.0.1:1/x", config }, "a");
      const shown = first.resource.config as Record<string, unknown>;
      for (const value of Object.values(shown)) assert.equal(typeof value, "string", JSON.stringify(shown));
      const second = parseSubscription(first.resource, "a");
      assert.deepEqual(second.settings, first.settings, JSON.stringify(config));
      assert.deepEqual(second.resource, first.resource);
    }
    assert.deepEqual(
      parseSubscription({ config: { backoff: { capMs: 900 }, start: 5 } }, "a").resource.config,
      { backoffCapMs: "900", start: "position:5" },
    );
  });

  it("names every invalid field", () => {
    assert.deepEqual(
      issuesOf({
        id: "bad id!",
        protocol: "SMTP",
        sink: "ftp://x",
        types: [1],
        extra: true,
        filters: [
          { exact: { type: 1 } },
          { prefix: {} },
          { all: [] },
          { not: { nope: {} } },
          { exact: { type: "a" }, suffix: { type: "b" } },
          "x",
        ],
        config: {
          maxInFlight: 0,
          ordering: "random",
          start: "yesterday",
          bogus: 1,
          backoff: { baseMs: 10, capMs: 5 },
        },
      }).sort(),
      [
        "/config/backoff/capMs",
        "/config/bogus",
        "/config/maxInFlight",
        "/config/ordering",
        "/config/start",
        "/extra",
        "/filters/0/exact/type",
        "/filters/1/prefix",
        "/filters/2/all",
        "/filters/3/not",
        "/filters/4",
        "/filters/5",
        "/id",
        "/protocol",
        "/sink",
        "/types",
      ],
    );
    assert.deepEqual(issuesOf({ sink: "http://u:p@example.com/" }), ["/sink"]);
    assert.deepEqual(issuesOf({ protocol: "MQTT5", sink: "http://example.com/" }), ["/protocol"]);
    assert.deepEqual(issuesOf([]), [""]);
  });

  it("redacts secrets on reads and restores them on PUT", () => {
    const { resource } = parseSubscription(
      {
        sink: "http://example.com/",
        sinkcredential: { credentialtype: "PLAIN", identifier: "me", secret: "pw" },
        config: { secret: "hmac" },
      },
      "a",
    );
    const shown = redact(resource);
    assert.equal(shown.config?.secret, REDACTED);
    assert.equal(shown.sinkcredential?.secret, REDACTED);
    assert.equal(shown.sinkcredential?.identifier, "me");
    const restored = restoreSecrets(shown, resource) as typeof resource;
    assert.equal(restored.config?.secret, "hmac");
    assert.equal(restored.sinkcredential?.secret, "pw");
  });

  it("shows resources stored before the API shape (typed config, no protocol) in the API shape", () => {
    const legacy = {
      id: "old",
      types: ["t"],
      config: { maxInFlight: 4, backoff: { baseMs: 10, capMs: 20 }, start: { position: 3 }, secret: "k" },
    };
    assert.deepEqual(redact(legacy), {
      id: "old",
      protocol: "HTTP",
      types: ["t"],
      config: {
        maxInFlight: "4",
        backoffBaseMs: "10",
        backoffCapMs: "20",
        start: "position:3",
        secret: REDACTED,
      },
    });
  });
});
