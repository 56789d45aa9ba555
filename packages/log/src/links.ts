// The lineage index's keys: which events it holds and under which keys. Only events that carry
// `causationid` or `correlationid` get entries (their own id too, so a cause that is itself an effect
// is found by id); an event with neither costs the append nothing.
import type { CloudEvent } from "@herald/cloudevents";
import { LogInputError } from "./errors.js";
import type { LinkAttribute, ReadLinkedOptions } from "./event-log.js";
import { checkNonNegativeInteger, checkPositiveInteger, DEFAULT_READ_LIMIT } from "./append-rules.js";

const PREFIX: Readonly<Record<LinkAttribute, string>> = { id: "i:", causationid: "c:", correlationid: "r:" };

/** The index key of one attribute value (`c:<causationid>`, `r:<correlationid>`, `i:<id>`). */
export function linkKey(attribute: LinkAttribute, value: string): string {
  return PREFIX[attribute] + value;
}

/** The keys of an event in the lineage index; undefined (no entry at all) when it carries neither attribute. */
export function linkKeys(event: CloudEvent): string[] | undefined {
  const causation = event["causationid"];
  const correlation = event["correlationid"];
  const hasCausation = typeof causation === "string" && causation !== "";
  const hasCorrelation = typeof correlation === "string" && correlation !== "";
  if (!hasCausation && !hasCorrelation) return undefined;
  const keys = [linkKey("id", event.id)];
  if (hasCausation) keys.push(linkKey("causationid", causation));
  if (hasCorrelation) keys.push(linkKey("correlationid", correlation));
  return keys;
}

export interface CheckedLinkedRead {
  readonly key: string;
  readonly after: number;
  readonly limit: number;
}

/** Validates readLinked's arguments (LogInputError otherwise). */
export function checkLinkedRead(
  attribute: LinkAttribute,
  value: string,
  options?: ReadLinkedOptions,
): CheckedLinkedRead {
  if (attribute !== "id" && attribute !== "causationid" && attribute !== "correlationid")
    throw new LogInputError(`attribute must be id, causationid or correlationid, got ${String(attribute)}`);
  if (typeof value !== "string" || value === "") throw new LogInputError("value must be a non-empty string");
  const after = options?.after ?? 0;
  const limit = options?.limit ?? DEFAULT_READ_LIMIT;
  checkNonNegativeInteger("after", after);
  checkPositiveInteger("limit", limit);
  return { key: linkKey(attribute, value), after, limit };
}
