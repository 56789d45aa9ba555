// WebSocket ingest (`/events/ws`): the persistent form of `POST /events`. Each client frame (one event
// or a batch, with the client's id) goes through the same path as an HTTP body (decode, limits, the
// key's type prefixes, ONE append: appendIngested) and is answered as soon as its append resolves.
// Frames are not serialized: appends from one turn share the log's group commit, so a client that
// pipelines many frames gets them durable together. Back-pressure: past WS_INGEST_MAX_IN_FLIGHT
// unanswered frames (or a full send buffer) the socket is paused, so TCP pushes back on the client.
import { type CloudEvent, decodeJsonBatchArray, decodeJsonEventObject } from "@herald/cloudevents";
import { WS_CLOSE, WS_INGEST_MAX_IN_FLIGHT, WS_PING_MS, type WsPublishServerFrame } from "@herald/protocol";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Principal } from "./auth.js";
import { checkJsonDepth } from "./body.js";
import { answerError } from "./errors.js";
import { appendIngested, countingRejections, type IngestDeps } from "./ingest.js";
import { HttpProblem } from "./problem.js";
import type { UpgradeContext } from "./router.js";

/** Answers waiting in the socket's send buffer past which no more frames are read (the client is slow). */
const SEND_BUFFER_LIMIT = 4 * 1024 * 1024;
/** ws has no drain event: how often a paused connection looks at its send buffer again. */
const RESUME_POLL_MS = 10;

export interface WsIngestOptions {
  /** Called with errors no catalog code describes (answered as internal-error problem frames). */
  readonly onUnexpected?: (error: unknown) => void;
  /** Unanswered frames per connection before the server stops reading it (default WS_INGEST_MAX_IN_FLIGHT). */
  readonly maxInFlight?: number;
}

export class WsIngest {
  readonly #deps: IngestDeps;
  readonly #options: WsIngestOptions;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<IngestConnection>();
  #closing = false;

