// Cron sources with a manual clock: slots in the job's timezone, deterministic firing ids, no
// overlap, the missed-run policies, local retries; and broker delivery through a real `herald serve`,
// where two instances of the app fire each slot once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HeraldClient } from "@herald/sdk";
import { type HeraldServer, startServer } from "@herald/server";
import {
  CRON_FIRED_TYPE,
  type CronFiring,
  createApp,
  cron,
  cronFiringId,
  defineEventSource,
  MemoryCronState,
} from "../src/index.js";
import { deferred, ManualClock, quietLogger, waitFor } from "./support.js";

const at = (iso: string) => new Date(iso);

describe("cron source (local delivery)", () => {
  it("fires at each slot in the job's timezone, with the slot as time and a deterministic id", async () => {
    const clock = new ManualClock(at("2026-03-28T22:50:00Z"));
    const fired: { id: string; time: string | undefined; data: CronFiring }[] = [];
    const job = defineEventSource({
      trigger: "cron.0 3 * * *.Europe/Paris",
      name: "nightly",
      handler: (event) => {
        fired.push({ id: event.id, time: event.time, data: event.data! });
      },
    });
    const app = await createApp({ definitions: [job], clock, logger: quietLogger() }).start();
    try {
      // 03:00 in Paris: 01:00Z on 29 March (the night clocks go forward), 02:00Z on 28 March was before start.
      await clock.advanceTo(at("2026-03-31T00:00:00Z"));
      assert.deepEqual(
        fired.map((f) => f.data.scheduledTime),
        ["2026-03-29T01:00:00.000Z", "2026-03-30T01:00:00.000Z"],
      );
      assert.equal(fired[0]!.time, "2026-03-29T01:00:00.000Z");
      assert.equal(
        fired[0]!.id,
        cronFiringId("nightly", "0 3 * * *", "Europe/Paris", at("2026-03-29T01:00:00Z")),
      );
      assert.notEqual(fired[0]!.id, fired[1]!.id);
      assert.equal(app.outcomes.get("cron.0 3 * * *.Europe/Paris", "handled"), 2);
    } finally {
      await app.stop();
    }
  });

  it("skips a slot due while the previous run still runs (counted), unless overlap is allowed", async () => {
    for (const overlap of ["skip", "allow"] as const) {
      const clock = new ManualClock(at("2026-01-01T00:00:30Z"));
      const release = deferred();
      let started = 0;
      const key = `cron.* * * * *.UTC`;
      const app = await createApp({
        definitions: [
          defineEventSource({
            trigger: cron("* * * * *"),
            overlap,
            handler: async () => {
              started++;
              await release.promise;
            },
          }),
        ],
        clock,
        logger: quietLogger(),
      }).start();
      await clock.advanceTo(at("2026-01-01T00:03:30Z"));
      assert.equal(started, overlap === "skip" ? 1 : 3, overlap);
      assert.equal(app.outcomes.get(key, "overlap-skipped"), overlap === "skip" ? 2 : 0);
      release.resolve();
      await app.stop();
      assert.equal(app.outcomes.get(key, "handled"), started);
    }
  });

  it("after downtime: skip fires nothing missed, fire-once fires the latest missed slot once", async () => {
    for (const missed of ["skip", "fire-once"] as const) {
      const state = new MemoryCronState();
      await state.fired("hourly", at("2026-01-01T05:00:00Z"));
      const clock = new ManualClock(at("2026-01-01T09:30:00Z"));
      const slots: string[] = [];
      const app = await createApp({
        definitions: [
          defineEventSource({
            trigger: "cron.0 * * * *",
            name: "hourly",
            missed,
            handler: (e) => {
              slots.push(e.data!.scheduledTime);
            },
          }),
        ],
        clock,
        cronState: state,
        logger: quietLogger(),
      }).start();
      await clock.advanceTo(at("2026-01-01T10:00:00Z"));
      await app.stop();
      assert.deepEqual(
        slots,
        missed === "skip"
          ? ["2026-01-01T10:00:00.000Z"]
          : ["2026-01-01T09:00:00.000Z", "2026-01-01T10:00:00.000Z"],
        missed,
      );
      assert.deepEqual(await state.lastFired("hourly"), at("2026-01-01T10:00:00Z"));
    }
  });

  it("retries a failing run with backoff, then counts and logs it as failed", async () => {
    const clock = new ManualClock(at("2026-01-01T00:00:30Z"));
    const logger = quietLogger();
    let attempts = 0;
    const app = await createApp({
      definitions: [
        defineEventSource({
          trigger: "cron.* * * * *",
          deliver: { mode: "local", maxAttempts: 3 },
          handler: (_e, ctx) => {
            attempts = ctx.attempt;
            throw new Error("down");
          },
        }),
      ],
      clock,
      logger,
    }).start();
    await clock.advanceTo(at("2026-01-01T00:01:50Z"));
    await app.stop();
    assert.equal(attempts, 3);
    assert.equal(app.outcomes.get("cron.* * * * *.UTC", "failed"), 1);
    assert.ok(logger.entries.some((e) => e.fields["outcome"] === "failed" && e.fields["attempts"] === 3));
  });
});

