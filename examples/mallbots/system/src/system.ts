// The whole MallBots system as real processes: herald serve, then each service from its compiled
// main.js, in dependency order. The launcher (main.ts) and the end-to-end tests both use it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_PORTS,
  DEMO_PRODUCTS,
  type Flow,
  ProductAdded,
  readConfig,
  SUBSCRIPTIONS,
} from "@mallbots/contracts";
import { Child } from "./process.js";

export type Role =
  | "stores"
  | "orders"
  | "payments"
  | "depot"
  | "orchestrator"
  | "gateway"
  | "bots"
  | "analytics";

export interface SystemOptions {
  /** orchestrated (default; the orchestrator runs only then) or choreography. */
  readonly flow?: Flow;
  /** Root of every database (herald's too); default a new temp dir. */
  readonly dataDir?: string;
  /** fixed: DEFAULT_PORTS and herald on 8080 (the launcher); free: any free port (tests, the default). */
  readonly ports?: "fixed" | "free";
  /** The roles to start; default every role of the flow but analytics. */
  readonly roles?: readonly Role[];
  /** Bots connected to the gateway (MALLBOTS_BOTS). */
  readonly bots?: number;
  /** A bot's time per store (MALLBOTS_BOT_STEP_MS). */
  readonly botStepMs?: number;
  /** stall: bots take tasks and never finish (the timeout paths). */
  readonly botBehaviour?: "shop" | "stall";
  readonly botTimeoutMs?: number;
  readonly paymentLimit?: number;
  /** Extra environment of every child. */
  readonly env?: Record<string, string>;
  /** The children's stderr lines (default: dropped). */
  readonly log?: (role: string, line: string) => void;
}

/** The port of each role with fixed ports (the orchestrator takes any: nobody calls it; bots listen on none). */
const FIXED_PORTS: Partial<Record<Role, number>> = DEFAULT_PORTS;

/** Start order: each group waits for the one before (the gateway needs the services' URLs, bots the gateway). */
const START_ORDER: readonly (readonly Role[])[] = [
  ["stores", "payments"],
  ["orders", "depot"],
  ["orchestrator"],
  ["gateway"],
  ["bots"],
  ["analytics"],
];

export const HERALD_PORT = 8080;

/** The subscriptions through which Orders and Depot copy the catalog. */
const CATALOG_COPIES: readonly string[] = [SUBSCRIPTIONS.ordersCatalog, SUBSCRIPTIONS.depotCatalog];

/** The repository root, from this file's place in it (examples/mallbots/system/dist/src). */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../../../../../", import.meta.url)));

const READY = /^READY \S+ (\S+)/;
const HERALD_LISTENING = /herald listening on (http:\/\/\S+)/;

export function defaultRoles(flow: Flow): Role[] {
  return START_ORDER.flat().filter(
    (role) => role !== "analytics" && (role !== "orchestrator" || flow === "orchestrated"),
  );
}

/** Starts herald serve and the roles; a child that fails to start stops everything started so far. */
export async function startSystem(options: SystemOptions = {}): Promise<MallbotsSystem> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "mallbots-"));
  const system = new MallbotsSystem(options, resolve(dataDir));
  try {
    await system.startHerald();
    const roles = new Set(options.roles ?? defaultRoles(system.flow));
    for (const group of START_ORDER) {
      await Promise.all(group.filter((role) => roles.has(role)).map((role) => system.start(role)));
    }
    if (roles.has("stores")) await system.settled();
  } catch (error) {
    await system.close();
    throw error;
  }
  return system;
}

export class MallbotsSystem {
  readonly dataDir: string;
  readonly flow: Flow;
  readonly keys: {
    readonly internal: string;
    readonly admin: string;
    readonly kiosk: string;
    readonly staff: string;
    readonly bot: string;
  };
  readonly #options: SystemOptions;
  readonly #children = new Map<Role, Child>();
  /** Each role's URL from its READY line; kept after a stop, so a restart takes the same port. */
  readonly #urls = new Map<Role, string>();
  #herald: Child | undefined;
  #heraldUrl = "";

  constructor(options: SystemOptions, dataDir: string) {
    this.#options = options;
    this.dataDir = dataDir;
    this.flow = options.flow ?? "orchestrated";
    const config = readConfig({ ...options.env });
    this.keys = {
      internal: config.internalKey,
      admin: config.adminKey,
      kiosk: config.kioskKey,
      staff: config.staffKey,
      bot: config.botKey,
    };
  }

  get heraldUrl(): string {
    return this.#heraldUrl;
  }

  /** The role's base URL (for bots: the gateway they connect to). */
  url(role: Role): string {
    const url = this.#urls.get(role);
    if (url === undefined) throw new Error(`${role} has not been started`);
    return url;
  }

  running(role: Role): boolean {
    return this.#children.get(role)?.running ?? false;
  }

  /** The pid of a running role (for a test that signals it itself). */
  pid(role: Role): number | undefined {
    return this.#children.get(role)?.pid;
  }

  /** @internal herald serve, on SQLite under <dataDir>/herald. */
  async startHerald(): Promise<void> {
    const port = this.#options.ports === "fixed" ? HERALD_PORT : 0;
    const { child, url } = await Child.start({
      name: "herald",
      script: join(REPO_ROOT, "packages/cli/dist/src/main.js"),
      args: [
        "serve",
        "--port",
        String(port),
        "--data",
        join(this.dataDir, "herald"),
        "--log-format",
        "pretty",
      ],
      cwd: REPO_ROOT,
      env: this.#baseEnv(),
      ready: HERALD_LISTENING,
      readyOn: "stderr",
      log: this.#log,
      onCrash: this.#crashed,
    });
    this.#herald = child;
    this.#heraldUrl = url;
  }

