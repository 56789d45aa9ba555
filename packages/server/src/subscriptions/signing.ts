// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`,
// `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(id.timestamp.body)>`.
import { createHmac } from "node:crypto";

/** A `whsec_<base64>` secret is used as its decoded bytes (the spec's format); anything else as UTF-8. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

export function signPayload(secret: string, id: string, timestampSeconds: number, body: Uint8Array): string {
  const hmac = createHmac("sha256", signingKey(secret));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest("base64")}`;
}

/** The three headers for one attempt; the timestamp is fresh each time so receivers can refuse replays. */
export function webhookHeaders(
  secret: string,
  id: string,
  body: Uint8Array,
  now = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signPayload(secret, id, timestamp, body),
  };
}
