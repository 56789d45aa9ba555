// The releaser wakes by timer for the earliest pending time (not by its once-a-second re-read): with
// the re-read set to a minute, events still reach the log right after their time; start() releases
// what fell due while no server ran; an earlier event re-arms the timer.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createMemoryLog, type EventLog } from "@herald/log";
import pino from "pino";
import { ScheduleReleaser } from "../src/scheduled/releaser.js";
import { makeEvent, waitFor } from "./support/harness.js";

const MINUTE = 60_000;
const logger = pino({ level: "silent" });

describe("schedule releaser", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0)) await close();
  });

  function setup(): { log: EventLog; releaser: ScheduleReleaser } {
    const log = createMemoryLog({ retentionIntervalMs: 0 });
    const releaser = new ScheduleReleaser({ log, logger, recheckMs: MINUTE });
    cleanup.push(async () => {
      await releaser.stop();
      await log.close();
    });
    return { log, releaser };
  }

  async function releasedAt(log: EventLog, id: string): Promise<number> {
    return waitFor(
      async () => {
        const page = await log.read();
        return page.events.some((e) => e.event.id === id) ? Date.now() : undefined;
      },
      20_000,
      `event ${id} in the log`,
    );
  }

  it("releases an event right after its time, woken by its timer", async () => {
    const { log, releaser } = setup();
    releaser.start();
    const event = makeEvent();
    const at = Date.now() + 150;
    await log.scheduled.add([{ event, deliverAt: at }]);
    releaser.scheduled(at);
    const released = await releasedAt(log, event.id);
    assert.ok(released >= at, "released before its time");
    assert.ok(released < at + MINUTE / 2, "released by the re-read, not by its timer");
  });

  it("re-arms for an event earlier than the one it sleeps for", async () => {
    const { log, releaser } = setup();
    const far = makeEvent();
    await log.scheduled.add([{ event: far, deliverAt: Date.now() + 10 * MINUTE }]);
    releaser.start();
    await waitFor(async () => ((await log.scheduled.next()) !== undefined ? true : undefined));
    const soon = makeEvent();
    const at = Date.now() + 100;
    await log.scheduled.add([{ event: soon, deliverAt: at }]);
    releaser.scheduled(at);
    const released = await releasedAt(log, soon.id);
    assert.ok(released < at + MINUTE / 2, "released by the re-read, not by its timer");
    assert.deepEqual(
      (await log.scheduled.list()).entries.map((e) => e.id),
      [far.id],
    );
  });

  it("releases at start what fell due while it was not running, in deliverAt order", async () => {
    const { log, releaser } = setup();
    const [a, b] = [makeEvent({ subject: "k" }), makeEvent({ subject: "k" })];
    await log.scheduled.add([
      { event: b, deliverAt: Date.now() - 10 },
      { event: a, deliverAt: Date.now() - 20 },
    ]);
    releaser.start();
    await releasedAt(log, b.id);
    assert.deepEqual(
      (await log.readStream("k")).map((e) => [e.event.id, e.version]),
      [
        [a.id, 0],
        [b.id, 1],
      ],
    );
  });
});
