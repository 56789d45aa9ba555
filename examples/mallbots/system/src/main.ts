#!/usr/bin/env node
// The MallBots launcher: `npm run mallbots` starts herald serve and every service on their default
// ports with their databases under ./data/mallbots; `npm run mallbots -- order` places a demo order
// through the kiosk API and follows it; `npm run mallbots -- trace <orderId>` draws its trace.
// Usage: main.js --help.
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_PORTS, DEMO_KEYS, FLOWS, type Flow, traceTree } from "@mallbots/contracts";
import { placeDemoOrder } from "./demo-order.js";
import { HERALD_PORT, type Role, startSystem } from "./system.js";

const USAGE = `Usage: npm run mallbots -- [command] [options]

Commands:
  start (default)         start herald serve and every service; Ctrl-C stops them
  order                   place a demo order at the kiosk API and follow it until picked up
  trace <orderId|traceId> print the order's trace (the spans every service wrote) as a tree

Options of start:
  --flow <flow>           orchestrated (default: the saga) or choreography
  --bots <n>              shopper bots (default 3)
  --bot-step-ms <ms>      a bot's time per store (default 1500)
  --bot-timeout-ms <ms>   how long a bot may shop before the order is cancelled (default 120000)
  --with-analytics        also start Analytics (it can join later: it reads the whole history)
  --fresh                 delete ./data/mallbots first (a new mall, an empty log)

Options of order:
  --customer <id>         the customer (default ada; a customer named broke-… is refused by Payments)
  --item <product:qty>    what to buy, repeatable (default prod-apples:2 and prod-novel:1)
  --no-pickup             leave the order ready for pickup (pick it up with curl or the staff page)
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    flow: { type: "string", default: "orchestrated" },
    bots: { type: "string" },
    "bot-step-ms": { type: "string" },
    "bot-timeout-ms": { type: "string" },
    "with-analytics": { type: "boolean", default: false },
    fresh: { type: "boolean", default: false },
    customer: { type: "string", default: "ada" },
    item: { type: "string", multiple: true },
    "no-pickup": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

function count(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`--${name} must be a whole number, got ${raw}`);
  return value;
}

const HOST = "http://127.0.0.1";
const KEY_VARIABLE = /^MALLBOTS_(INTERNAL|ADMIN|KIOSK|STAFF|BOT)_KEY$/;
const GATEWAY = `${HOST}:${DEFAULT_PORTS.gateway}`;
const HERALD = `${HOST}:${HERALD_PORT}`;
const CONSOLE = `${HERALD}/console`;

/** API keys set in the shell (MALLBOTS_KIOSK_KEY, …) reach every service; no other MALLBOTS_ variable does. */
function keysFromShell(): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (KEY_VARIABLE.test(name) && value) keys[name] = value;
  }
  return keys;
}

async function start() {
  const flow = values.flow as Flow;
  if (!FLOWS.includes(flow)) throw new RangeError(`--flow must be one of ${FLOWS.join(", ")}, got ${flow}`);
  const dataDir = resolve("data", "mallbots");
  if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
  const roles: Role[] = ["stores", "payments", "orders", "depot", "gateway", "bots"];
  if (flow === "orchestrated") roles.push("orchestrator");
  if (values["with-analytics"]) roles.push("analytics");
  console.error(`starting MallBots (${flow}) with its data under ${dataDir} …`);
  const system = await startSystem({
    flow,
    dataDir,
    ports: "fixed",
    roles,
    bots: count("bots", values.bots),
    botStepMs: count("bot-step-ms", values["bot-step-ms"]),
    botTimeoutMs: count("bot-timeout-ms", values["bot-timeout-ms"]),
    env: {
      ...keysFromShell(),
      // Every service writes its spans here; `npm run mallbots -- trace <orderId>` draws them.
      MALLBOTS_TRACE_FILE: join(dataDir, "traces.jsonl"),
    },
    log: (role, line) => process.stderr.write(`${`[${role}]`.padEnd(15)}${line}\n`),
  });
  const kiosk = `-H 'X-API-Key: ${system.keys.kiosk}'`;
  process.stdout.write(`
MallBots is running (${flow} flow${values["with-analytics"] ? ", with Analytics" : ""}).

  Kiosk API       ${GATEWAY}  (key ${system.keys.kiosk}; OpenAPI at ${GATEWAY}/openapi.json)
    curl -s ${kiosk} ${GATEWAY}/stores
    curl -s ${kiosk} -H 'content-type: application/json' \\
      -d '{"customerId":"ada","items":[{"productId":"prod-apples","quantity":2}]}' ${GATEWAY}/orders
    curl -s ${kiosk} ${GATEWAY}/orders/<orderId>
    curl -s ${kiosk} -X POST ${GATEWAY}/orders/<orderId>/pickup
  Staff page      ${GATEWAY}/staff?key=${system.keys.staff}
  Herald console  ${CONSOLE}
  A demo order    npm run mallbots -- order   (or: node examples/mallbots/system/dist/src/main.js order)

Ctrl-C stops everything.
`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.error("stopping MallBots …");
    await system.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

async function main() {
  const command = positionals[0] ?? "start";
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (command === "start") return start();
  if (command === "trace") {
    const id = positionals[1];
    if (id === undefined) throw new RangeError("trace needs an order id (or a trace id)");
    const file = process.env["MALLBOTS_TRACE_FILE"] ?? join(resolve("data", "mallbots"), "traces.jsonl");
    process.stdout.write(`${traceTree(file, id)}\n`);
    return;
  }
  if (command === "order") {
    const ok = await placeDemoOrder({
      gatewayUrl: process.env["MALLBOTS_GATEWAY_URL"] ?? GATEWAY,
      heraldUrl: process.env["MALLBOTS_HERALD_URL"] ?? HERALD,
      kioskKey: process.env["MALLBOTS_KIOSK_KEY"] ?? DEMO_KEYS.kiosk,
      customerId: values.customer,
      items: values.item ?? ["prod-apples:2", "prod-novel:1"],
      pickup: !values["no-pickup"],
    });
    process.exitCode = ok ? 0 : 1;
    return;
  }
  process.stderr.write(`unknown command ${command}\n\n${USAGE}`);
  process.exitCode = 2;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
