import assert from "node:assert/strict";
import { test } from "node:test";
import { SignatureVerificationError, signWebhook, verifyWebhook } from "@herald/sdk";

// The Standard Webhooks specification's published test vector.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const headers = (sig = signature, ts = String(timestamp)) => ({
  "webhook-id": id,
  "webhook-timestamp": ts,
  "webhook-signature": sig,
});

test("signs exactly like the Standard Webhooks reference vector", () => {
  assert.equal(signWebhook(secret, id, timestamp, body), signature);
  assert.equal(signWebhook(secret, id, timestamp, Buffer.from(body)), signature);
});

test("verifies the reference vector, also among several signatures and secrets (rotation)", () => {
  verifyWebhook([secret], headers(), body, { nowSeconds: timestamp + 10 });
  verifyWebhook(["whsec_b3RoZXI=", secret], headers(`v1,AAAA ${signature}`), body, { nowSeconds: timestamp });
});

function reason(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SignatureVerificationError);
    return error.reason;
  }
  return "accepted";
}

test("rejects a tampered body, a wrong secret, missing headers and stale timestamps with a reason", () => {
  const now = { nowSeconds: timestamp };
  assert.equal(
    reason(() => verifyWebhook([secret], headers(), '{"test": 2432232315}', now)),
    "bad-signature",
  );
  assert.equal(
    reason(() => verifyWebhook(["whsec_b3RoZXI="], headers(), body, now)),
    "bad-signature",
  );
  assert.equal(
    reason(() => verifyWebhook([secret], headers("v2,abc"), body, now)),
    "bad-signature",
  );
  assert.equal(
    reason(() => verifyWebhook([secret], { "webhook-id": id }, body, now)),
    "missing-headers",
  );
  assert.equal(
    reason(() => verifyWebhook([secret], headers(), body, { nowSeconds: timestamp + 301 })),
    "stale-timestamp",
  );
  assert.equal(
    reason(() => verifyWebhook([secret], headers(), body, { nowSeconds: timestamp - 301 })),
    "stale-timestamp",
  );
  // A replayed request re-signed with an old timestamp but a fresh header fails the signature.
  assert.equal(
    reason(() => verifyWebhook([secret], headers(signature, String(timestamp + 1)), body, now)),
    "bad-signature",
  );
});
