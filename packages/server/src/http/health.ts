// The index at `/`, liveness, readiness and the Prometheus scrape endpoint.
import type { Registry } from "prom-client";
import {
  type HealthResponse,
  type IndexLinks,
  type IndexResponse,
  type ReadyResponse,
  RETRY_AFTER_HEADER,
} from "@herald/protocol";
import { HttpProblem, sendJson, sendText } from "./problem.js";
import type { Router } from "./router.js";

export interface HealthDeps {
  /** Why the server is not ready (empty = ready): starting, shutting down, subscriptions loading… */
  readonly notReadyReasons: () => string[];
  readonly registry: Registry;
  /** What `/readyz` says beside its status: storage, node id, cluster and database details. */
  readonly details?: () => Omit<ReadyResponse, "status" | "version">;
  /** Reported by `/`, `/healthz` and `/readyz`. */
  readonly version: string;
  /** Path of the web console when one is hosted (listed by `/`). */
  readonly consolePath?: string;
}

export function registerHealthRoutes(router: Router, deps: HealthDeps): void {
  const { version } = deps;
  const links: IndexLinks = {
    health: "/healthz",
    ready: "/readyz",
    metrics: "/metrics",
    ...(deps.consolePath !== undefined ? { console: deps.consolePath } : {}),
  };
  // Public like /healthz: it says only what the server is, never what it holds.
  router.add({
    method: "GET",
    path: "/",
    access: "public",
    handler: ({ res }) => sendJson(res, 200, { name: "herald", version, links } satisfies IndexResponse),
  });
  router.add({
    method: "GET",
    path: "/healthz",
    access: "public",
    handler: ({ res }) => sendJson(res, 200, { status: "ok", version } satisfies HealthResponse),
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
      sendJson(res, 200, { status: "ready", version, ...deps.details?.() } satisfies ReadyResponse);
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
