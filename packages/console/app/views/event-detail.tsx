// One event: its place in the log, every attribute, the data by media type, and how to publish it again.
import { asCurl, asHeraldPublish, attributesOf, dataOf, formatTime } from "../lib/format.js";
import { href } from "../lib/route.js";
import { CopyButton } from "../lib/ui.js";
import type { LogEntry } from "../lib/wire.js";

export function EventDetail({ entry, onClose }: { entry: LogEntry; onClose?: () => void }) {
  const data = dataOf(entry.event);
  const curl = asCurl(entry, location.origin);
  const publish = asHeraldPublish(entry, location.origin);
  return (
    <section class="detail" aria-labelledby="event-detail-title">
      <header class="row">
        <h2 id="event-detail-title">
          Event <code>{entry.event.id}</code>
        </h2>
        <a href={href("lineage", { position: entry.position })}>Lineage</a>
        {onClose && (
          <button type="button" onClick={onClose} aria-label="Close event detail">
            Close
          </button>
        )}
      </header>
      <table class="attributes" aria-label="Event attributes">
        <tbody>
          <tr>
            <th scope="row">position</th>
            <td>{entry.position}</td>
          </tr>
          <tr>
            <th scope="row">stream</th>
            <td>
              <a href={href("events", { stream: entry.stream })}>{entry.stream}</a> version {entry.version}
            </td>
          </tr>
          {entry.recordedAt !== undefined && (
            <tr>
              <th scope="row">recorded</th>
              <td>{formatTime(entry.recordedAt)}</td>
            </tr>
          )}
          {attributesOf(entry.event).map(([name, value]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>
                <code>{value}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>
        Data {data.kind === "hex" ? "(binary, hex)" : data.kind === "none" ? "(none)" : `(${data.kind})`}
      </h3>
      {data.kind !== "none" && <pre class={`data ${data.kind}`}>{data.text}</pre>}
      <h3>Publish again</h3>
      <label class="block">
        curl
        <textarea class="command" readOnly rows={5} value={curl} />
      </label>
      <CopyButton text={curl} label="Copy as curl" />
      <label class="block">
        herald publish
        <textarea class="command" readOnly rows={3} value={publish} />
      </label>
      <CopyButton text={publish} label="Copy as herald publish" />
    </section>
  );
}
