// One process of the example: `node main.js <herald url> <stock|payment|shipping|orchestrator> <mode>
// [paymentTimeoutMs] [compensationRetryMs]` (both default 60 000, long enough that a loaded machine
// never times out a step the test expects to complete). Prints READY once it consumes; the
// orchestrator prints one line per event it handles ("H stepped", "H parked", …) so a test can kill
// it mid-saga.
import { heraldPublisher, heraldStore } from "@herald/eventsourcing";
import { HeraldClient } from "@herald/sdk";
import { heraldTimers, ProcessManager } from "@herald/workflows";
import { orderSaga } from "./saga.js";
import { type Mode, type Role, startService } from "./services.js";

const [url, role, mode, timeout, retry] = process.argv.slice(2) as [
  string,
  Role | "orchestrator",
  Mode,
  string?,
  string?,
];
const client = new HeraldClient({ url });

if (role === "orchestrator") {
  const manager = new ProcessManager({
    definition: orderSaga({
      paymentTimeoutMs: Number(timeout ?? 60_000),
      compensationRetryMs: Number(retry ?? 60_000),
    }),
    store: heraldStore(client),
    publish: heraldPublisher(client),
    timers: heraldTimers(client),
    onHandled: (_event, outcome) => process.stdout.write(`H ${outcome}\n`),
  });
  await manager.run(client, {
    subscription: "orchestrator",
    config: { start: "beginning", ackTimeoutMs: 3_000, maxDeliveries: 1_000 },
  });
} else {
  await startService(client, role, mode);
}
process.stdout.write("READY\n");
process.on("SIGTERM", () => {
  void client.close().finally(() => process.exit(0));
});
