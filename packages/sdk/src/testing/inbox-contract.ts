// The contract every Inbox implementation passes, shipped as library code (`@herald/sdk/testing`): a
// test file runs it in one line, `inboxContract(name, factory, features)`, and opts out of a case
// only through a named flag of `InboxFeatures`.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import fc from "fast-check";
import type { Inbox } from "../inbox/inbox.js";

/** Creates the inboxes the suite runs against. */
export interface InboxFactory {
  /** A fresh, empty inbox on storage no other case uses, reading the time from `now`. Called once per case. */
  create(now: () => number): OpenedInbox | Promise<OpenedInbox>;
}

export interface OpenedInbox {
  readonly inbox: Inbox;
  /** Closes `inbox` and opens the same storage again, with the same clock. Required by `features.reopen`. */
  readonly reopen?: () => Inbox | Promise<Inbox>;
  /** Opens a second handle on the same storage, as another process would. Required by `features.shared`. */
  readonly connect?: () => Inbox | Promise<Inbox>;
}

/**
 * What the implementation can do beyond the core contract. Every flag is required, so an
 * implementation says what it opts out of; a case whose flag is false is reported as skipped.
 */
export interface InboxFeatures {
  /** What the inbox remembers outlives it: a reopened inbox answers as the closed one would have. */
  readonly reopen: boolean;
  /** Several handles (processes) share one inbox: a claim through one is seen by the others. */
  readonly shared: boolean;
}

/**
 * Defines the suite with node:test's `describe`/`it` when called, so call it at the top level of a
 * test file: the cases report under that file. The model-based case prints its fast-check seed;
 * `HERALD_FC_SEED=<seed>` replays it.
 */
