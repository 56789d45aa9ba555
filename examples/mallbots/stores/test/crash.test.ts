// A Stores process SIGKILLed while products are being added: every committed product reaches Herald
// exactly once (the outbox keeps what was committed but not yet published; Herald's source+id dedupe
// drops what was published but not yet marked sent).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import { DEMO_KEYS, ProductAdded, SOURCES } from "@mallbots/contracts";
import Database from "better-sqlite3";
import { call, eventsFrom, tempDir, waitFor } from "./support.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));
const KILLS = 3;

describe("stores under SIGKILL", () => {
  let server: HeraldServer;
  let client: HeraldClient;
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess | undefined;

  before(async () => {
    server = await startServer({ memory: true, port: 0, logLevel: "silent" });
    client = new HeraldClient({ url: server.url });
    dir = tempDir();
  });
  after(async () => {
    child?.kill("SIGKILL");
    await client?.close();
    await server?.close();
    dir?.remove();
  });

  /** Starts main.js and answers its URL from the READY line. */
  async function startChild(): Promise<string> {
    child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        MALLBOTS_HERALD_URL: server.url,
        MALLBOTS_DATA_DIR: dir.path,
        MALLBOTS_PORT: "0",
        MALLBOTS_SEED: "0",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    for await (const chunk of child.stdout!) {
      out += String(chunk);
      const ready = /^READY stores (\S+)$/m.exec(out);
      if (ready) return ready[1]!;
    }
    throw new Error(`stores exited before READY: ${out}`);
  }

  const unsentRows = () => {
    const db = new Database(`${dir.path}/stores/stores.db`, { readonly: true });
    try {
      return (
        db.prepare("SELECT count(*) AS n FROM herald_outbox WHERE sent_at IS NULL").get() as { n: number }
      ).n;
    } finally {
      db.close();
    }
  };

  it("loses no event and duplicates none", async () => {
    const acknowledged = new Set<string>();
    let unsentAtKill = 0;
    for (let round = 0; round <= KILLS; round++) {
      const url = await startChild();
      if (round === 0) {
        const created = await call(`${url}/stores`, DEMO_KEYS.admin, "POST", {
          name: "Crash Mart",
          location: "Basement",
        });
        assert.equal(created.status, 201);
      }
      const [store] = (await call(`${url}/stores`, DEMO_KEYS.internal)).body as { storeId: string }[];
      const running = child!;
      const exited = once(running, "exit");
      // Four writers add products; the kill lands right after a commit was answered, while the relay
      // (25 ms poll) most likely has not published it yet. The last round ends with a clean stop.
      const target = acknowledged.size + 20 + round * 7;
      let killed = false;
      const writer = async (w: number) => {
        for (let i = 0; !killed; i++) {
          const answer = await call(`${url}/stores/${store!.storeId}/products`, DEMO_KEYS.admin, "POST", {
            name: `Widget ${round}.${w}.${i}`,
            description: "",
            sku: `W-${round}-${w}-${i}`,
            price: 100 + i,
          }).catch(() => undefined); // the process is gone: this request may or may not have committed
          if (answer === undefined) return;
          assert.equal(answer.status, 201);
          acknowledged.add((answer.body as { productId: string }).productId);
          if (acknowledged.size >= target && !killed) {
            killed = true;
            if (round < KILLS) running.kill("SIGKILL");
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map(writer));
      if (round < KILLS) {
        await exited;
        unsentAtKill += unsentRows();
      } else {
        running.kill("SIGTERM");
        await exited;
      }
    }
    // The window was hit: some kill left committed rows the relay had not published.
    assert.ok(unsentAtKill > 0, "no kill landed between a commit and its publish");

    // Every committed product (acknowledged ones, and any committed as the process died) is in the log once.
    const db = new Database(`${dir.path}/stores/stores.db`, { readonly: true });
    const committed = db.prepare<[], { product_id: string }>("SELECT product_id FROM products").all();
    db.close();
    const committedIds = new Set(committed.map((r) => r.product_id));
    for (const id of acknowledged) assert.ok(committedIds.has(id), `acknowledged ${id} was not committed`);

    const added = async () =>
      (await eventsFrom(client, SOURCES.stores))
        .filter((e) => e.type === ProductAdded.type)
        .map((e) => (e.data as { productId: string }).productId);
    await startChild(); // a last start: its relay publishes what the clean stop left unsent
    await waitFor(
      async () => (await added()).length >= committedIds.size,
      "every committed product in the log",
    );
    child!.kill("SIGTERM");
    await once(child!, "exit");
    const inLog = await added();
    assert.equal(inLog.length, committedIds.size, "a product was published twice");
    assert.deepEqual(new Set(inLog), committedIds);
  });
});
