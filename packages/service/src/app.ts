// An app: the definitions bound to their sources. start() opens the HTTP/WebSocket server (which also
// serves /openapi.json and /asyncapi.json), the cron schedulers and the Herald subscription consumers;
// stop() closes them, letting running handlers finish.
import type { ConsumerTransport, EventDefinition, HeraldClient } from "@herald/sdk";
import { type AuthOptions, Authenticator } from "./auth.js";
import type { CronDefinition, EventSourceDefinition, HeraldDefinition, InvalidHooks } from "./definition.js";
import { asyncApiDocument } from "./docs/asyncapi.js";
import { type DocumentInfo, openApiDocument } from "./docs/openapi.js";
import { Outcomes, type ServiceLogger } from "./outcomes.js";
import {
  type Clock,
  CRON_FIRED_TYPE,
  CronJob,
  type CronState,
  cronSource,
  MemoryCronState,
  StreamCronState,
  systemClock,
} from "./sources/cron.js";
import { HeraldSource } from "./sources/herald.js";
import { HttpSource } from "./sources/http.js";
import { type AppTransports, TransportSource } from "./sources/transport.js";
import { herald } from "./trigger.js";

export interface AppOptions {
  readonly definitions: readonly EventSourceDefinition[];
  /** The Herald broker (needed by Herald subscription sources and broker-delivered cron). */
  readonly client?: HeraldClient;
  readonly auth?: AuthOptions;
  /** The HTTP/WebSocket server's address (default 127.0.0.1, any free port). */
  readonly host?: string;
  readonly port?: number;
  readonly logger?: ServiceLogger;
  /** Cron time (tests inject a manual clock). */
  readonly clock?: Clock;
  /** Last slot fired per cron job, for `missed` (default: in memory; broker delivery: the stream). */
  readonly cronState?: CronState;
  /** Pull consumers' transport (default auto). */
  readonly transport?: ConsumerTransport;
  /**
   * The Transport of each engine that transport sources (`nats.…`, `rabbitmq.…`, `redis.…`, `mqtt.…`)
   * consume from; the app does not close them.
   */
  readonly transports?: AppTransports;
  /**
   * Validation-error hooks of the sources: `http` for HTTP routes, `async` for Herald subscription and
   * transport sources; a definition's own `onInvalid` wins. Defaults: 400 `input-invalid`; dead letter.
   */
  readonly onInvalid?: InvalidHooks;
  /**
   * Register the data schema of every definition's typed `event` (sdk `defineEvent`) in the broker's
   * schema registry at start; a refusal (incompatible, invalid) fails start() with
   * SchemaRegistrationError before any source runs. Needs `client`. Default false.
   */
  readonly registerSchemas?: boolean;
  /** Title and version of the generated documents (served at /openapi.json and /asyncapi.json). */
  readonly info?: DocumentInfo;
}

export class App {
  readonly definitions: readonly EventSourceDefinition[];
  readonly outcomes: Outcomes;
  readonly #http: HttpSource;
  readonly #herald: HeraldSource | undefined;
  readonly #transports: TransportSource | undefined;
  readonly #cron: CronJob[];
  readonly #info: DocumentInfo;
  readonly #secured: boolean;
  readonly #client: HeraldClient | undefined;
  readonly #registerSchemas: boolean;

