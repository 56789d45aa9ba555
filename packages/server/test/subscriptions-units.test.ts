// Pure pieces of the delivery engine: backoff, Retry-After, Standard Webhooks signing (from
// @herald/protocol, as the engine uses them), sink policy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay as retryDelay, parseRetryAfter, signWebhook, webhookHeaders } from "@herald/protocol";
import { SinkPolicy, SinkRefusedError } from "../src/subscriptions/sink-policy.js";

describe("retry backoff", () => {
  const backoff = { baseMs: 100, capMs: 1000 };
  it("grows as base·2^(n-1) up to the cap (random = 1 gives the ceiling)", () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, backoff, () => 0.999999));
    assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999]);
  });
  it("uses full jitter: anywhere from 0 to the ceiling", () => {
    assert.equal(
      retryDelay(3, backoff, () => 0),
      0,
    );
    assert.equal(
      retryDelay(3, backoff, () => 0.5),
      200,
    );
    for (let i = 0; i < 200; i++) {
      const d = retryDelay(4, backoff);
      assert.ok(d >= 0 && d < 800, `delay ${d}`);
    }
  });
  it("parses Retry-After seconds and HTTP dates, capped", () => {
    assert.equal(parseRetryAfter("2", 10_000), 2000);
    assert.equal(parseRetryAfter("120", 10_000), 10_000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:03 GMT", 10_000, now), 3000);
    assert.equal(parseRetryAfter("soon", 10_000), undefined);
    assert.equal(parseRetryAfter(undefined, 10_000), undefined);
  });
});

describe("Standard Webhooks signature", () => {
  it("matches the Standard Webhooks reference vector", () => {
    const signature = signWebhook(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      Buffer.from('{"test": 2432232314}'),
    );
    assert.equal(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });
  it("signs with a fresh timestamp per call", () => {
    const body = Buffer.from("{}");
    const a = webhookHeaders("secret", "id-1", body, 1_000_000);
    const b = webhookHeaders("secret", "id-1", body, 2_000_000);
    assert.equal(a["webhook-id"], "id-1");
    assert.equal(a["webhook-timestamp"], "1000");
    assert.equal(b["webhook-timestamp"], "2000");
    assert.notEqual(a["webhook-signature"], b["webhook-signature"]);
  });
});

describe("sink policy", () => {
  const refused = (policy: SinkPolicy, url: string) =>
    assert.throws(() => policy.checkUrl(url), SinkRefusedError, url);
  it("refuses link-local and cloud metadata endpoints by default", () => {
    const policy = new SinkPolicy();
    refused(policy, "http://169.254.169.254/latest/meta-data/");
    refused(policy, "http://169.254.10.1/hook");
    refused(policy, "http://[fe80::1]/hook");
    refused(policy, "http://[fd00:ec2::254]/");
    refused(policy, "http://[::ffff:169.254.169.254]/");
    refused(policy, "http://metadata.google.internal/computeMetadata/v1/");
    refused(policy, "http://METADATA.GOOGLE.INTERNAL./");
    refused(policy, "ftp://example.com/");
  });
  it("allows loopback and public hosts by default", () => {
    const policy = new SinkPolicy();
    assert.equal(policy.checkUrl("http://127.0.0.1:9/hook").hostname, "127.0.0.1");
    assert.equal(policy.checkUrl("https://hooks.example.com/x").hostname, "hooks.example.com");
  });
  it("refuses private networks when told to", () => {
    const policy = new SinkPolicy({ allowPrivateNetworks: false });
    refused(policy, "http://127.0.0.1/hook");
    refused(policy, "http://10.1.2.3/hook");
    refused(policy, "http://[::1]/hook");
    assert.ok(policy.checkUrl("http://93.184.216.34/"));
  });
  it("restricts sinks to the allow-list (names, wildcards, ranges)", () => {
    const policy = new SinkPolicy({ allowList: ["hooks.example.com", "*.corp.example", "127.0.0.0/8"] });
    assert.ok(policy.checkUrl("https://hooks.example.com/a"));
    assert.ok(policy.checkUrl("https://a.b.corp.example/a"));
    assert.ok(policy.checkUrl("http://127.0.0.1:8080/a"));
    refused(policy, "http://10.0.0.1/a");
    refused(new SinkPolicy({ allowList: ["hooks.example.com"] }), "https://evil.example.com/");
    // The allow-list never re-opens metadata endpoints.
    refused(new SinkPolicy({ allowList: ["169.254.0.0/16"] }), "http://169.254.169.254/");
  });
  it("checks resolved addresses before connecting", async () => {
    const policy = new SinkPolicy({ allowPrivateNetworks: false });
    const error = await new Promise<unknown>((resolve) =>
      policy.lookup("localhost", { all: true }, (err) => resolve(err)),
    );
    assert.ok(error instanceof SinkRefusedError);
    const ok = await new Promise<unknown>((resolve) =>
      new SinkPolicy().lookup("localhost", { all: false }, (err, address) => resolve(err ?? address)),
    );
    assert.match(String(ok), /^(127\.0\.0\.1|::1)$/);
  });
});
