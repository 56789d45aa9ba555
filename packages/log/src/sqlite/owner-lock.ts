// One process owns a log file: its positions and versions are assigned in memory by one writer.
// With checkpoint: "background" the log's own connection cannot hold that lock (locking_mode=EXCLUSIVE
// would also shut out the background checkpointer's connection), so ownership is an exclusive lock
// on a small side file, "<path>-owner": a SQLite database in locking_mode=EXCLUSIVE that has been written
// once keeps its EXCLUSIVE file lock until it is closed — or until its process dies.
import Database from "better-sqlite3";

export function ownerLockPath(path: string): string {
  return `${path}-owner`;
}

/** Takes the owner lock, waiting up to timeoutMs; throws SQLITE_BUSY when another connection holds it. */
export function acquireOwnerLock(path: string, timeoutMs: number): Database.Database {
  const lock = new Database(ownerLockPath(path), { timeout: timeoutMs });
  try {
    lock.pragma("locking_mode = EXCLUSIVE");
    lock.exec("BEGIN EXCLUSIVE");
    // A write, so the connection holds EXCLUSIVE (not just SHARED) from now on.
    lock.pragma("user_version = 1");
    lock.exec("COMMIT");
    return lock;
  } catch (error) {
    lock.close();
    throw error;
  }
}
