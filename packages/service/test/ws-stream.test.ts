// Streamed WebSocket replies against a real server and real sockets: a handler returning an async
// iterable answers several `{ id, data }` frames then `{ id, done: true }`; streams and plain requests
// share one connection; invalid items and throws end a stream with a problem; a closed socket aborts
// ctx.signal and runs the generator's `finally`; a socket that does not read stops the stream's pull.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NonRetryableError } from "@herald/sdk";
import { Type } from "@sinclair/typebox";
import WebSocket from "ws";
import { type App, createApp, defineEventSource, ws } from "../src/index.js";
import { quietLogger, waitFor } from "./support.js";

type Frame = { id?: unknown; data?: unknown; done?: true; problem?: { code: string } };

/** Resolves when the signal aborts (a stream waiting for its next item). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

const state = { finallyRan: 0, signalAborted: 0, produced: 0 };

const Command = Type.Object({
  kind: Type.Union([
    Type.Literal("count"),
    Type.Literal("echo"),
    Type.Literal("bad-item"),
    Type.Literal("throw"),
    Type.Literal("forever"),
    Type.Literal("big"),
  ]),
  n: Type.Optional(Type.Integer({ minimum: 0 })),
});
const Reply = Type.Object({ n: Type.Integer(), pad: Type.Optional(Type.String()) });

const feed = defineEventSource({
  trigger: ws("/feed"),
  input: { message: Command },
  output: { message: Reply },
  handler: (message, ctx) => {
    switch (message.kind) {
      case "echo":
        return { n: message.n ?? 0 };
      case "count":
        return (async function* () {
          for (let n = 1; n <= (message.n ?? 3); n++) {
            // A turn of the event loop between items, so streams interleave on the socket.
            await new Promise((resolve) => setImmediate(resolve));
            yield { n };
          }
        })();
      case "bad-item":
        return (async function* () {
          try {
            yield { n: 1 };
            yield { n: "two" } as unknown as { n: number };
            yield { n: 3 };
          } finally {
            state.finallyRan++;
          }
        })();
      case "throw":
        return (async function* () {
          yield { n: 1 };
          throw new NonRetryableError("no more");
        })();
      case "forever":
        return (async function* () {
          try {
            yield { n: 1 };
            await aborted(ctx.signal);
            state.signalAborted++;
          } finally {
            state.finallyRan++;
          }
        })();
      case "big":
        return (async function* () {
          const pad = "x".repeat(16 * 1024);
          for (let n = 1; n <= (message.n ?? 1); n++) {
            state.produced = n;
            yield { n, pad };
          }
        })();
    }
  },
});

let app: App;
before(async () => {
  app = await createApp({ definitions: [feed], logger: quietLogger() }).start();
});
after(async () => {
  await app.stop();
});

/** A socket that collects every frame it receives. */
async function connect(): Promise<{ socket: WebSocket; frames: Frame[] }> {
  const socket = new WebSocket(`${app.url.replace("http", "ws")}/feed`);
  const frames: Frame[] = [];
  socket.on("message", (raw) => frames.push(JSON.parse(raw.toString()) as Frame));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { socket, frames };
}

const of = (frames: Frame[], id: unknown) => frames.filter((f) => f.id === id);

