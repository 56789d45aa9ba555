// A scripted pull endpoint for consumer unit tests: a queue of messages served by POST /pull, with
// ack/nack recorded, and POST /events recorded (what handlers published). Real-broker behaviour is
// covered by the integration tests against `herald serve`.
import type { CloudEvent } from "@herald/cloudevents";
import { ackBody, FakeBroker, type Recorded, type Reply } from "./fake-broker.js";

export interface Queued {
  ackId: string;
  deliveryCount: number;
  event: CloudEvent;
}

export class FakePullBroker {
  readonly broker = new FakeBroker();
  readonly queue: Queued[] = [];
  readonly acked: string[] = [];
  readonly nacked: Array<{ ackId: string; delayMs: number | undefined }> = [];
  readonly published: unknown[] = [];
  pulls = 0;
  #waiting: Array<() => void> = [];

  constructor() {
    this.broker.otherwise((req) => this.#route(req));
  }

  push(...messages: Queued[]): void {
    this.queue.push(...messages);
    for (const wake of this.#waiting.splice(0)) wake();
  }

  start(): Promise<string> {
    return this.broker.start();
  }

  close(): Promise<void> {
    return this.broker.close();
  }

  async #route(req: Recorded): Promise<Reply> {
    const body = req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {};
    if (req.url === "/events") {
      const list = Array.isArray(body) ? body : [body];
      this.published.push(...list);
      return { status: 200, body: ackBody(req) };
    }
    if (req.url.endsWith("/ack")) {
      this.acked.push(...(body["ackIds"] as string[]));
      return { status: 204 };
    }
    if (req.url.endsWith("/nack")) {
      for (const ackId of body["ackIds"] as string[])
        this.nacked.push({ ackId, delayMs: body["delayMs"] as number | undefined });
      return { status: 204 };
    }
    if (req.url.endsWith("/pull")) {
      this.pulls++;
      const max = body["max"] as number;
      if (this.queue.length === 0) {
        // long-poll: wait for messages or waitMs
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, body["waitMs"] as number);
          this.#waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const messages = this.queue.splice(0, max).map((m, i) => ({
        ackId: m.ackId,
        deliveryCount: m.deliveryCount,
        position: i + 1,
        stream: m.event.source,
        event: m.event.toJSON(),
      }));
      return { status: 200, body: { messages } };
    }
    return { status: 404 };
  }
}
