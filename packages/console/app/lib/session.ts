// Who the page is talking as: the server tells what the key may do (GET /console/session), so the page
// shows only what would be allowed. It only hides: the server refuses anything else anyway.
import { call } from "./api.js";
import type { ConsoleSessionResponse } from "./wire.js";

export interface Session {
  /** The key in use; null when the server has no API keys (the API is open). */
  readonly key: string | null;
  readonly consume: boolean;
  readonly admin: boolean;
}

/** The session of `key`, or "unauthorized" when the server wants a (different) key. */
export async function probeSession(key: string | null): Promise<Session | "unauthorized"> {
  const answer = await call<ConsoleSessionResponse>("/console/session", { key });
  if (!answer.auth) return { key: null, consume: true, admin: true };
  if (answer.key !== "valid") return "unauthorized";
  return { key, consume: answer.scopes.includes("consume"), admin: answer.scopes.includes("admin") };
}