describe("WebSocket streamed replies", () => {
  it("sends each item as { id, data }, then { id, done }, with streams and requests sharing a socket", async () => {
    const { socket, frames } = await connect();
    try {
      socket.send(JSON.stringify({ id: "a", data: { kind: "count", n: 5 } }));
      socket.send(JSON.stringify({ id: "b", data: { kind: "count", n: 3 } }));
      socket.send(JSON.stringify({ id: "c", data: { kind: "echo", n: 42 } }));
      await waitFor(() => of(frames, "a").some((f) => f.done) && of(frames, "b").some((f) => f.done));
      assert.deepEqual(of(frames, "a"), [
        ...[1, 2, 3, 4, 5].map((n) => ({ id: "a", data: { n } })),
        { id: "a", done: true },
      ]);
      assert.deepEqual(of(frames, "b"), [
        ...[1, 2, 3].map((n) => ({ id: "b", data: { n } })),
        { id: "b", done: true },
      ]);
      // The plain request is answered once, with no done frame, before the streams end.
      assert.deepEqual(of(frames, "c"), [{ id: "c", data: { n: 42 } }]);
      assert.ok(frames.indexOf(of(frames, "c")[0]!) < frames.indexOf(of(frames, "a").at(-1)!));
      // Interleaved, not one stream after the other.
      const ids = frames.map((f) => f.id).filter((id) => id !== "c");
      assert.notDeepEqual(ids, [...ids].sort());
      assert.equal(app.outcomes.get("ws./feed", "handled"), 3);
    } finally {
      socket.close();
    }
  });

  it("ends a stream with output-invalid at an invalid item, and the generator's finally runs", async () => {
    const before = state.finallyRan;
    const { socket, frames } = await connect();
    try {
      socket.send(JSON.stringify({ id: 7, data: { kind: "bad-item" } }));
      await waitFor(() => of(frames, 7).some((f) => f.problem));
      await waitFor(() => state.finallyRan === before + 1, 5_000, "the generator's finally");
      assert.equal(of(frames, 7).length, 2);
      assert.deepEqual(of(frames, 7)[0], { id: 7, data: { n: 1 } });
      assert.equal(of(frames, 7)[1]!.problem!.code, "output-invalid");
      assert.ok(!of(frames, 7).some((f) => f.done));
      assert.equal(app.outcomes.get("ws./feed", "output-invalid"), 1);
    } finally {
      socket.close();
    }
  });

  it("ends a stream with the problem of what the generator threw", async () => {
    const { socket, frames } = await connect();
    try {
      socket.send(JSON.stringify({ id: "t", data: { kind: "throw" } }));
      await waitFor(() => of(frames, "t").some((f) => f.problem));
      assert.deepEqual(of(frames, "t")[0], { id: "t", data: { n: 1 } });
      assert.equal(of(frames, "t")[1]!.problem!.code, "handler-refused");
      assert.equal(of(frames, "t").length, 2);
    } finally {
      socket.close();
    }
  });

  it("aborts ctx.signal and runs the generator's finally when the socket closes", async () => {
    const before = { ...state };
    const { socket, frames } = await connect();
    socket.send(JSON.stringify({ id: 1, data: { kind: "forever" } }));
    await waitFor(() => of(frames, 1).length === 1);
    socket.close();
    await waitFor(() => state.finallyRan === before.finallyRan + 1, 5_000, "the generator's finally");
    assert.equal(state.signalAborted, before.signalAborted + 1);
  });

  it("stops pulling items while the socket does not read, and sends them all once it does", async () => {
    const total = 2_000; // 2 000 × 16 KiB = 32 MiB: far more than the high-water mark and the OS buffers
    const { socket, frames } = await connect();
    try {
      socket.pause();
      socket.send(JSON.stringify({ id: "big", data: { kind: "big", n: total } }));
      // Paused: production climbs, then stalls below the total.
      await waitFor(() => state.produced > 10, 10_000, "the stream to start");
      let last = -1;
      let stableSince = Date.now();
      await waitFor(
        () => {
          if (state.produced !== last) {
            last = state.produced;
            stableSince = Date.now();
          }
          return Date.now() - stableSince > 500;
        },
        20_000,
        "production to stall",
      );
      assert.ok(state.produced < total, `pulled ${state.produced} of ${total} items with nobody reading`);
      socket.resume();
      await waitFor(() => of(frames, "big").some((f) => f.done), 30_000, "the whole stream");
      const items = of(frames, "big").filter((f) => f.data !== undefined);
      assert.equal(items.length, total);
      assert.deepEqual(
        items.map((f) => (f.data as { n: number }).n),
        Array.from({ length: total }, (_, i) => i + 1),
      );
    } finally {
      socket.close();
    }
  });
});
