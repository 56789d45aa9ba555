// Shared by the crash tests: run the crash writer (fixtures/crash-writer.ts), SIGKILL it, and check
// the reopened log against what it acknowledged.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openSqliteLog } from "@herald/log";

const writer = fileURLToPath(new URL("../fixtures/crash-writer.js", import.meta.url));

export interface Ack {
  readonly source: string;
  readonly id: string;
  readonly position: number;
}

/**
 * Runs the writer and SIGKILLs it `killAfterMs` after its first acknowledgement — or, with
 * `fromSpawn`, that long after it was started (possibly while it is still opening the log).
 * Returns what it acknowledged.
 */
export function runAndKill(
  path: string,
  round: number,
  killAfterMs: number,
  fromSpawn: boolean,
  extraArgs: readonly string[] = [],
  deadlineMs = 5000,
): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const durability = round % 2 === 0 ? "full" : "normal";
    const child = spawn(process.execPath, [writer, path, String(round), durability, ...extraArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acks: Ack[] = [];
    let buffered = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      child.kill("SIGKILL");
    };
    // A safety net in case the writer never acknowledges anything.
    const deadline = setTimeout(kill, deadlineMs);
    if (fromSpawn) timer = setTimeout(kill, killAfterMs);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      timer ??= setTimeout(kill, killAfterMs);
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const [tag, source, id, position] = line.split(" ");
        if (tag !== "ack" || source === undefined || id === undefined) continue;
        acks.push({ source, id, position: Number(position) });
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(deadline);
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited with ${code}: ${stderr}`));
      else resolve(acks);
    });
  });
}

export async function verify(path: string, acked: ReadonlyMap<string, number>): Promise<number> {
  const log = openSqliteLog({ path, retentionIntervalMs: 0 });
  try {
    const head = await log.headPosition();
    const seen = new Map<string, number>();
    const versions = new Map<string, number>();
    const streamPositions = new Map<string, number[]>();
    let expected = 1;
    let after = 0;
    for (;;) {
      const page = await log.read({ after, limit: 2000 });
      if (page.events.length === 0) break;
      for (const stored of page.events) {
        assert.equal(stored.position, expected, "positions are gapless");
        expected += 1;
        const event = JSON.parse(stored.json) as { source: string; id: string; data: { pad: string } };
        assert.equal(event.data.pad.length, 200, "no torn row");
        const key = `${event.source} ${event.id}`;
        assert.equal(seen.has(key), false, `${key} is stored once`);
        seen.set(key, stored.position);
        assert.equal(stored.version, (versions.get(stored.stream) ?? -1) + 1, "versions are gapless");
        versions.set(stored.stream, stored.version);
        const positions = streamPositions.get(stored.stream);
        if (positions === undefined) streamPositions.set(stored.stream, [stored.position]);
        else positions.push(stored.position);
      }
      after = page.next;
    }
    assert.equal(expected - 1, head, "the head is the last position");
    for (const [key, position] of acked)
      assert.equal(seen.get(key), position, `acknowledged ${key} is present`);
    for (const [stream, version] of versions) assert.equal((await log.streamInfo(stream))?.version, version);
    // The stream index (disk and memory tiers, rebuilt at open) names exactly the stored events.
    for (const [stream, positions] of streamPositions) {
      const read: number[] = [];
      for (;;) {
        const page = await log.readStream(stream, { from: read.length, limit: 1000 });
        read.push(...page.map((e) => e.position));
        if (page.length < 1000) break;
      }
      assert.deepEqual(read, positions, `stream ${stream} reads back its events`);
    }
    return head;
  } finally {
    await log.close();
  }
}
