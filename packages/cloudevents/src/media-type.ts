// Media type helpers: which content types carry JSON, and the CloudEvents format media types.

export const CLOUDEVENTS_JSON = "application/cloudevents+json";
export const CLOUDEVENTS_BATCH_JSON = "application/cloudevents-batch+json";

/** The media type without parameters, lower-cased and trimmed: `Application/JSON; charset=x` -> `application/json`. */
export function mediaTypeEssence(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * True when data of this content type is JSON: absent (the JSON format's default), `application/json`,
 * or any `+json` structured suffix (RFC 6839), e.g. `application/vnd.api+json`.
 */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const essence = mediaTypeEssence(contentType);
  return essence === "application/json" || essence.endsWith("+json");
}

/** The value of a media type parameter (e.g. `charset`), unquoted and lower-cased, or undefined. */
export function mediaTypeParameter(contentType: string, name: string): string | undefined {
  const parts = contentType.split(";");
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim().toLowerCase() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value.toLowerCase();
  }
  return undefined;
}