  constructor(deps: IngestDeps, options: WsIngestOptions = {}) {
    this.#deps = deps;
    this.#options = options;
    // Frames up to the body limit are read and answered with payload-too-large; ws closes the
    // connection (1009) only past twice that, so a slightly oversized frame leaves it usable.
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: 2 * deps.limits.maxBodyBytes + 1024,
      perMessageDeflate: false,
    });
  }

  /** Takes over an upgrade the router authorized (access `publish`). */
  upgrade({ req, socket, head, principal }: UpgradeContext): void {
    if (this.#closing) throw new HttpProblem("shutting-down", "the server is shutting down");
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new IngestConnection(ws, socket, principal, this.#deps, this.#options);
      this.#connections.add(connection);
      ws.once("close", () => this.#connections.delete(connection));
    });
  }

  /** Graceful: stop reading frames, answer every frame in flight, then close each connection (1001). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#connections].map((c) => c.close()));
    this.#wss.close();
  }
}

class IngestConnection {
  readonly #ws: WebSocket;
  readonly #socket: Duplex;
  #corked = false;
  readonly #principal: Principal;
  readonly #deps: IngestDeps;
  readonly #options: WsIngestOptions;
  readonly #maxInFlight: number;
  readonly #heartbeat: NodeJS.Timeout;
  #inFlight = 0;
  /** Frames read while maxInFlight were unanswered, in arrival order. */
  readonly #waiting: Array<[Buffer, boolean]> = [];
  #paused = false;
  #resumeTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  constructor(
    ws: WebSocket,
    socket: Duplex,
    principal: Principal,
    deps: IngestDeps,
    options: WsIngestOptions,
  ) {
    this.#ws = ws;
    this.#socket = socket;
    this.#principal = principal;
    this.#deps = deps;
    this.#options = options;
    this.#maxInFlight = options.maxInFlight ?? WS_INGEST_MAX_IN_FLIGHT;
    ws.on("message", (raw: Buffer, isBinary) => this.#frame(raw, isBinary));
    ws.on("error", () => ws.terminate());
    // Keeps idle connections alive through proxies; ws answers the client's pings itself.
    this.#heartbeat = setInterval(() => ws.ping(), WS_PING_MS);
    this.#heartbeat.unref();
    ws.once("close", () => {
      clearInterval(this.#heartbeat);
      if (this.#resumeTimer) clearTimeout(this.#resumeTimer);
      this.#idle?.();
    });
  }

  #frame(raw: Buffer, isBinary: boolean): void {
    // After close() began, frames still arriving are not started (the client sees them unanswered).
    if (this.#closing) return;
    // Pausing stops socket reads, but frames of a chunk already read still arrive: they wait here,
    // so no more than maxInFlight are ever being appended.
    if (this.#inFlight >= this.#maxInFlight) {
      this.#waiting.push([raw, isBinary]);
      return;
    }
    this.#start(raw, isBinary);
  }

  #start(raw: Buffer, isBinary: boolean): void {
    this.#inFlight++;
    this.#throttle();
    void this.#answer(raw, isBinary).then((answer) => {
      this.#inFlight--;
      if (this.#ws.readyState === this.#ws.OPEN) this.#reply(answer);
      const next = this.#closing ? undefined : this.#waiting.shift();
      if (next) this.#start(next[0], next[1]);
      if (this.#inFlight === 0) this.#idle?.();
      this.#throttle();
    });
  }

  /**
   * Answers of one group commit resolve in the same tick: corked, they leave in one write instead of
   * one syscall each (the publish benchmark's 64 in flight: ~1 write per commit instead of 64).
   */
  #reply(answer: string): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#ws.send(answer);
  }

  /** The answer frame for one client frame: its results, or the problem that refused it. */
  async #answer(raw: Buffer, isBinary: boolean): Promise<string> {
    let id: string | null = null;
    try {
      const results = await countingRejections(this.#deps, async () => {
        const limits = this.#deps.limits;
        if (raw.length > limits.maxBodyBytes) {
          id = leadingId(raw);
          throw new HttpProblem(
            "payload-too-large",
            `the frame has ${raw.length} bytes; the limit is ${limits.maxBodyBytes}`,
            { extensions: { maxBodyBytes: limits.maxBodyBytes } },
          );
        }
        const frame = parseFrame(isBinary ? raw.toString("utf8") : raw.toString(), (frameId) => {
          id = frameId;
        });
        // The envelope around `data`: the frame object, the event (and the batch array).
        checkJsonDepth(raw, limits.maxJsonDepth, "data", frame.batch ? 3 : 2);
        const events: CloudEvent[] = frame.batch
          ? decodeJsonBatchArray(frame.events)
          : [decodeJsonEventObject(frame.events)];
        return await appendIngested(events, this.#principal, this.#deps, {});
      });
      return `{"id":${JSON.stringify(id)},"results":${JSON.stringify(results)}}`;
    } catch (error) {
      const problem = answerError(error, this.#options.onUnexpected);
      return JSON.stringify({ id, problem: problem.toJSON() } satisfies WsPublishServerFrame);
    }
  }

  /** Pauses reading while too many frames are unanswered or answers pile up unsent; resumes below. */
  #throttle(): void {
    const full =
      this.#inFlight >= this.#maxInFlight ||
      this.#waiting.length > 0 ||
      this.#ws.bufferedAmount > SEND_BUFFER_LIMIT;
    if (full && !this.#paused) {
      this.#paused = true;
      this.#ws.pause();
    } else if (!full && this.#paused && this.#closing === undefined) {
      this.#paused = false;
      this.#ws.resume();
    }
    // Only the send buffer can fill without an answer to wake us: look again shortly.
    if (this.#paused && this.#inFlight < this.#maxInFlight && this.#resumeTimer === undefined) {
      this.#resumeTimer = setTimeout(() => {
        this.#resumeTimer = undefined;
        this.#throttle();
      }, RESUME_POLL_MS);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#ws.pause();
      if (this.#inFlight > 0 && this.#ws.readyState === this.#ws.OPEN) {
        await new Promise<void>((resolve) => {
          this.#idle = resolve;
        });
      }
      if (this.#ws.readyState !== this.#ws.OPEN) return;
      const closed = new Promise<void>((resolve) => this.#ws.once("close", () => resolve()));
      // Reading again, for the client's close reply (#frame ignores what else arrives now).
      this.#ws.resume();
      this.#ws.close(WS_CLOSE.goingAway, "server shutting down");
      // A client that does not answer the close handshake is cut off.
      const cut = setTimeout(() => this.#ws.terminate(), 2_000);
      await closed;
      clearTimeout(cut);
    })();
    return this.#closing;
  }
}

/** A frame's id and its event(s), or a body-invalid / json-invalid problem. */
function parseFrame(
  text: string,
  onId: (id: string) => void,
): { id: string; batch: boolean; events: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpProblem("json-invalid", `the frame is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpProblem(
      "body-invalid",
      'a frame is { "id": "…", "event": {…} } or { "id": "…", "events": […] }',
    );
  }
  const frame = value as Record<string, unknown>;
  if (typeof frame.id !== "string" || frame.id.length === 0 || frame.id.length > 200) {
    throw new HttpProblem("body-invalid", "the frame needs an id: a string of 1 to 200 characters", {
      errors: [{ field: "/id", reason: "must be a string of 1 to 200 characters" }],
    });
  }
  // Known from here on: later refusals are answered to it.
  onId(frame.id);
  const hasEvent = frame.event !== undefined;
  const hasEvents = frame.events !== undefined;
  if (hasEvent === hasEvents) {
    throw new HttpProblem("body-invalid", 'the frame needs exactly one of "event" and "events"', {
      errors: [{ field: "/event", reason: 'exactly one of "event" and "events"' }],
    });
  }
  return { id: frame.id, batch: hasEvents, events: hasEvents ? frame.events : frame.event };
}

/** The id of an oversized frame without parsing all of it: the SDK writes `{"id":…` first. */
function leadingId(raw: Buffer): string | null {
  const match = /^\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.){1,200}")/.exec(raw.subarray(0, 512).toString("utf8"));
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return null;
  }
}
