// Which events a retention policy covers. Policies act independently: an event is dropped
// when any policy that covers it says so.
import type { RetentionPolicy } from "./event-log.js";

export function policyCoversStream(policy: RetentionPolicy, stream: string): boolean {
  return policy.streamPrefix === undefined || stream.startsWith(policy.streamPrefix);
}

export function policyCovers(policy: RetentionPolicy, stream: string, type: string): boolean {
  return policyCoversStream(policy, stream) && (policy.type === undefined || policy.type === type);
}

/** The smallest string greater than every string that starts with `prefix` (for index range scans). */
export function prefixUpperBound(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return undefined;
}