export function inboxContract(name: string, factory: InboxFactory, features: InboxFeatures): void {
  checkFeatures(features);
  const unless = (flag: keyof InboxFeatures): { skip?: string } =>
    features[flag] ? {} : { skip: `features.${flag} is false` };
  describe(`Inbox contract: ${name}`, () => {
    const opened: Inbox[] = [];
    const open = async (now: () => number): Promise<OpenedInbox> => {
      const result = await factory.create(now);
      opened.push(result.inbox);
      return result;
    };
    const track = async (inbox: Inbox | Promise<Inbox>): Promise<Inbox> => {
      const resolved = await inbox;
      opened.push(resolved);
      return resolved;
    };
    afterEach(async () => {
      // A reopened inbox's first handle is already closed; closing it again must not fail the case.
      for (const inbox of opened.splice(0)) await closeQuietly(inbox);
    });

    it("claim → in-progress for others → complete → done until the TTL ends", async () => {
      let t = 1_000;
      const { inbox } = await open(() => t);
      assert.equal(await inbox.claim("a", 100), "claimed");
      assert.equal(await inbox.claim("a", 100), "in-progress");
      await inbox.complete("a", 500);
      assert.equal(await inbox.claim("a", 100), "done");
      t += 499;
      assert.equal(await inbox.claim("a", 100), "done");
      t += 1;
      assert.equal(await inbox.claim("a", 100), "claimed", "expired entries can be claimed again");
    });

    it("release lets the next delivery claim; an expired lease frees a crashed claim", async () => {
      let t = 0;
      const { inbox } = await open(() => t);
      assert.equal(await inbox.claim("k", 50), "claimed");
      await inbox.release("k");
      assert.equal(await inbox.claim("k", 50), "claimed");
      t = 49;
      assert.equal(await inbox.claim("k", 50), "in-progress");
      t = 50;
      assert.equal(await inbox.claim("k", 50), "claimed");
      assert.equal(await inbox.claim("other", 50), "claimed", "keys are independent");
    });

    it("behaves like a plain map of expiring entries on random operation sequences", async (t) => {
      const seed = seedFromEnv();
      t.diagnostic(`fast-check seed ${seed} (HERALD_FC_SEED=${seed} replays it)`);
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { maxLength: 120 }), async (ops) => {
          let now = 1_000;
          const { inbox } = await open(() => now);
          const model = new Map<string, { done: boolean; expiresAt: number }>();
          try {
            for (const o of ops) {
              if (o.op === "tick") now += o.ms;
              else if (o.op === "claim") {
                const entry = model.get(o.key);
                const expected =
                  entry !== undefined && entry.expiresAt > now
                    ? entry.done
                      ? "done"
                      : "in-progress"
                    : "claimed";
                if (expected === "claimed") model.set(o.key, { done: false, expiresAt: now + o.leaseMs });
                assert.equal(await inbox.claim(o.key, o.leaseMs), expected, `claim ${o.key} at ${now}`);
              } else if (o.op === "complete") {
                await inbox.complete(o.key, o.ttlMs);
                model.set(o.key, { done: true, expiresAt: now + o.ttlMs });
              } else {
                await inbox.release(o.key);
                model.delete(o.key);
              }
            }
          } finally {
            await closeQuietly(opened.pop()!);
          }
        }),
        { numRuns: 100, seed },
      );
    });

    it("a reopened inbox still knows what was done and what is in progress", unless("reopen"), async () => {
      let t = 0;
      const { reopen } = await open(() => t);
      assert.ok(reopen !== undefined, "features.reopen is true, so the factory must return reopen()");
      const first = opened[opened.length - 1]!;
      await first.complete("done-key", 100);
      assert.equal(await first.claim("held", 50), "claimed");
      await first.complete("released", 100);
      await first.release("released");
      const again = await track(reopen());
      assert.equal(await again.claim("done-key", 10), "done");
      assert.equal(
        await again.claim("held", 10),
        "in-progress",
        "a claim outlives a crash until its lease ends",
      );
      assert.equal(await again.claim("released", 10), "claimed");
      t = 50;
      assert.equal(await again.claim("held", 10), "claimed");
      t = 100;
      assert.equal(await again.claim("done-key", 10), "claimed");
    });

    it("handles on one storage see each other's claims", unless("shared"), async () => {
      let t = 0;
      const { inbox: a, connect } = await open(() => t);
      assert.ok(connect !== undefined, "features.shared is true, so the factory must return connect()");
      const b = await track(connect());
      assert.equal(await a.claim("k", 100), "claimed");
      assert.equal(await b.claim("k", 100), "in-progress");
      await a.complete("k", 1_000);
      assert.equal(await b.claim("k", 100), "done");
      assert.equal(await b.claim("j", 100), "claimed");
      await b.release("j");
      assert.equal(await a.claim("j", 100), "claimed");
      t = 1_000;
      assert.equal(await b.claim("k", 100), "claimed");
      assert.equal(await a.claim("k", 100), "in-progress");
    });
  });
}

type Operation =
  | { readonly op: "claim"; readonly key: string; readonly leaseMs: number }
  | { readonly op: "complete"; readonly key: string; readonly ttlMs: number }
  | { readonly op: "release"; readonly key: string }
  | { readonly op: "tick"; readonly ms: number };

const key = fc.constantFrom("a", "b", "c", "d", "e");
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant("claim" as const), key, leaseMs: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant("complete" as const), key, ttlMs: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ op: fc.constant("release" as const), key }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 40 }) }),
);

function seedFromEnv(): number {
  // The same variable as Herald's test runner (scripts/run-tests.mjs), so one seed replays a whole run.
  const raw = process.env["HERALD_FC_SEED"];
  if (raw === undefined || raw === "") return (Date.now() ^ (process.pid << 8)) | 0;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new TypeError(`HERALD_FC_SEED must be an integer, got ${raw}`);
  return seed;
}

async function closeQuietly(inbox: Inbox): Promise<void> {
  try {
    await inbox.close?.();
  } catch {
    // Already closed (the first handle of a reopen case).
  }
}

const FEATURES: readonly (keyof InboxFeatures)[] = ["reopen", "shared"];

function checkFeatures(features: InboxFeatures): void {
  if (typeof features !== "object" || features === null)
    throw new TypeError("inboxContract needs a features object, e.g. { reopen: false, shared: false }");
  for (const flag of FEATURES)
    if (typeof features[flag] !== "boolean")
      throw new TypeError(`inboxContract: features.${flag} must be true or false`);
}
