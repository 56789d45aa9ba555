// Liveness, readiness and the Prometheus scrape endpoint.
import type { Registry } from "prom-client";
import {
  CONTENT_LENGTH_HEADER,
  CONTENT_TYPE_HEADER,
  type HealthResponse,
  type ReadyResponse,
  RETRY_AFTER_HEADER,
} from "@herald/protocol";
import { HttpProblem, sendJson } from "./problem.js";
import type { Router } from "./router.js";

export interface HealthDeps {
  /** Why the server is not ready (empty = ready): starting, shutting down, subscriptions loading… */
  readonly notReadyReasons: () => string[];
  readonly registry: Registry;
}

export function registerHealthRoutes(router: Router, deps: HealthDeps): void {
  router.add("GET", "/healthz", ({ res }) => sendJson(res, 200, { status: "ok" } satisfies HealthResponse));
  router.add("GET", "/readyz", ({ res }) => {
    const reasons = deps.notReadyReasons();
    if (reasons.length > 0) {
      throw new HttpProblem("not-ready", `not ready: ${reasons.join(", ")}`, {
        extensions: { reasons },
        headers: { [RETRY_AFTER_HEADER]: "1" },
      });
    }
    sendJson(res, 200, { status: "ready" } satisfies ReadyResponse);
  });
  router.add("GET", "/metrics", async ({ res }) => {
    const text = await deps.registry.metrics();
    res.writeHead(200, {
      [CONTENT_TYPE_HEADER]: deps.registry.contentType,
      [CONTENT_LENGTH_HEADER]: Buffer.byteLength(text),
    });
    res.end(text);
  });
}
