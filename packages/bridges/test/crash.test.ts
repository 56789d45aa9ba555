// SIGKILL under load: a plain client of each engine publishes CloudEvents (each acknowledged by the
// engine) while `herald serve` ingests them through an inbound bridge; the server is killed with SIGKILL
// mid-stream and started again on the same data dir. Then every event the plain client published is in
// the log exactly once: nothing the engine had was lost (the bridge acks only after the append is
// durable), and what was appended but not yet acknowledged, redelivered after the restart, is deduped.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CloudEvent, encodeAmqp, encodeMqtt5, encodeNats } from "@herald/cloudevents";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect, headers as natsHeaders } from "@nats-io/transport-node";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import {
  AMQP,
  MQTT,
  NATS,
  needsAmqp,
  needsMqtt,
  needsNats,
  needsRedis,
  REDIS,
  unique,
} from "./support/services.js";

const TOTAL = 600;
const fixture = fileURLToPath(new URL("./support/crash-server.js", import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
}

function spawnServer(dataDir: string, url: string): Promise<Child> {
  const child = spawn(process.execPath, [fixture, dataDir, url], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\S+)/.exec(out);
      if (ready) resolve({ process: child, url: ready[1]! });
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before ready: ${err}`)));
  });
}

function kill(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.process.once("exit", () => resolve());
    child.process.kill("SIGKILL");
  });
}

/** Ids in the log (not system streams), with repeats if there were any. */
async function loggedIds(url: string): Promise<string[]> {
  const ids: string[] = [];
  let after: number | undefined;
  for (;;) {
    const response = await fetch(`${url}/events?limit=1000${after === undefined ? "" : `&after=${after}`}`);
    const body = (await response.json()) as {
      events: Array<{ stream: string; event: { id: string } }>;
      next: number;
    };
    for (const e of body.events) if (!e.stream.startsWith("$")) ids.push(e.event.id);
    if (body.events.length < 1000) return ids;
    after = body.next;
  }
}

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function event(i: number): CloudEvent {
  return new CloudEvent({
    id: `crash-${i}`,
    source: "/plain/crash",
    type: "com.example.crash",
    subject: `k${i % 8}`,
    data: { i },
  });
}

/**
 * One round: the plain client publishes the first half of TOTAL events with `send` (each awaited:
 * acknowledged by the engine); once the server has ingested some, it is killed with SIGKILL (mid-stream
 * unless the engine had handed it everything already); the second half is published while it is down;
 * then it is started again on the same data dir and the log is checked.
 */
async function round(url: string, send: (e: CloudEvent) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "herald-bridge-crash-"));
  let child = await spawnServer(dataDir, url);
  try {
    const publishing = (async () => {
      for (let i = 0; i < TOTAL / 2; i++) await send(event(i));
    })();
    await until(async () => (await loggedIds(child.url)).length >= TOTAL / 10, "some events ingested");
    await kill(child);
    await publishing;
    for (let i = TOTAL / 2; i < TOTAL; i++) await send(event(i));
    child = await spawnServer(dataDir, url);
    await until(
      async () => new Set(await loggedIds(child.url)).size >= TOTAL,
      `all ${TOTAL} events in the log`,
    );
    const ids = await loggedIds(child.url);
    assert.equal(ids.length, TOTAL, "no event twice");
    assert.deepEqual([...new Set(ids)].sort(), Array.from({ length: TOTAL }, (_, i) => `crash-${i}`).sort());
  } finally {
    await kill(child).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("SIGKILL of herald serve while it delivers to an engine sink", () => {
  test(
    "redis:// sink: every event acknowledged by the server reaches the stream at least once",
    needsRedis,
    async () => {
      const key = unique("bridge:crash:out:");
      const redis = new Redis(REDIS);
      const dataDir = mkdtempSync(join(tmpdir(), "herald-bridge-crash-"));
      let child = await spawnServer(dataDir, "-");
      const streamIds = async (): Promise<Set<string>> => {
        const entries = (await redis.call("XRANGE", key, "-", "+")) as Array<[string, string[]]>;
        const ids = new Set<string>();
        for (const [, fields] of entries) {
          const at = fields.indexOf("ce-id");
          if (at >= 0) ids.add(fields[at + 1]!);
        }
        return ids;
      };
      try {
        const created = await fetch(`${child.url}/subscriptions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "out",
            sink: `${REDIS}/${encodeURIComponent(key)}`,
            config: { start: "beginning", backoffBaseMs: 10, backoffCapMs: 200 },
          }),
        });
        assert.equal(created.status, 201);
        let acknowledged = 0;
        const publishing = (async () => {
          for (let i = 0; i < TOTAL; i += 10) {
            const batch = Array.from({ length: 10 }, (_, j) => ({ ...event(i + j).toJSON() }));
            const response = await fetch(`${child.url}/events`, {
              method: "POST",
              headers: { "content-type": "application/cloudevents-batch+json" },
              body: JSON.stringify(batch),
            }).catch(() => undefined);
            if (response?.status !== 200) return;
            acknowledged = i + 10;
          }
        })();
        await until(async () => (await streamIds()).size >= TOTAL / 5, "some events delivered");
        await kill(child);
        await publishing;
        assert.ok(
          acknowledged > 0 && acknowledged < TOTAL,
          `killed mid-stream (${acknowledged} acknowledged)`,
        );
        child = await spawnServer(dataDir, "-");
        await until(
          async () => (await streamIds()).size >= acknowledged,
          `${acknowledged} events in the stream`,
        );
        const ids = await streamIds();
        for (let i = 0; i < acknowledged; i++) assert.ok(ids.has(`crash-${i}`), `crash-${i} delivered`);
      } finally {
        await kill(child).catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
        await redis.del(key);
        redis.disconnect();
      }
    },
  );
});

