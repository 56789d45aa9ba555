// Progress bars on stderr (cli-progress), or nothing when they would only be noise.
import cliProgress from "cli-progress";

export type ProgressMode = "auto" | "on" | "off";

export interface Progress {
  /** Moves the bar to `value` (of the total given at creation) and shows `events` so far. */
  update(value: number, events: number): void;
  stop(): void;
}

const AUTO_MIN_BYTES = 1024 * 1024;

/**
 * A bar for `total` units (bytes or positions). `auto` shows it only on a terminal and only
 * when the output is a terminal too or the job is big; `on` forces it (plain lines when stderr
 * is not a terminal); `off` never shows it.
 */
export function createProgress(
  mode: ProgressMode,
  total: number | undefined,
  options: { label: string; unit: "bytes" | "positions"; bigTotal?: number },
): Progress {
  const stderrTty = process.stderr.isTTY === true;
  const big = total !== undefined && total >= (options.bigTotal ?? AUTO_MIN_BYTES);
  const show =
    mode === "on" || (mode === "auto" && stderrTty && total !== undefined && (process.stdout.isTTY || big));
  if (!show || total === undefined || total <= 0) return { update() {}, stop() {} };
  const format =
    `${options.label} [{bar}] {percentage}% | {events} events | ` +
    (options.unit === "bytes" ? "{done}/{size}" : "position {value}/{total}") +
    " | {duration_formatted} | ETA {eta_formatted}";
  const bar = new cliProgress.SingleBar(
    {
      format,
      stream: process.stderr,
      noTTYOutput: !stderrTty,
      notTTYSchedule: 1000,
      hideCursor: stderrTty ? true : null,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const sizes = (value: number) => ({ done: formatBytes(value), size: formatBytes(total) });
  bar.start(total, 0, { events: 0, ...sizes(0) });
  return {
    update(value, events) {
      bar.update(Math.min(value, total), { events, ...sizes(value) });
    },
    stop() {
      bar.stop();
    },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