  /** (Re)starts one role; a restarted role keeps its port, so the URLs the gateway holds stay valid. */
  async start(role: Role, env: Record<string, string> = {}): Promise<void> {
    if (this.running(role)) throw new Error(`${role} is already running`);
    const { child, url } = await Child.start({
      name: role,
      script: join(REPO_ROOT, "examples/mallbots", role, "dist/src/main.js"),
      cwd: REPO_ROOT,
      env: { ...this.#baseEnv(), ...this.#roleEnv(role), ...env },
      ready: READY,
      readyOn: "stdout",
      log: this.#log,
      onCrash: this.#crashed,
    });
    this.#children.set(role, child);
    this.#urls.set(role, url);
  }

  /**
   * Waits until the catalog is out (Stores' seed in the log) and the catalog copies have caught up, so
   * Orders and Depot know every product: a kiosk's first order is not refused for an unknown product.
   */
  async settled(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const get = async <T>(path: string): Promise<T> =>
      (await (await fetch(`${this.#heraldUrl}${path}`)).json()) as T;
    const filter = encodeURIComponent(`type = '${ProductAdded.type}'`);
    for (;;) {
      const products = await get<{ events: unknown[] }>(`/events?limit=1000&filter=${filter}`);
      const stats = await get<{ subscriptions: { id: string; lag: number; inFlight: number }[] }>(
        "/stats/subscriptions",
      );
      const behind = stats.subscriptions
        .filter((s) => CATALOG_COPIES.includes(s.id) && (s.lag > 0 || s.inFlight > 0))
        .map((s) => s.id);
      if (products.events.length >= DEMO_PRODUCTS.length && behind.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `the system did not settle in ${timeoutMs} ms: ${products.events.length} products in the log, behind: ${behind.join(", ")}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGTERM (a graceful stop) and wait for the exit. */
  async stop(role: Role): Promise<void> {
    await this.#children.get(role)?.stop("SIGTERM");
  }

  /** SIGKILL (a crash) and wait for the exit. */
  async kill(role: Role): Promise<void> {
    await this.#children.get(role)?.stop("SIGKILL");
  }

  /** Stops every role, the last started first, and herald serve last. */
  async close(): Promise<void> {
    for (const group of [...START_ORDER].reverse()) {
      await Promise.all(group.map((role) => this.stop(role)));
    }
    await this.#herald?.stop("SIGTERM");
  }

  /** The last stderr lines of a role (or "herald"), for a failing test's message. */
  lastLines(role: Role | "herald"): readonly string[] {
    return (role === "herald" ? this.#herald : this.#children.get(role))?.lastLines() ?? [];
  }

  readonly #log = (role: string, line: string) => this.#options.log?.(role, line);

  /** A child that dies on its own is always told, with its last lines, even when logs are dropped. */
  readonly #crashed = (role: string, code: number | string | null, lines: readonly string[]) => {
    process.stderr.write(
      `mallbots: ${role} exited on its own (${code}); its last lines:\n${lines.join("\n")}\n`,
    );
  };

  /** The environment every child shares: this process's, minus MallBots and Herald settings, plus the system's. */
  #baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith("MALLBOTS_") && !name.startsWith("HERALD_")) env[name] = value;
    }
    const o = this.#options;
    Object.assign(env, {
      MALLBOTS_HERALD_URL: this.#heraldUrl,
      MALLBOTS_DATA_DIR: this.dataDir,
      MALLBOTS_FLOW: this.flow,
      ...(o.botTimeoutMs !== undefined ? { MALLBOTS_BOT_TIMEOUT_MS: String(o.botTimeoutMs) } : {}),
      ...(o.paymentLimit !== undefined ? { MALLBOTS_PAYMENT_LIMIT: String(o.paymentLimit) } : {}),
      ...o.env,
    });
    // The services' URLs the gateway (and anything else) calls: whatever has started so far.
    for (const role of ["stores", "orders", "payments", "depot", "gateway", "analytics"] as const) {
      const url = this.#urls.get(role);
      if (url !== undefined) env[`MALLBOTS_${role.toUpperCase()}_URL`] = url;
    }
    return env;
  }

  #roleEnv(role: Role): Record<string, string> {
    const o = this.#options;
    const env: Record<string, string> = {};
    const known = this.#urls.get(role);
    const fixed = FIXED_PORTS[role];
    // A restart takes the port the role had; else a free one, or the role's own with fixed ports.
    if (known !== undefined && role !== "bots") env["MALLBOTS_PORT"] = new URL(known).port;
    else env["MALLBOTS_PORT"] = o.ports === "fixed" && fixed !== undefined ? String(fixed) : "0";
    if (role === "bots") {
      if (o.bots !== undefined) env["MALLBOTS_BOTS"] = String(o.bots);
      if (o.botStepMs !== undefined) env["MALLBOTS_BOT_STEP_MS"] = String(o.botStepMs);
      if (o.botBehaviour !== undefined) env["MALLBOTS_BOT_BEHAVIOUR"] = o.botBehaviour;
    }
    return env;
  }
}
