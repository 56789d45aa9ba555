// Who the page is talking as: the key's scopes, found by asking the routes that need them (the server's
// answer is the truth; the page only hides what would be refused anyway).
import { ApiError, call } from "./api.js";

export interface Session {
  /** The key in use; null when the server has no API keys (the API is open). */
  readonly key: string | null;
  readonly consume: boolean;
  readonly admin: boolean;
}

/** The session of `key`, or "unauthorized" when the server wants a (different) key. */
export async function probeSession(key: string | null): Promise<Session | "unauthorized"> {
  const scope = async (path: string): Promise<boolean | "unauthorized"> => {
    try {
      await call(path, { key });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return "unauthorized";
      if (error instanceof ApiError && error.status === 403) return false;
      throw error;
    }
  };
  const consume = await scope("/events?limit=1");
  if (consume === "unauthorized") return "unauthorized";
  const admin = await scope("/subscriptions");
  if (admin === "unauthorized") return "unauthorized";
  return { key, consume, admin };
}
