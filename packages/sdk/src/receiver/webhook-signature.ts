// Standard Webhooks signatures, implemented once in @herald/protocol; the SDK's verifyWebhook throws
// its SignatureVerificationError (with the same reasons) instead of answering a result.
import { checkWebhook, signWebhook, type WebhookHeaderBag, webhookKey } from "@herald/protocol";
import { SignatureVerificationError } from "../errors.js";

export { signWebhook, webhookKey };

export interface VerifyOptions {
  /** Accepted clock skew either way (default 300 s, as Standard Webhooks recommends). */
  readonly toleranceSeconds?: number;
  readonly nowSeconds?: number;
}

/**
 * Throws SignatureVerificationError unless one of the space-separated `v1,` signatures matches one of
 * the secrets (several secrets allow rotation) and the timestamp is within tolerance (replay defence).
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: WebhookHeaderBag,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): void {
  const verdict = checkWebhook(secrets, headers, body, options);
  if (!verdict.valid) throw new SignatureVerificationError(verdict.reason, verdict.message);
}