describe("cron source (broker delivery)", () => {
  let server: HeraldServer;
  before(async () => {
    server = await startServer({ port: 0, memory: true, logLevel: "silent", shutdownDrainMs: 1_000 });
  });
  after(() => server.close());

  it("two instances publish the same firing; the broker keeps one and one handler runs per slot", async () => {
    const clock = new ManualClock(at("2026-01-01T00:00:30Z"));
    const handled: string[] = [];
    const suffix = Math.random().toString(36).slice(2, 8);
    const definition = defineEventSource({
      trigger: "cron.* * * * *.Europe/Paris",
      name: `report-${suffix}`,
      deliver: { mode: "broker", stream: `cron-${suffix}`, subscription: `cron-report-${suffix}` },
      handler: (event) => {
        handled.push(event.data!.scheduledTime);
      },
    });
    const clients = [new HeraldClient({ url: server.url }), new HeraldClient({ url: server.url })];
    const apps = await Promise.all(
      clients.map((client) =>
        createApp({
          definitions: [definition],
          client,
          clock,
          logger: quietLogger(),
          transport: "poll",
        }).start(),
      ),
    );
    try {
      await clock.advanceTo(at("2026-01-01T00:03:00Z"));
      await waitFor(() => handled.length >= 3, 10_000, "three firings handled");
      const page = await clients[0]!.readStream(`cron-${suffix}`);
      assert.equal(page.events.length, 3, "one event per slot in the stream");
      assert.ok(page.events.every((e) => e.event.type === CRON_FIRED_TYPE));
      // A last look for a duplicate handling (each slot handled exactly once).
      await waitFor(async () => (await clients[0]!.subscriptionStats(`cron-report-${suffix}`)).lag === 0);
      assert.deepEqual([...handled].sort(), [
        "2026-01-01T00:01:00.000Z",
        "2026-01-01T00:02:00.000Z",
        "2026-01-01T00:03:00.000Z",
      ]);
      // Downtime: both stop; a restarted instance with fire-once reads the last slot from the stream
      // and fires only the latest missed one (00:05, not 00:04).
      await Promise.all(apps.map((a) => a.stop()));
      await clock.advanceTo(at("2026-01-01T00:05:30Z"));
      const restarted = await createApp({
        definitions: [defineEventSource({ ...definition, trigger: definition.trigger, missed: "fire-once" })],
        client: clients[0]!,
        clock,
        logger: quietLogger(),
        transport: "poll",
      }).start();
      apps.push(restarted);
      await waitFor(() => handled.length >= 4, 10_000, "the missed firing handled");
      assert.equal(handled.at(-1), "2026-01-01T00:05:00.000Z");
      assert.equal(restarted.outcomes.get(definition.key, "missed-fired"), 1);
      assert.equal((await clients[0]!.readStream(`cron-${suffix}`)).events.length, 4);
    } finally {
      await Promise.all(apps.map((a) => a.stop()));
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
