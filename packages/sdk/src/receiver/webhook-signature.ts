// Standard Webhooks signatures (https://www.standardwebhooks.com): the broker signs each push as
// `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, fresh timestamp per attempt.
import { createHmac, timingSafeEqual } from "node:crypto";
import { SignatureVerificationError } from "../errors.js";

/** Secrets of the form `whsec_<base64>` are base64 keys (the Standard Webhooks convention); others are used as UTF-8 bytes. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const hmac = createHmac("sha256", webhookKey(secret));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest("base64")}`;
}

export interface VerifyOptions {
  /** Accepted clock skew either way (default 300 s, as Standard Webhooks recommends). */
  readonly toleranceSeconds?: number;
  readonly nowSeconds?: number;
}

type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Throws SignatureVerificationError unless one of the space-separated `v1,` signatures matches one of
 * the secrets (several secrets allow rotation) and the timestamp is within tolerance (replay defence).
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: HeaderBag,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): void {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new SignatureVerificationError(
      "missing-headers",
      "webhook-id, webhook-timestamp and webhook-signature are required",
    );
  }
  const ts = Number(timestamp);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (!Number.isInteger(ts) || Math.abs(now - ts) > tolerance) {
    throw new SignatureVerificationError(
      "stale-timestamp",
      `webhook-timestamp ${timestamp} is outside ±${tolerance} s`,
    );
  }
  const offered = signatures.split(" ").filter((s) => s.startsWith("v1,"));
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, id, ts, body));
    for (const candidate of offered) {
      const got = Buffer.from(candidate);
      if (got.length === expected.length && timingSafeEqual(got, expected)) return;
    }
  }
  throw new SignatureVerificationError("bad-signature", "no webhook-signature matches");
}
