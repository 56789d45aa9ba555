// Request-reply over the broker.
//
// Mechanism: each client that makes requests owns one pull subscription, `herald-replies-<instanceId>`,
// filtered on `causationid` starting with `<instanceId>.` and created (start: now) before its first
// request is sent. A request gets the id `<instanceId>.<uuid>` and a correlationid. A responder replies
// either by returning an event from its handler — a pull consumer publishes it with causationid = the
// request id; a push Receiver answers it in the 2xx body and the broker ingests it with causationid =
// the delivered event's id — or by publishing any event with that causationid. The listener long-polls
// its subscription, resolves the waiting request, and acks every reply (late ones included). close()
// deletes the subscription.
import { randomUUID } from "node:crypto";
import type { CloudEvent } from "@herald/cloudevents";
import { backoffDelay, sleep } from "../backoff.js";
import { ClosedError, RequestTimeoutError } from "../errors.js";
import type { HeraldClient } from "./client.js";
import { SendFailedError } from "./send-result.js";

export interface RequestOptions {
  /** How long to wait for the reply (default 30 000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface Pending {
  resolve(event: CloudEvent): void;
  reject(error: Error): void;
}

export class ReplyListener {
  readonly subscription: string;
  readonly #client: HeraldClient;
  readonly #prefix: string;
  readonly #pending = new Map<string, Pending>();
  readonly #stop = new AbortController();
  #ready: Promise<void> | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: HeraldClient) {
    this.#client = client;
    this.#prefix = `${client.instanceId}.`;
    this.subscription = `herald-replies-${client.instanceId}`;
  }

  async request(event: CloudEvent, options: RequestOptions = {}): Promise<CloudEvent> {
    options.signal?.throwIfAborted();
    await this.#start();
    const id = `${this.#prefix}${randomUUID()}`;
    const request = event.cloneWith({
      id,
      correlationid: typeof event["correlationid"] === "string" ? event["correlationid"] : id,
    });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const reply = new Promise<CloudEvent>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new RequestTimeoutError(id, timeoutMs))), timeoutMs);
      const onAbort = (): void =>
        settle(() => reject(options.signal?.reason ?? new Error("request aborted")));
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
        fn();
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (e) => settle(() => resolve(e)),
        reject: (e) => settle(() => reject(e)),
      });
    });
    const sent = await this.#client.send(request, options.signal ? { signal: options.signal } : {});
    if (!sent.ok) {
      this.#pending.get(id)?.reject(new SendFailedError(sent));
    }
    return reply;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    for (const pending of this.#pending.values())
      pending.reject(new ClosedError("the HeraldClient is closed"));
    await this.#loop;
    if (this.#ready) {
      try {
        await this.#client.deleteSubscription(this.subscription);
      } catch {
        // best effort: an orphan reply subscription only costs storage of its checkpoint
      }
    }
  }

  #start(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#client.createSubscription({
        id: this.subscription,
        filters: [{ prefix: { causationid: this.#prefix } }],
        config: { start: "now", ordering: "none", maxInFlight: 1_000 },
      });
      this.#loop = this.#pullLoop();
    })();
    // A failed creation is retried by the next request.
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  async #pullLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const messages = await this.#client.pull(this.subscription, {
          max: 100,
          waitMs: 500,
          signal: this.#stop.signal,
        });
        failures = 0;
        for (const m of messages) {
          const causation = m.event["causationid"];
          if (typeof causation === "string") this.#pending.get(causation)?.resolve(m.event);
        }
        await this.#client.ack(
          this.subscription,
          messages.map((m) => m.ackId),
        );
      } catch {
        if (this.#stop.signal.aborted) return;
        failures++;
        await sleep(backoffDelay(failures, { baseMs: 100, capMs: 2_000 }), this.#stop.signal);
      }
    }
  }
}
