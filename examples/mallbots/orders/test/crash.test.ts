// SIGKILL of the Orders process (spawned main.js) while orders are placed and the saga's commands are
// handled, three times. Afterwards every order that got its 201 exists, no command took effect twice,
// and each domain event in Orders' event store has exactly one integration event in herald serve.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { CloudEvent } from "@herald/cloudevents";
import { openSqliteLog } from "@herald/log";
import { derivedEventId } from "@herald/sdk";
import { ApproveOrder, type OrderView } from "@mallbots/contracts";
import Database from "better-sqlite3";
import { call, type Herald, orderEvents, publishCatalog, startHerald, tempDir, waitFor } from "./support.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));
const ROUNDS = 3;
const WORKERS = 4;

let herald: Herald;
let dir: ReturnType<typeof tempDir>;
const children = new Set<ChildProcess>();

before(async () => {
  herald = await startHerald();
  dir = tempDir();
  await publishCatalog(herald.client);
});
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await herald.close();
  dir.remove();
});

/** Starts Orders as its own process; resolves with its URL once it printed READY. */
async function startProcess(): Promise<{ child: ChildProcess; url: string; stderr: string[] }> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      MALLBOTS_HERALD_URL: herald.server.url,
      MALLBOTS_DATA_DIR: dir.path,
      MALLBOTS_PORT: "0",
      MALLBOTS_FLOW: "orchestrated",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`orders exited (${String(code)}) before READY:\n${stderr.join("\n")}`);
  });
  const ready = new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^READY orders (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  const url = await Promise.race([ready, exited]);
  exited.catch(() => {}); // a later exit (the kill) is expected
  return { child, url, stderr };
}

const items = [
  { productId: "prod-apples", quantity: 2 },
  { productId: "prod-tea", quantity: 1 },
];

it("SIGKILLed three times under load: every accepted order exists, each domain event is published once", async () => {
  const accepted = new Set<string>();
  const approved = new Set<string>();
  let next = 0;

  for (let round = 1; round <= ROUNDS; round++) {
    const { child, url } = await startProcess();
    // The first round waits for the catalog copy (an unknown product is a 422 until then).
    await waitFor(
      "the catalog copy",
      async () => {
        const answer = await call(url, "POST", "/orders", { orderId: "warm-up", customerId: "ada", items });
        return answer.status === 201 || answer.status === 200 ? true : undefined;
      },
      60_000,
    );
    accepted.add("warm-up");
    let dead = false;
    const worker = async () => {
      while (!dead) {
        const orderId = `crash-${next++}`;
        try {
          const answer = await call(url, "POST", "/orders", { orderId, customerId: `c-${orderId}`, items });
          assert.equal(answer.status, 201, JSON.stringify(answer.body));
          accepted.add(orderId);
        } catch (error) {
          if (dead) return; // the request died with the process
          throw error;
        }
        // The saga's next command for it, through Herald: handled now or after a restart.
        const approve = ApproveOrder.create({
          subject: orderId,
          correlationid: orderId,
          data: { orderId, paymentId: `pay-${orderId}` },
        });
        assert.ok((await herald.client.send(approve)).ok);
        approved.add(orderId);
      }
    };
    const before = accepted.size;
    const load = Promise.all(Array.from({ length: WORKERS }, worker));
    // Kill once this round placed a few orders, at a varying moment (a failing request fails the test).
    await Promise.race([
      waitFor(`round ${round} under load`, () => (accepted.size >= before + 5 ? true : undefined), 60_000),
      load,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 400)));
    const exited = once(child, "exit");
    dead = true;
    child.kill("SIGKILL");
    const [code, signal] = await exited;
    assert.equal(signal, "SIGKILL", `exit ${String(code)}`);
    await load;
  }

  // A last start, no kill: it catches up (its projection, its relay, the redelivered commands).
  const { child, url, stderr } = await startProcess();
  const outbox = new Database(join(dir.path, "orders", "orders.db"), { readonly: true });
  try {
    await waitFor(
      "every accepted order in the read model, every approved one paid",
      async () => {
        const answer = await call(url, "GET", "/orders?limit=1000");
        const orders = new Map(
          (answer.body as { orders: OrderView[] }).orders.map((o) => [o.orderId, o.status]),
        );
        for (const id of accepted) if (orders.get(id) === undefined) return undefined;
        for (const id of approved) if (orders.get(id) !== "paid") return undefined;
        return true;
      },
      120_000,
    );
    const unsent = () =>
      outbox
        .prepare<[], { n: number }>("SELECT count(*) AS n FROM herald_outbox WHERE sent_at IS NULL")
        .get()!.n;
    await waitFor("the outbox relayed", () => (unsent() === 0 ? true : undefined), 60_000);
    const stopped = once(child, "exit");
    child.kill("SIGTERM");
    assert.deepEqual(await stopped, [0, null], stderr.join("\n"));
    assert.equal(unsent(), 0);
  } finally {
    outbox.close();
  }

  // Orders' event store: each order's facts once (redelivered commands decided nothing).
  const log = openSqliteLog({ path: join(dir.path, "orders", "events", "log.db") });
  const domain: CloudEvent[] = [];
  try {
    for (let after = 0; ; ) {
      const page = await log.read({ after, limit: 1000 });
      for (const stored of page.events) domain.push(stored.event);
      if (page.events.length === 0) break;
      after = page.events.at(-1)!.position;
    }
  } finally {
    await log.close();
  }
  const facts = domain.map((e) => `${e.subject} ${e.type}`);
  assert.equal(new Set(facts).size, facts.length, "a fact recorded twice");
  for (const id of accepted) assert.ok(facts.includes(`${id} orders.domain.order-placed`), id);
  for (const id of approved) assert.ok(facts.includes(`${id} orders.domain.order-paid`), id);
  assert.ok(accepted.size >= ROUNDS * 5 + 1);

  // herald serve: exactly the integration events of those domain events, one each.
  const published = await orderEvents(herald.client);
  assert.deepEqual(published.map((e) => e.id).sort(), domain.map((e) => derivedEventId(e, 0)).sort());
  const publishedFacts = published.map((e) => `${e.subject} ${e.type}`);
  assert.equal(new Set(publishedFacts).size, publishedFacts.length, "an integration event published twice");
  assert.equal(published.length, domain.length);
});