  constructor(options: AppOptions) {
    this.definitions = options.definitions;
    const keys = new Set<string>();
    for (const d of options.definitions) {
      if (keys.has(d.key) && d.kind !== "herald" && d.kind !== "transport")
        throw new TypeError(`two definitions have the key ${d.key}`);
      keys.add(d.key);
    }
    this.outcomes = new Outcomes(options.logger);
    this.#info = options.info ?? { title: "Herald service", version: "0.0.0" };
    this.#client = options.client;
    this.#registerSchemas = options.registerSchemas === true;
    if (this.#registerSchemas && !options.client)
      throw new TypeError("registerSchemas needs a Herald client (AppOptions.client)");
    const authenticator = new Authenticator(options.auth);
    this.#secured = authenticator.configured;
    this.#http = new HttpSource({
      http: options.definitions.filter((d) => d.kind === "http"),
      ws: options.definitions.filter((d) => d.kind === "ws"),
      authenticator,
      client: options.client,
      outcomes: this.outcomes,
      documents: { "/openapi.json": () => this.openapi(), "/asyncapi.json": () => this.asyncapi() },
      host: options.host,
      port: options.port,
      ...(options.onInvalid?.http ? { onInvalid: options.onInvalid.http } : {}),
      ...(options.onInvalid?.ws ? { onInvalidWs: options.onInvalid.ws } : {}),
    });
    const crons = options.definitions.filter((d) => d.kind === "cron");
    const clock = options.clock ?? systemClock;
    const memory = new MemoryCronState();
    this.#cron = crons.map(
      (definition) =>
        new CronJob(definition, {
          clock,
          client: options.client,
          outcomes: this.outcomes,
          state:
            options.cronState ??
            (definition.deliver.mode === "broker" && options.client
              ? new StreamCronState(options.client, definition.deliver.stream)
              : memory),
        }),
    );
    const heralds = [
      ...options.definitions.filter((d) => d.kind === "herald"),
      ...crons.flatMap((d) => (d.deliver.mode === "broker" ? [brokerCronConsumer(d)] : [])),
    ];
    if (heralds.length > 0 && !options.client)
      throw new TypeError(`${heralds[0]!.key} needs a Herald client (AppOptions.client)`);
    this.#herald =
      heralds.length > 0
        ? new HeraldSource(heralds, {
            client: options.client!,
            outcomes: this.outcomes,
            transport: options.transport,
            ...(options.onInvalid?.async ? { onInvalid: options.onInvalid.async } : {}),
          })
        : undefined;
    const transports = options.definitions.filter((d) => d.kind === "transport");
    this.#transports =
      transports.length > 0
        ? new TransportSource(transports, {
            transports: options.transports ?? {},
            outcomes: this.outcomes,
            ...(options.onInvalid?.async ? { onInvalid: options.onInvalid.async } : {}),
          })
        : undefined;
  }

  /** OpenAPI 3.1 of the HTTP events. */
  openapi(): Record<string, unknown> {
    return openApiDocument(this.definitions, {
      ...this.#info,
      secured: this.#secured,
      ...(this.#http.started ? { serverUrl: this.#http.url } : {}),
    });
  }

  /** AsyncAPI 3.0 of the Herald subscription, cron and WebSocket events. */
  asyncapi(): Record<string, unknown> {
    return asyncApiDocument(this.definitions, {
      ...this.#info,
      heraldUrl: this.#client?.url,
      appUrl: this.#http.started ? this.#http.url : undefined,
    });
  }

  /** A push subscription's Receiver URL (after start()): the sink to give the broker. */
  receiverUrl(subscription: string): string | undefined {
    return this.#herald?.receiverUrl(subscription);
  }

  /** The HTTP/WebSocket server's base URL (after start()). */
  get url(): string {
    return this.#http.url;
  }

  async start(): Promise<this> {
    if (this.#registerSchemas) {
      const events = new Map<string, EventDefinition>();
      for (const d of this.definitions)
        if ((d.kind === "herald" || d.kind === "transport") && d.event) events.set(d.event.type, d.event);
      await this.#client!.registerEventSchemas([...events.values()]);
    }
    await this.#http.start();
    await this.#herald?.start();
    await this.#transports?.start();
    for (const job of this.#cron) await job.start();
    return this;
  }

  /** Stops taking events, then lets running handlers finish. */
  async stop(): Promise<void> {
    await Promise.all(this.#cron.map((job) => job.stop()));
    await Promise.all([this.#herald?.stop(), this.#transports?.stop()]);
    await this.#http.stop();
  }
}

export function createApp(options: AppOptions): App {
  return new App(options);
}

/**
 * Broker-delivered cron: the pull subscription (ensured at start) that takes this job's firings from
 * its stream. Ordering by key keeps one firing of the job in flight at a time across every instance.
 */
function brokerCronConsumer(definition: CronDefinition): HeraldDefinition {
  if (definition.deliver.mode !== "broker") throw new TypeError("not a broker-delivered cron job");
  return {
    kind: "herald",
    key: `herald.${definition.deliver.subscription}`,
    trigger: herald(definition.deliver.subscription),
    event: undefined,
    types: [CRON_FIRED_TYPE],
    data: undefined,
    output: undefined,
    mode: "pull",
    unmatched: "dead-letter",
    authorize: (event) => event.source === cronSource(definition.name),
    onInvalid: undefined,
    deadLetterStream: undefined,
    subscription: {
      types: [CRON_FIRED_TYPE],
      filters: [{ exact: { source: cronSource(definition.name) } }],
      config: { ordering: "key", start: "beginning" },
    },
    handler: definition.handler,
  };
}
