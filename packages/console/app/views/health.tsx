// Server version and storage, and the ingest and delivery series drawn as small SVG charts.
import { useEffect, useState } from "preact/hooks";
import { call, isMissingRoute, query } from "../lib/api.js";
import { formatNumber } from "../lib/format.js";
import { ErrorBox, LineChart, Notice } from "../lib/ui.js";
import type { IndexResponse, ReadyResponse, StatsSeriesResponse } from "../lib/wire.js";

const REFRESH_MS = 5000;

export function HealthView() {
  const [index, setIndex] = useState<IndexResponse | undefined>(undefined);
  const [ready, setReady] = useState<ReadyResponse | undefined>(undefined);
  const [series, setSeries] = useState<StatsSeriesResponse | "missing" | undefined>(undefined);
  const [minutes, setMinutes] = useState(15);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    call<IndexResponse>("/").then(setIndex).catch(setError);
    call<ReadyResponse>("/readyz").then(setReady).catch(setError);
  }, []);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      call<StatsSeriesResponse>(`/stats/series${query({ minutes })}`)
        .then((s) => !stopped && setSeries(s))
        .catch((e: unknown) => {
          if (stopped) return;
          if (isMissingRoute(e)) setSeries("missing");
          else setError(e);
        });
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [minutes]);

  const points = series !== undefined && series !== "missing" ? series.points : [];
  const times = points.map((p) => p.t);
  return (
    <section aria-labelledby="health-title">
      <h1 id="health-title">Health</h1>
      <ErrorBox error={error} />
      <dl class="stats" aria-label="Server">
        <div>
          <dt>Version</dt>
          <dd>{index?.version ?? "–"}</dd>
        </div>
        <div>
          <dt>Readiness</dt>
          <dd>{ready?.status ?? "–"}</dd>
        </div>
        <div>
          <dt>Storage</dt>
          <dd>
            {(series !== undefined && series !== "missing" ? series.server.storage : undefined) ??
              ready?.storage ??
              "–"}
          </dd>
        </div>
        {series !== undefined && series !== "missing" && (
          <>
            <div>
              <dt>Node</dt>
              <dd>{series.server.nodeId ?? ready?.nodeId ?? "–"}</dd>
            </div>
            <div>
              <dt>Head position</dt>
              <dd>{formatNumber(series.server.head)}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{series.server.startedAt ?? "–"}</dd>
            </div>
          </>
        )}
      </dl>
      <label>
        Window
        <select
          name="minutes"
          value={String(minutes)}
          onChange={(e) => setMinutes(Number((e.target as HTMLSelectElement).value))}
        >
          <option value="5">5 minutes</option>
          <option value="15">15 minutes</option>
          <option value="60">60 minutes</option>
        </select>
      </label>
      {series === "missing" && <Notice>This server has no series endpoint (GET /stats/series).</Notice>}
      {series !== undefined && series !== "missing" && (
        <div class="charts">
          <LineChart
            title="Ingest rate"
            unit="events/s"
            times={times}
            series={[{ name: "ingested", tone: "s0", values: points.map((p) => p.ingestRate) }]}
          />
          <LineChart
            title="Delivery rate"
            unit="events/s"
            times={times}
            series={[
              { name: "delivered", tone: "s1", values: points.map((p) => p.deliveryRate) },
              {
                name: "failed",
                tone: "s2",
                values: points.map((p) => p.failed / Math.max(1, series.intervalMs / 1000)),
              },
            ]}
          />
          <LineChart
            title="Ingest latency"
            unit="ms"
            times={times}
            series={[
              { name: "p50", tone: "s0", values: points.map((p) => p.ingestP50Ms) },
              { name: "p99", tone: "s2", values: points.map((p) => p.ingestP99Ms) },
            ]}
          />
          <LineChart
            title="Delivery latency"
            unit="ms"
            times={times}
            series={[
              { name: "p50", tone: "s1", values: points.map((p) => p.deliveryP50Ms) },
              { name: "p99", tone: "s2", values: points.map((p) => p.deliveryP99Ms) },
            ]}
          />
        </div>
      )}
    </section>
  );
}
