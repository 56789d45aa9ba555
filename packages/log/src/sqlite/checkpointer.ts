// The background WAL checkpointer: runs in a worker_threads Worker (started by
// background-checkpoint.ts) with its own connection to the log's file, so copying WAL pages into
// the database file and fsyncing it never stalls the writer on the main thread. PASSIVE
// checkpoints take no lock the writer or readers wait on; frames committed meanwhile wait for
// the next one.
import { closeSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

export interface CheckpointerData {
  readonly path: string;
  readonly synchronous: "FULL" | "NORMAL";
  /** Checkpoint once this many WAL frames are not yet copied into the database file. */
  readonly thresholdFrames: number;
  readonly pollMs: number;
}

const data = workerData as CheckpointerData;
const port = parentPort!;
const db = new Database(data.path, { timeout: 0 });
db.pragma(`synchronous = ${data.synchronous}`);
db.pragma("wal_autocheckpoint = 0");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");

// How far the WAL has grown is read from the WAL-index header in "<path>-shm" (format:
// https://sqlite.org/walformat.html, native byte order): mxFrame at byte 16 (frames in the WAL)
// and nBackfill at byte 96 (frames already copied). Two 4-byte reads per poll; a torn read only
// makes one checkpoint early or late.
let shm: number | undefined;
const header = Buffer.alloc(4);
const littleEndian = endianness() === "LE";
function readU32(offset: number): number {
  shm ??= openSync(`${data.path}-shm`, "r");
  readSync(shm, header, 0, 4, offset);
  return littleEndian ? header.readUInt32LE(0) : header.readUInt32BE(0);
}
function pendingFrames(): number {
  try {
    return readU32(16) - readU32(96);
  } catch {
    return Number.POSITIVE_INFINITY; // no readable header: let SQLite decide
  }
}

const timer = setInterval(() => {
  if (pendingFrames() < data.thresholdFrames) return;
  checkpoint.get();
}, data.pollMs);

port.on("message", (message: unknown) => {
  if (message !== "stop") return;
  clearInterval(timer);
  if (shm !== undefined) closeSync(shm);
  db.close();
  port.close();
});
