// An app: the definitions bound to their sources. start() opens the HTTP/WebSocket server (which also
// serves /openapi.json and /asyncapi.json), the cron schedulers and the Herald subscription consumers;
// stop() closes them, letting running handlers finish.
import type { HeraldClient } from "@herald/sdk";
import { type AuthOptions, Authenticator } from "./auth.js";
import type { EventSourceDefinition } from "./definition.js";
import { Outcomes, type ServiceLogger } from "./outcomes.js";
import { HttpSource } from "./sources/http.js";

export interface AppOptions {
  readonly definitions: readonly EventSourceDefinition[];
  /** The Herald broker (needed by Herald subscription sources and broker-delivered cron). */
  readonly client?: HeraldClient;
  readonly auth?: AuthOptions;
  /** The HTTP/WebSocket server's address (default 127.0.0.1, any free port). */
  readonly host?: string;
  readonly port?: number;
  readonly logger?: ServiceLogger;
}

export class App {
  readonly definitions: readonly EventSourceDefinition[];
  readonly outcomes: Outcomes;
  readonly #options: AppOptions;
  readonly #http: HttpSource;

  constructor(options: AppOptions) {
    this.#options = options;
    this.definitions = options.definitions;
    const keys = new Set<string>();
    for (const d of options.definitions) {
      if (keys.has(d.key) && d.kind !== "herald")
        throw new TypeError(`two definitions have the key ${d.key}`);
      keys.add(d.key);
    }
    this.outcomes = new Outcomes(options.logger);
    this.#http = new HttpSource({
      http: options.definitions.filter((d) => d.kind === "http"),
      ws: options.definitions.filter((d) => d.kind === "ws"),
      authenticator: new Authenticator(options.auth),
      client: options.client,
      outcomes: this.outcomes,
      documents: {},
      host: options.host,
      port: options.port,
    });
  }

  /** The HTTP/WebSocket server's base URL (after start()). */
  get url(): string {
    return this.#http.url;
  }

  async start(): Promise<this> {
    await this.#http.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.#http.stop();
  }
}

export function createApp(options: AppOptions): App {
  return new App(options);
}
