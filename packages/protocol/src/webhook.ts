// Standard Webhooks signatures: `webhook-id`, `webhook-timestamp` (seconds) and
// `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, space-separated when several.
// The server signs each push attempt with a fresh timestamp; receivers verify and refuse replays.
import { createHmac, timingSafeEqual } from "node:crypto";
import { WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from "./headers.js";

/** Accepted clock skew either way, as Standard Webhooks recommends. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
/** Secrets of this form are base64 keys (the Standard Webhooks convention). */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

/** The HMAC key of a secret: `whsec_<base64>` is its decoded bytes; any other string its UTF-8 bytes. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), "base64")
    : Buffer.from(secret, "utf8");
}

/** The `webhook-signature` value (`v1,<base64>`) of one message. */
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

/** The three headers of one delivery attempt, timestamped `now` (ms). */
export function webhookHeaders(
  secret: string,
  id: string,
  body: string | Uint8Array,
  now: number = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    [WEBHOOK_ID_HEADER]: id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, id, timestamp, body),
  };
}

export interface WebhookVerifyOptions {
  /** Accepted clock skew either way (default DEFAULT_WEBHOOK_TOLERANCE_SECONDS). */
  readonly toleranceSeconds?: number;
  /** The receiver's clock, in seconds (default now). */
  readonly nowSeconds?: number;
}

/** Why a webhook was refused. */
export type WebhookRejection = "missing-headers" | "stale-timestamp" | "bad-signature";

export type WebhookVerification =
  | { readonly valid: true }
  | { readonly valid: false; readonly reason: WebhookRejection; readonly message: string };

/** Request headers as node:http gives them (lower-case names). */
export type WebhookHeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

function first(headers: WebhookHeaderBag, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value : value?.[0];
}

/**
 * Valid when one of the `v1,` signatures matches one of the secrets (several secrets allow rotation)
 * and the timestamp is within tolerance (replay defence). Compares in constant time.
 */
export function checkWebhook(
  secrets: readonly string[],
  headers: WebhookHeaderBag,
  body: string | Uint8Array,
  options: WebhookVerifyOptions = {},
): WebhookVerification {
  const id = first(headers, WEBHOOK_ID_HEADER);
  const timestamp = first(headers, WEBHOOK_TIMESTAMP_HEADER);
  const signatures = first(headers, WEBHOOK_SIGNATURE_HEADER);
  if (!id || !timestamp || !signatures) {
    return {
      valid: false,
      reason: "missing-headers",
      message: "webhook-id, webhook-timestamp and webhook-signature are required",
    };
  }
  const ts = Number(timestamp);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (!Number.isInteger(ts) || Math.abs(now - ts) > tolerance) {
    return {
      valid: false,
      reason: "stale-timestamp",
      message: `webhook-timestamp ${timestamp} is outside ±${tolerance} s`,
    };
  }
  const offered = signatures.split(" ").filter((s) => s.startsWith("v1,"));
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, id, ts, body));
    for (const candidate of offered) {
      const got = Buffer.from(candidate);
      if (got.length === expected.length && timingSafeEqual(got, expected)) return { valid: true };
    }
  }
  return { valid: false, reason: "bad-signature", message: "no webhook-signature matches" };
}
