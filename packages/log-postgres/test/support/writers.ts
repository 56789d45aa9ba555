// Spawns writer fixtures (test/fixtures/writer.ts) and collects their acknowledgements.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connection } from "./pg.js";

export interface Ack {
  readonly source: string;
  readonly id: string;
  readonly position: number;
  readonly duplicate: boolean;
}

const script = fileURLToPath(new URL("../fixtures/writer.js", import.meta.url));

export interface Writer {
  readonly child: ChildProcess;
  readonly acks: Ack[];
  /** Resolves once the child opened the log (or ended). */
  readonly opened: Promise<void>;
  /** Resolves with the exit code (or signal) once the child ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startWriter(
  schema: string,
  writer: number,
  appends: number | "forever",
  maxDelayMs: number,
): Writer {
  const child = spawn(
    process.execPath,
    [script, JSON.stringify(connection), schema, String(writer), String(appends), String(maxDelayMs)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const acks: Ack[] = [];
  let buffer = "";
  let stderr = "";
  let markOpen: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    markOpen = resolve;
  });
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === "open") markOpen();
      const [tag, source, id, position, duplicate] = line.split(" ");
      if (tag === "ack")
        acks.push({ source: source!, id: id!, position: Number(position), duplicate: duplicate === "true" });
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) =>
      child.on("exit", (code, signal) => {
        markOpen(); // a child that died before opening must not leave a waiter hanging
        resolve({ code, signal, stderr });
      }),
  );
  return { child, acks, opened, exited };
}
