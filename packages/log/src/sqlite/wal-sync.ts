// Makes the log's WAL durable off the event loop. The writer's connection runs with
// synchronous=NORMAL, so its COMMIT only write()s the WAL frames; this fdatasyncs the WAL file on
// libuv's thread pool (fs.fdatasync) before the group commit settles the group's writes.
//
// Why that is as durable as synchronous=FULL (https://sqlite.org/pragma.html#pragma_synchronous):
// with NORMAL in WAL mode SQLite itself syncs the WAL before every checkpoint, the database file
// after every checkpoint, and the WAL header when the WAL is reused from its start after a
// checkpoint. What NORMAL leaves out is only the sync of the frames of each COMMIT — which this
// adds, after the COMMIT and before anybody is told about it. A power loss before the fdatasync
// can take back only commits nobody was answered for (their frames fail the WAL checksums on
// recovery and the WAL ends before them).
//
// The fd stays open on "<path>-wal". SQLite keeps the same file while the log is open: a WAL
// restart rewrites it from the start, journal_size_limit and wal_checkpoint(TRUNCATE) ftruncate it;
// it is deleted only when the last connection closes. Still, each sync checks the path's inode and
// reopens if the file was replaced, so the fdatasync always reaches the file SQLite writes.
import { closeSync, fdatasync, fstatSync, fsyncSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** Flushes a file's data to stable storage (fs.fdatasync by default; tests inject their own). */
export type SyncFile = (fd: number) => Promise<void>;

export const fdatasyncFile: SyncFile = (fd) =>
  new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

export class WalSync {
  readonly #walPath: string;
  readonly #syncFile: SyncFile;
  #fd: number | undefined;
  #inode = -1;

  constructor(databasePath: string, syncFile: SyncFile = fdatasyncFile) {
    this.#walPath = `${databasePath}-wal`;
    this.#syncFile = syncFile;
  }

  /** Syncs everything written to the WAL so far. Call one at a time (the group commit does). */
  sync(): Promise<void> {
    try {
      return this.#syncFile(this.#current());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #current(): number {
    const inode = statSync(this.#walPath, { throwIfNoEntry: false })?.ino;
    if (this.#fd !== undefined && inode === this.#inode) return this.#fd;
    this.close();
    // A missing WAL throws here: the COMMIT just wrote it, so that is an I/O failure.
    const fd = openSync(this.#walPath, "r");
    this.#fd = fd;
    this.#inode = fstatSync(fd).ino;
    // The file's directory entry, once per WAL file (at open, or if it was ever replaced): rare
    // enough to do synchronously.
    const directory = openSync(dirname(this.#walPath), "r");
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
    return fd;
  }
}
