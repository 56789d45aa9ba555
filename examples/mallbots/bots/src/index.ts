// MallBots shopper bots: simulated robots on the gateway's bot stream (no database; Depot keeps the
// truth). `startBots` runs them in this process; main.ts is the process the launcher starts.
import { readConfig } from "@mallbots/contracts";
import { type Behaviour, Bot } from "./bot.js";

export { type Behaviour, Bot, type BotOptions } from "./bot.js";
export { type BotMessage, HELLO_ID, type StreamItem, type Task } from "./protocol.js";

export interface BotsOptions {
  /** The gateway (http or https; the stream is ws(s)://<gateway>/bots/stream). */
  readonly gatewayUrl: string;
  /** The key with scope `bot`. */
  readonly botKey: string;
  /** How many bots (ids `<prefix>-1` … `<prefix>-<count>`). */
  readonly count?: number;
  readonly prefix?: string;
  /** Time per store (ms, default 1500). */
  readonly stepMs?: number;
  readonly behaviour?: Behaviour;
  readonly reconnect?: { readonly baseMs?: number; readonly capMs?: number };
  readonly log?: (line: string) => void;
}

export interface RunningBots {
  readonly bots: readonly Bot[];
  /** Resolves once every bot's socket is open and has said hello. */
  readonly connected: Promise<void>;
  stop(): Promise<void>;
}

/** The stream's URL: ws for http, wss for https, the key as `access_token` (browsers' way, and ours). */
export function streamUrl(gatewayUrl: string, botKey: string): string {
  const url = new URL("/bots/stream", gatewayUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("access_token", botKey);
  return url.toString();
}

export function startBots(options: BotsOptions): RunningBots {
  const { count = 3, prefix = "bot", stepMs = 1_500, behaviour = "shop" } = options;
  const url = streamUrl(options.gatewayUrl, options.botKey);
  const bots = Array.from(
    { length: count },
    (_, i) =>
      new Bot({
        botId: `${prefix}-${i + 1}`,
        streamUrl: url,
        stepMs,
        behaviour,
        ...(options.reconnect ? { reconnect: options.reconnect } : {}),
        ...(options.log ? { log: options.log } : {}),
      }),
  );
  for (const bot of bots) bot.start();
  return {
    bots,
    connected: Promise.all(bots.map((bot) => bot.connected)).then(() => {}),
    stop: async () => {
      await Promise.all(bots.map((bot) => bot.stop()));
    },
  };
}

const BEHAVIOURS: readonly Behaviour[] = ["shop", "stall"];

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

/** The bots' options from the environment (MALLBOTS_GATEWAY_URL, MALLBOTS_BOTS, …; the key as readConfig). */
export function readBotsOptions(env: NodeJS.ProcessEnv = process.env): BotsOptions {
  const behaviour = (env["MALLBOTS_BOT_BEHAVIOUR"] || "shop") as Behaviour;
  if (!BEHAVIOURS.includes(behaviour))
    throw new RangeError(`MALLBOTS_BOT_BEHAVIOUR must be one of ${BEHAVIOURS.join(", ")}, got ${behaviour}`);
  return {
    gatewayUrl: env["MALLBOTS_GATEWAY_URL"] || "http://127.0.0.1:3000",
    botKey: readConfig(env).botKey,
    count: count(env, "MALLBOTS_BOTS", 3),
    prefix: env["MALLBOTS_BOT_PREFIX"] || "bot",
    stepMs: count(env, "MALLBOTS_BOT_STEP_MS", 1_500),
    behaviour,
  };
}