describe("SIGKILL of herald serve while inbound messages flow", () => {
  test("nats://", needsNats, async () => {
    const subject = unique("bridge.crash.");
    const nc = await natsConnect({ servers: NATS });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = unique("BRIDGE_CRASH_");
    // The plain client's stream, named in the URL (the bridge never creates it then).
    await jsm.streams.add({ name: stream, subjects: [subject] });
    try {
      await round(`nats://${NATS}/${subject}?stream=${stream}`, async (e) => {
        const message = encodeNats(e, "binary", { withHeaders: true });
        const h = natsHeaders();
        for (const [name, value] of Object.entries(message.headers ?? {})) h.set(name, value);
        await js.publish(subject, message.data, { headers: h });
      });
    } finally {
      await jsm.streams.delete(stream).catch(() => false);
      await jsm.streams
        .delete(`HERALD_${subject.replace(/[^A-Za-z0-9_-]/g, "_")}_DEADLETTER`)
        .catch(() => false);
      await jsm.streams.delete(`${stream}_DEADLETTER`).catch(() => false);
      await nc.close();
    }
  });

  test("redis://", needsRedis, async () => {
    const key = unique("bridge:crash:");
    const redis = new Redis(REDIS);
    try {
      await round(`${REDIS}/${encodeURIComponent(key)}`, async (e) => {
        const message = encodeNats(e, "binary", { withHeaders: true });
        const fields: Array<string | Buffer> = [];
        for (const [name, value] of Object.entries(message.headers ?? {})) fields.push(name, value);
        fields.push("data", typeof message.data === "string" ? message.data : Buffer.from(message.data));
        await redis.xadd(key, "*", ...fields);
      });
    } finally {
      await redis.del(key, `${key}:deadletter`);
      redis.disconnect();
    }
  });

  test("amqp://", needsAmqp, async () => {
    const topic = unique("bridge-crash-");
    const connection = await amqp.connect(AMQP);
    const channel = await connection.createConfirmChannel();
    // The exchange and the group's queue exist before the first publish (the first start makes them).
    try {
      await round(`${AMQP}/${topic}`, (e) => {
        const message = encodeAmqp(e, "binary");
        const headers: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(message.applicationProperties)) headers[name] = value;
        return new Promise<void>((resolve, reject) =>
          channel.publish(
            `herald.${topic}`,
            "",
            Buffer.from(message.body === null ? "" : (message.body as string | Uint8Array)),
            {
              headers,
              persistent: true,
              ...(message.contentType ? { contentType: message.contentType } : {}),
            },
            (error: unknown) => (error ? reject(error) : resolve()),
          ),
        );
      });
    } finally {
      for (const q of [
        `herald.${topic}.herald`,
        `herald.${topic}.herald.retry`,
        `herald.${topic}.deadletter`,
      ])
        await channel.deleteQueue(q).catch(() => undefined);
      await channel.deleteExchange(`herald.${topic}`).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  });

  test("mqtt://", needsMqtt, async () => {
    const topic = unique("bridge/crash/");
    const client = await mqtt.connectAsync(MQTT, { protocolVersion: 5 });
    try {
      // QoS 1: publishAsync resolves on the broker's PUBACK; the server's persistent session queues
      // what comes while it is down.
      await round(`${MQTT}/${topic}`, async (e) => {
        const message = encodeMqtt5(e, "binary");
        await client.publishAsync(
          topic,
          typeof message.payload === "string" ? message.payload : Buffer.from(message.payload),
          { qos: 1, properties: { ...(message.properties ?? {}) } },
        );
      });
    } finally {
      await client.endAsync();
    }
  });
});
