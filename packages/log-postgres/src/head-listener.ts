// Keeps a process's HeadSignal in step with commits made by any process: LISTEN/NOTIFY wakes it
// at once, a fallback poll covers lost notifications, and every (re)connect re-reads the head
// (notifications sent while the connection was down are gone for good).
import pg from "pg";

export interface HeadListenerOptions {
  readonly connection: pg.ClientConfig;
  readonly channel: string;
  readonly pollIntervalMs: number;
  readonly readHead: () => Promise<number>;
  readonly onHead: (head: number) => void;
}

export class HeadListener {
  readonly #options: HeadListenerOptions;
  #client: pg.Client | undefined;
  #poll: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: HeadListenerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#poll = setInterval(() => void this.#refresh(), this.#options.pollIntervalMs);
    this.#poll.unref();
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#poll !== undefined) clearInterval(this.#poll);
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client(this.#options.connection);
    const lost = (): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      void client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (message) => {
      const head = Number(message.payload);
      if (Number.isSafeInteger(head)) this.#options.onHead(head);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#options.channel}"`);
    } catch {
      void client.end().catch(() => {});
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    // Listening now: whatever committed before (or while we were away) is picked up by this read.
    await this.#refresh();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connect();
    }, 500);
    this.#retry.unref();
  }

  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#options.onHead(await this.#options.readHead());
    } catch {
      // The poll tries again; a closed pool ends with stop().
    }
  }
}
