// The schema registry's wire constants: the compatibility modes and the `dataschema` form of a version.
import type { CompatibilityMode } from "./wire.js";

export const SCHEMAS_PATH = "/schemas";

/** Every compatibility mode (BACKWARD is the server's default). */
export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = Object.freeze([
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
]);

/** The URI scheme of a registered version's `dataschema`. */
export const DATASCHEMA_SCHEME = "herald:";

/**
 * The `dataschema` of a registered version: `herald:/schemas/{type}/versions/{n}`. CloudEvents wants an
 * absolute URI, and the server does not know the URL its clients reach it by: the path after the scheme
 * is the version's path on any Herald server of the cluster (the type percent-encoded as one segment).
 */
export function dataschemaOf(type: string, version: number): string {
  return `${DATASCHEMA_SCHEME}${schemaVersionPath(type, version)}`;
}

/** `/schemas/{type}/versions/{n}`: where the version is read over HTTP. */
export function schemaVersionPath(type: string, version: number): string {
  return `${SCHEMAS_PATH}/${encodeURIComponent(type)}/versions/${version}`;
}

/** The type and version a Herald `dataschema` names, or undefined for any other URI. */
export function parseDataschema(dataschema: string): { type: string; version: number } | undefined {
  const match = /^herald:\/schemas\/([^/]+)\/versions\/([1-9]\d{0,9})$/.exec(dataschema);
  if (match === null) return undefined;
  try {
    return { type: decodeURIComponent(match[1]!), version: Number(match[2]) };
  } catch {
    return undefined;
  }
}
