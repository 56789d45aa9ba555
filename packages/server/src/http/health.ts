// Liveness, readiness and the Prometheus scrape endpoint.
import type { Registry } from "prom-client";
import { type HealthResponse, type ReadyResponse, RETRY_AFTER_HEADER } from "@herald/protocol";
import { HttpProblem, sendJson, sendText } from "./problem.js";
import type { Router } from "./router.js";

export interface HealthDeps {
  /** Why the server is not ready (empty = ready): starting, shutting down, subscriptions loading… */
  readonly notReadyReasons: () => string[];
  readonly registry: Registry;
}

export function registerHealthRoutes(router: Router, deps: HealthDeps): void {
  router.add({
    method: "GET",
    path: "/healthz",
    access: "public",
    handler: ({ res }) => sendJson(res, 200, { status: "ok" } satisfies HealthResponse),
  });
  router.add({
    method: "GET",
    path: "/readyz",
    access: "public",
    handler: ({ res }) => {
      const reasons = deps.notReadyReasons();
      if (reasons.length > 0) {
        throw new HttpProblem("not-ready", `not ready: ${reasons.join(", ")}`, {
          extensions: { reasons },
          headers: { [RETRY_AFTER_HEADER]: "1" },
        });
      }
      sendJson(res, 200, { status: "ready" } satisfies ReadyResponse);
    },
  });
  router.add({
    method: "GET",
    path: "/metrics",
    access: "admin",
    handler: async ({ res }) => {
      const text = await deps.registry.metrics();
      sendText(res, 200, deps.registry.contentType, text);
    },
  });
}
