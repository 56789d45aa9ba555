import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { checkWebhook, signWebhook, webhookHeaders, webhookKey } from "../src/index.js";

// The Standard Webhooks specification's published test vector.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

describe("webhook signing", () => {
  it("matches the reference vector for string and byte bodies", () => {
    assert.equal(signWebhook(secret, id, timestamp, body), signature);
    assert.equal(signWebhook(secret, id, timestamp, Buffer.from(body)), signature);
  });
  it("uses whsec_ secrets as base64 bytes and other secrets as UTF-8", () => {
    assert.deepEqual(webhookKey("whsec_aGVsbG8="), Buffer.from("hello"));
    assert.deepEqual(webhookKey("hello"), Buffer.from("hello"));
    const expected = createHmac("sha256", "plain").update("i.7.x").digest("base64");
    assert.equal(signWebhook("plain", "i", 7, "x"), `v1,${expected}`);
  });
  it("timestamps headers in seconds, fresh per call", () => {
    const a = webhookHeaders("s", "id-1", "{}", 1_000_999);
    const b = webhookHeaders("s", "id-1", "{}", 2_000_000);
    assert.deepEqual(Object.keys(a).sort(), ["webhook-id", "webhook-signature", "webhook-timestamp"]);
    assert.equal(a["webhook-timestamp"], "1000");
    assert.equal(b["webhook-timestamp"], "2000");
    assert.equal(a["webhook-signature"], signWebhook("s", "id-1", 1000, "{}"));
    assert.notEqual(a["webhook-signature"], b["webhook-signature"]);
  });
});

describe("webhook verification", () => {
  const headers = (sig = signature, ts = String(timestamp)) => ({
    "webhook-id": id,
    "webhook-timestamp": ts,
    "webhook-signature": sig,
  });
  const at = { nowSeconds: timestamp };
  it("round-trips what webhookHeaders signs, for any body", () => {
    for (let i = 0; i < 50; i++) {
      const payload = Buffer.from(Array.from({ length: i * 7 }, (_, j) => (i * 31 + j) % 256));
      const signed = webhookHeaders("rotating-secret", `msg-${i}`, payload, timestamp * 1000);
      assert.deepEqual(checkWebhook(["rotating-secret"], signed, payload, at), { valid: true });
    }
  });
  it("accepts one match among several signatures and secrets (rotation), header arrays too", () => {
    assert.equal(checkWebhook([secret], headers(), body, { nowSeconds: timestamp + 10 }).valid, true);
    const rotated = checkWebhook(["whsec_b3RoZXI=", secret], headers(`v1,AAAA ${signature}`), body, at);
    assert.equal(rotated.valid, true);
    assert.equal(checkWebhook([secret], { ...headers(), "webhook-id": [id, "x"] }, body, at).valid, true);
  });
  it("refuses with a reason: tampered body, wrong secret, missing headers, stale or bad timestamp", () => {
    const reason = (v: ReturnType<typeof checkWebhook>) => (v.valid ? "accepted" : v.reason);
    assert.equal(reason(checkWebhook([secret], headers(), `${body} `, at)), "bad-signature");
    assert.equal(reason(checkWebhook(["whsec_b3RoZXI="], headers(), body, at)), "bad-signature");
    assert.equal(reason(checkWebhook([secret], headers("v2,whatever"), body, at)), "bad-signature");
    assert.equal(reason(checkWebhook([secret], { "webhook-id": id }, body, at)), "missing-headers");
    assert.equal(
      reason(checkWebhook([secret], headers(), body, { nowSeconds: timestamp + 301 })),
      "stale-timestamp",
    );
    assert.equal(
      reason(checkWebhook([secret], headers(), body, { nowSeconds: timestamp - 61, toleranceSeconds: 60 })),
      "stale-timestamp",
    );
    assert.equal(
      reason(checkWebhook([secret], headers(signature, "16142653.5"), body, at)),
      "stale-timestamp",
    );
  });
});
