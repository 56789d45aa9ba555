// Small shared pieces: errors, a loading state, a copy button, a two-step confirm button, a line chart.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { errorText } from "./api.js";

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
  };
  return (
    <button type="button" onClick={copy} aria-label={label}>
      {state === "copied" ? "Copied" : state === "failed" ? "Select the text to copy" : label}
    </button>
  );
}

/** A destructive action asks once more in place: the first press arms it, the second does it. */
export function ConfirmButton(props: {
  label: string;
  confirm: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
}) {
  const [armed, setArmed] = useState(false);
  if (!armed) {
    return (
      <button type="button" class="danger" disabled={props.disabled} onClick={() => setArmed(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="danger"
        onClick={async () => {
          setArmed(false);
          await props.onConfirm();
        }}
      >
        {props.confirm}
      </button>
      <button type="button" onClick={() => setArmed(false)}>
        Cancel
      </button>
    </span>
  );
}

export interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
  /** A CSS class for the stroke (`s0`, `s1`…). */
  readonly tone: string;
}

/** A line chart in SVG: one polyline per series over the same x steps, the max on the y axis. */
export function LineChart(props: {
  title: string;
  unit: string;
  times: readonly number[];
  series: readonly Series[];
}) {
  const width = 480;
  const height = 140;
  const pad = { left: 44, right: 8, top: 10, bottom: 20 };
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1e-9, ...all);
  const n = Math.max(1, props.times.length - 1);
  const x = (i: number) => pad.left + (i / n) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const last = props.series.map((s) => `${s.name} ${fmt(lastValue(s.values))} ${props.unit}`).join(", ");
  const first = props.times[0];
  const end = props.times[props.times.length - 1];
  return (
    <figure class="chart">
      <figcaption>
        {props.title} <span class="muted">({last || "no data"})</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${props.title}: ${last || "no data"}, max ${fmt(max)} ${props.unit}`}
      >
        <line
          class="axis"
          x1={pad.left}
          y1={height - pad.bottom}
          x2={width - pad.right}
          y2={height - pad.bottom}
        />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} />
        <text class="tick" x={pad.left - 4} y={pad.top + 4} text-anchor="end">
          {fmt(max)}
        </text>
        <text class="tick" x={pad.left - 4} y={height - pad.bottom} text-anchor="end">
          0
        </text>
        {first !== undefined && (
          <text class="tick" x={pad.left} y={height - 4}>
            {new Date(first).toLocaleTimeString()}
          </text>
        )}
        {end !== undefined && (
          <text class="tick" x={width - pad.right} y={height - 4} text-anchor="end">
            {new Date(end).toLocaleTimeString()}
          </text>
        )}
        {props.series.map((s) =>
          // Sparse series (few buckets with traffic) also get dots: a lone point draws no line.
          s.values.filter((v) => v !== null).length <= 20
            ? s.values.map((v, i) =>
                v === null ? null : (
                  <circle key={`${s.name}-${i}`} class={`dot ${s.tone}`} cx={x(i)} cy={y(v)} r={2} />
                ),
              )
            : null,
        )}
        {props.series.map((s) => (
          <polyline
            key={s.name}
            class={`line ${s.tone}`}
            points={s.values
              .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
              .filter((p) => p !== null)
              .join(" ")}
          />
        ))}
      </svg>
      <ul class="legend">
        {props.series.map((s) => (
          <li key={s.name}>
            <span class={`swatch ${s.tone}`} aria-hidden="true" />
            {s.name}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function lastValue(values: readonly (number | null)[]): number | undefined {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return undefined;
}

function fmt(value: number | undefined): string {
  if (value === undefined) return "–";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Moves focus between the row buttons of a list with the arrow keys (Tab still walks every control). */
export function onListKeys(event: KeyboardEvent): void {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  const target = event.target as HTMLElement;
  if (!target.matches("button.row-open")) return;
  const container = target.closest("table");
  if (container === null) return;
  const buttons = [...container.querySelectorAll<HTMLButtonElement>("button.row-open")];
  const at = buttons.indexOf(target as HTMLButtonElement);
  const next = buttons[at + (event.key === "ArrowDown" ? 1 : -1)];
  if (next) {
    event.preventDefault();
    next.focus();
  }
}
