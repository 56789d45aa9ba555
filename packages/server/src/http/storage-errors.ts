// Storage failures of the log backends, told apart by the codes their drivers put on errors: a full
// disk is 507, a busy or briefly unreachable store 503, both with Retry-After. Anything else stays
// an internal error. The log rejects the append as a whole, so none of these ever acknowledges an event.
import { RETRY_AFTER_HEADER } from "@herald/protocol";
import { HttpProblem } from "./problem.js";

/** Seconds a client should wait after a full disk (an operator has to act) or a transient failure. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;
export const STORAGE_UNAVAILABLE_RETRY_AFTER_S = 1;

export type StorageFailure = "full" | "unavailable";

// SQLite (better-sqlite3 `code`, extended codes included, e.g. SQLITE_IOERR_WRITE), node's fs
// errno names, and PostgreSQL SQLSTATEs (class 53 insufficient resources, 08 connection, 57P0x).
const FULL = /^(SQLITE_FULL|ENOSPC|EDQUOT|53100)$/;
const UNAVAILABLE =
  /^(SQLITE_BUSY|SQLITE_LOCKED|SQLITE_IOERR|SQLITE_PROTOCOL|SQLITE_CANTOPEN)(_[A-Z_]+)?$|^(EIO|EAGAIN|EMFILE|ENFILE|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|53000|53200|53300|57P01|57P02|57P03|40001|40P01|08\d\d\d|08P01)$/;

/** Whether `error` (or an error in its `cause` chain) is a storage failure, and which. */
export function storageFailureOf(error: unknown): StorageFailure | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (FULL.test(code)) return "full";
      if (UNAVAILABLE.test(code)) return "unavailable";
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The problem for a storage failure, or undefined when `error` is not one. */
export function storageProblemOf(error: unknown): HttpProblem | undefined {
  const failure = storageFailureOf(error);
  if (failure === "full") {
    return new HttpProblem("storage-full", "the log's storage is full: nothing was stored", {
      headers: { [RETRY_AFTER_HEADER]: String(STORAGE_FULL_RETRY_AFTER_S) },
      cause: error,
    });
  }
  if (failure === "unavailable") {
    return new HttpProblem(
      "storage-unavailable",
      "the log's storage is busy or unreachable: nothing was stored, retry shortly",
      { headers: { [RETRY_AFTER_HEADER]: String(STORAGE_UNAVAILABLE_RETRY_AFTER_S) }, cause: error },
    );
  }
  return undefined;
}
