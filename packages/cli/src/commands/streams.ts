// `herald streams list|delete`: the stream list (GET /streams) and soft delete (DELETE /streams/{stream}).
import type { ExpectedVersion } from "@herald/protocol";
import type { HeraldClient } from "@herald/sdk";
import { UsageError } from "../errors.js";
import type { Output } from "../output.js";

export interface ListStreamsOptions {
  readonly prefix?: string;
  readonly system?: boolean;
  readonly deleted?: boolean;
  readonly json?: boolean;
}

export async function listStreams(
  api: HeraldClient,
  options: ListStreamsOptions,
  out: Output,
): Promise<void> {
  const rows: string[][] = [];
  for await (const info of api.streams({
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.system ? { system: true } : {}),
    ...(options.deleted ? { deleted: true } : {}),
  })) {
    if (options.json) out.data(JSON.stringify(info));
    else rows.push([info.stream, String(info.version), info.deleted ? "deleted" : ""]);
  }
  if (options.json) return;
  if (rows.length === 0) {
    out.message("no streams");
    return;
  }
  const width = Math.max(6, ...rows.map((r) => r[0]!.length));
  out.data(`${"STREAM".padEnd(width)}  VERSION`);
  for (const [name, version, state] of rows)
    out.data(`${name!.padEnd(width)}  ${version}${state ? `  ${state}` : ""}`.trimEnd());
}

export async function deleteStream(
  api: HeraldClient,
  stream: string,
  options: { readonly expectedVersion?: string; readonly hard?: boolean },
  out: Output,
): Promise<void> {
  const expectedVersion =
    options.expectedVersion === undefined ? undefined : parseExpected(options.expectedVersion);
  const hard = options.hard === true;
  const tombstone = await api.deleteStream(stream, {
    mustExist: true,
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    ...(hard ? { hard } : {}),
  });
  const version = tombstone?.version ?? "?";
  out.message(
    hard
      ? `hard-deleted stream ${stream} (was at version ${version}); its name is free again`
      : `deleted stream ${stream} at version ${version}`,
  );
}

function parseExpected(value: string): ExpectedVersion {
  if (value === "any" || value === "no-stream" || value === "exists") return value;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  throw new UsageError(
    `--expected-version must be any, no-stream, exists or a version number, got "${value}"`,
  );
}
