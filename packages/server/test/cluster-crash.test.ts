// Three `herald serve` processes (the CLI, built in packages/cli/dist) over one PostgreSQL schema,
// producers on all three, one push and one pull subscription consumed through every instance. One
// instance is SIGKILLed under load and restarted. Afterwards: every 2xx'd event is stored exactly
// once, every one was delivered at least once to both subscriptions, each stream's first deliveries
// came in order, and the killed instance's partitions moved within the lease bound (measured).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { partitionOf } from "../src/cluster/partition.js";
import { databaseUrl, freshSchema, needsPostgres } from "./support/pg.js";

const CLI = fileURLToPath(new URL("../../../cli/dist/src/main.js", import.meta.url));
const LEASE_MS = 1500;
const PARTITIONS = 8;
const PRODUCERS_PER_NODE = 4;
/** A dead node's leases expire within LEASE_MS of its last renewal and the others look every LEASE_MS/3; 1 s of slack for a loaded machine (claiming, starting the partition, the /readyz polls). */
const FAILOVER_BOUND_MS = LEASE_MS + LEASE_MS / 3 + 1000;

interface Node {
  readonly name: string;
  child: ChildProcess;
  url: string;
}

function spawnNode(name: string, schema: string): Promise<Node> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--port",
      "0",
      "--storage",
      "postgres",
      "--database-schema",
      schema,
      "--node-id",
      name,
      "--cluster-partitions",
      String(PARTITIONS),
      "--cluster-lease",
      `${LEASE_MS}ms`,
      "--log-format",
      "json",
      "--log-level",
      "info",
    ],
    // The URL (with its secret, if any) goes by the environment, as the docs advise.
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, HERALD_DATABASE_URL: databaseUrl } },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8");
    const onData = (chunk: string) => {
      out += chunk;
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const record = JSON.parse(line) as { msg?: string; url?: string };
          if (record.msg?.startsWith("herald listening") && record.url) {
            child.stdout!.off("data", onData);
            child.stdout!.resume();
            resolve({ name, child, url: record.url });
            return;
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code, signal) => reject(new Error(`${name} exited early (${code ?? signal})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

interface Delivery {
  readonly id: string;
  readonly stream: string;
  readonly seq: number;
  readonly at: number;
}

/** First deliveries of every stream must come in sequence order (redeliveries may repeat). */
function assertStreamOrder(what: string, deliveries: readonly Delivery[]): void {
  const next = new Map<string, number>();
  for (const { stream, seq } of deliveries) {
    const expected = next.get(stream) ?? 0;
    if (seq < expected) continue;
    assert.equal(seq, expected, `${what}: ${stream} #${seq} delivered before #${expected}`);
    next.set(stream, seq + 1);
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const post = (url: string, body: unknown) =>
  json(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function ownedBy(node: Node, id: string): Promise<number[]> {
  try {
    const ready = await json<{ cluster?: { owned: Record<string, number[]> } }>(`${node.url}/readyz`);
    return ready.body.cluster?.owned[id] ?? [];
  } catch {
    return [];
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a cluster of three herald serve processes", needsPostgres, () => {
  it("survives a SIGKILL under load: stored once, delivered at least once, in order, failover within the bound", {
    timeout: 90_000,
  }, async () => {
    const schema = freshSchema();
    const pushed: Delivery[] = [];
    const sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const data = JSON.parse(Buffer.concat(chunks).toString()) as { stream: string; seq: number };
        pushed.push({ id: String(req.headers["ce-id"]), stream: data.stream, seq: data.seq, at: Date.now() });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/hook`;
    const nodes = await Promise.all(["n1", "n2", "n3"].map((name) => spawnNode(name, schema)));
    const acked = new Set<string>();
    /** When each event's request was sent: one sent after the kill was stored after it. */
    const sentAt = new Map<string, number>();
    const pulled: Delivery[] = [];
    let producing = true;
    let consuming = true;
    try {
      const [n1] = nodes as [Node, Node, Node];
      assert.equal((await post(`${n1.url}/subscriptions`, { id: "push", sink: sinkUrl })).status, 201);
      assert.equal(
        (await post(`${n1.url}/subscriptions`, { id: "pull", config: { ackTimeoutMs: 5_000 } })).status,
        201,
      );

      // Pull consumers, one per instance; a dead instance's consumer waits for its restart.
      const consumers = nodes.map(async (node) => {
        while (consuming) {
          try {
            const answer = await post(`${node.url}/subscriptions/pull/pull`, { max: 50, waitMs: 300 });
            if (answer.status !== 200) {
              // Not known here yet (the resource change is on its way): look again shortly.
              await new Promise((resolve) => setTimeout(resolve, 50));
              continue;
            }
            const messages = (
              answer.body as {
                messages: Array<{
                  ackId: string;
                  event: { id: string; data: { stream: string; seq: number } };
                }>;
              }
            ).messages;
            for (const m of messages)
              pulled.push({
                id: m.event.id,
                stream: m.event.data.stream,
                seq: m.event.data.seq,
                at: Date.now(),
              });
            if (messages.length > 0)
              await post(`${node.url}/subscriptions/pull/ack`, { ackIds: messages.map((m) => m.ackId) });
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      });

      // Producers: each owns one stream and posts its events one after the other, so a stream's
      // order is its sequence; a producer whose instance dies stops.
      const produce = (node: Node, round: number) =>
        Array.from({ length: PRODUCERS_PER_NODE }, async (_, p) => {
          const stream = `${node.name}-r${round}-p${p}`;
          for (let seq = 0; producing; seq++) {
            const id = `${stream}-${seq}`;
            sentAt.set(id, Date.now());
            try {
              const res = await fetch(`${node.url}/streams/${stream}`, {
                method: "POST",
                headers: { "content-type": "application/cloudevents+json" },
                body: JSON.stringify({
                  specversion: "1.0",
                  id,
                  source: "/crash",
                  type: "t",
                  data: { stream, seq },
                }),
              });
              await res.text();
              if (res.status === 200) {
                acked.add(id);
              } else return;
            } catch {
              return;
            }
          }
        });
      // Every partition of both subscriptions is held before the load starts.
      await until(
        "the partitions to be spread",
        async () => {
          for (const id of ["push", "pull"]) {
            const owned = (await Promise.all(nodes.map((n) => ownedBy(n, id)))).flat();
            if (owned.length !== PARTITIONS) return false;
          }
          return true;
        },
        15_000,
      );
      const victim = nodes[1]!;
      const load1 = nodes.flatMap((node) => produce(node, 1));
      const beforeKill = 150;
      await until("some load", () => acked.size >= beforeKill, 30_000);
      const victimPartitions = await ownedBy(victim, "push");
      assert.ok(victimPartitions.length > 0, "the victim delivers part of the push subscription");

      victim.child.kill("SIGKILL");
      const killedAt = Date.now();
      await exited(victim.child);
      const survivors = nodes.filter((n) => n !== victim);
      // Failover: the survivors hold every partition of both subscriptions again.
      await until(
        "the survivors to take over",
        async () => {
          for (const id of ["push", "pull"]) {
            const owned = (await Promise.all(survivors.map((n) => ownedBy(n, id)))).flat();
            if (owned.length !== PARTITIONS) return false;
          }
          return true;
        },
        15_000,
      );
      const leasesMovedMs = Date.now() - killedAt;

      // Restart the victim; it rejoins and takes its share again.
      const restarted = await spawnNode(victim.name, schema);
      victim.child = restarted.child;
      victim.url = restarted.url;
      const load2 = [...produce(victim, 2), ...survivors.flatMap((n) => produce(n, 2))];
      const atRestart = acked.size;
      await until("load after the restart", () => acked.size >= atRestart + 150, 30_000);
      producing = false;
      await Promise.all([...load1, ...load2]);

      const deliveredTo = (list: readonly Delivery[]) => new Set(list.map((d) => d.id));
      await until(
        "every acknowledged event delivered to both subscriptions",
        () => {
          const push = deliveredTo(pushed);
          const pull = deliveredTo(pulled);
          return [...acked].every((id) => push.has(id) && pull.has(id));
        },
        30_000,
      );
      consuming = false;
      await Promise.all(consumers);

      // Stored exactly once: read the whole log through one instance.
      const stored: string[] = [];
      for (let after = 0; ; ) {
        const page = await json<{ events: Array<{ event: { id: string } }>; next: number }>(
          `${n1.url}/events?after=${after}&limit=1000`,
        );
        stored.push(...page.body.events.map((e) => e.event.id));
        if (page.body.events.length === 0) break;
        after = page.body.next;
      }
      assert.equal(new Set(stored).size, stored.length, "no event stored twice");
      const present = new Set(stored);
      assert.deepEqual(
        [...acked].filter((id) => !present.has(id)),
        [],
        "acknowledged events missing from the log",
      );
      // Failover as the sink saw it: the first push of an event stored after the kill (so the
      // victim cannot have sent it) in a partition the victim delivered (the survivors' producers
      // keep writing streams that hash there).
      const firstAfter = pushed.find(
        (d) =>
          (sentAt.get(d.id) ?? 0) > killedAt && victimPartitions.includes(partitionOf(d.stream, PARTITIONS)),
      );
      assert.ok(firstAfter, "some stream of the victim's partitions was pushed after the kill");
      const failoverMs = firstAfter.at - killedAt;
      console.log(
        `failover: first push of the victim's partitions ${failoverMs} ms after the SIGKILL (bound ${FAILOVER_BOUND_MS} ms, lease ${LEASE_MS} ms); /readyz showed every lease moved after ${leasesMovedMs} ms`,
      );
      assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms`);
      assertStreamOrder("push", pushed);
      assertStreamOrder("pull", pulled);
      console.log(
        `acked ${acked.size}, stored ${stored.length}, pushed ${pushed.length} (${pushed.length - deliveredTo(pushed).size} again), pulled ${pulled.length} (${pulled.length - deliveredTo(pulled).size} again)`,
      );
    } finally {
      producing = false;
      consuming = false;
      for (const node of nodes) node.child.kill("SIGTERM");
      await Promise.all(nodes.map((node) => exited(node.child)));
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  });
});
