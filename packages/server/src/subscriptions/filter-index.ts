// An index of subscriptions by what their filters require, so that fanning one committed event out
// to thousands of subscriptions touches only those that can match it. Each subscription is filed
// under ONE necessary condition of its filter — an exact `type`, `source` or `subject`, or a prefix
// of one of them — taken from the parts that are ANDed at the top level (`types`, `source`,
// `exact`/`prefix` filters, members of `all`). A subscription with no such condition (only `sql`,
// `any`, `not`, `suffix`…) is always a candidate. Candidates still run their full matcher: the index
// only rules out subscriptions that cannot match.
import type { CloudEvent } from "@herald/cloudevents";
import type { FilterSpec } from "./filters.js";

const INDEXED = ["type", "source", "subject"] as const;
type IndexedAttribute = (typeof INDEXED)[number];

/** Where a subscription is filed: under one exact value or prefix of one attribute, or nowhere. */
export type IndexKey =
  | { readonly kind: "exact"; readonly attribute: IndexedAttribute; readonly values: readonly string[] }
  | { readonly kind: "prefix"; readonly attribute: IndexedAttribute; readonly prefix: string }
  | { readonly kind: "none" };

/**
 * The most selective necessary condition of a filter spec: an exact value (or the `types` list)
 * before a prefix, the longest prefix among prefixes; `none` when the spec has no indexable part.
 */
export function indexKeyOf(spec: FilterSpec): IndexKey {
  const exact: Array<{ attribute: IndexedAttribute; values: readonly string[] }> = [];
  const prefixes: Array<{ attribute: IndexedAttribute; prefix: string }> = [];
  if (spec.types && spec.types.length > 0)
    exact.push({ attribute: "type", values: [...new Set(spec.types)] });
  if (spec.source !== undefined) exact.push({ attribute: "source", values: [spec.source] });
  const visit = (filter: unknown): void => {
    if (typeof filter !== "object" || filter === null) return;
    const record = filter as Record<string, unknown>;
    if (isStringMap(record.exact)) {
      for (const attribute of INDEXED) {
        const value = record.exact[attribute];
        if (value !== undefined) exact.push({ attribute, values: [value] });
      }
    } else if (isStringMap(record.prefix)) {
      for (const attribute of INDEXED) {
        const prefix = record.prefix[attribute];
        // An empty prefix matches everything that has the attribute: no use as an index.
        if (prefix !== undefined && prefix.length > 0) prefixes.push({ attribute, prefix });
      }
    } else if (Array.isArray(record.all)) {
      for (const member of record.all) visit(member);
    }
  };
  for (const filter of spec.filters ?? []) visit(filter);
  const rank = (a: IndexedAttribute) => INDEXED.indexOf(a);
  // Fewest values first (a single exact type beats a list of five), then type before source before subject.
  exact.sort((a, b) => a.values.length - b.values.length || rank(a.attribute) - rank(b.attribute));
  const bestExact = exact[0];
  if (bestExact) return { kind: "exact", attribute: bestExact.attribute, values: bestExact.values };
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length || rank(a.attribute) - rank(b.attribute));
  const bestPrefix = prefixes[0];
  if (bestPrefix) return { kind: "prefix", attribute: bestPrefix.attribute, prefix: bestPrefix.prefix };
  return { kind: "none" };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Members by exact value, or by prefix (with the prefix lengths in use, for the lookup). */
class AttributeIndex<M> {
  readonly exact = new Map<string, Set<M>>();
  readonly prefix = new Map<string, Set<M>>();
  /** Distinct prefix lengths with members, and how many prefixes of each length. */
  readonly #lengths = new Map<number, number>();
  #sortedLengths: number[] = [];

  addPrefix(prefix: string, member: M): void {
    let set = this.prefix.get(prefix);
    if (!set) {
      set = new Set();
      this.prefix.set(prefix, set);
      this.#lengths.set(prefix.length, (this.#lengths.get(prefix.length) ?? 0) + 1);
      this.#sortedLengths = [...this.#lengths.keys()].sort((a, b) => a - b);
    }
    set.add(member);
  }

  deletePrefix(prefix: string, member: M): void {
    const set = this.prefix.get(prefix);
    if (!set?.delete(member) || set.size > 0) return;
    this.prefix.delete(prefix);
    const count = (this.#lengths.get(prefix.length) ?? 1) - 1;
    if (count > 0) this.#lengths.set(prefix.length, count);
    else this.#lengths.delete(prefix.length);
    this.#sortedLengths = [...this.#lengths.keys()].sort((a, b) => a - b);
  }

  collect(value: string, out: M[]): void {
    const exact = this.exact.get(value);
    if (exact) for (const member of exact) out.push(member);
    // One map lookup per distinct prefix length in use (a handful), not one per subscription.
    for (const length of this.#sortedLengths) {
      if (length > value.length) break;
      const set = this.prefix.get(value.length === length ? value : value.slice(0, length));
      if (set) for (const member of set) out.push(member);
    }
  }
}

export class FilterIndex<M> {
  readonly #attributes: Record<IndexedAttribute, AttributeIndex<M>> = {
    type: new AttributeIndex(),
    source: new AttributeIndex(),
    subject: new AttributeIndex(),
  };
  /** Members without an indexable condition: candidates for every event. */
  readonly #unindexed = new Set<M>();
  readonly #keys = new Map<M, IndexKey>();

  get size(): number {
    return this.#keys.size;
  }

  has(member: M): boolean {
    return this.#keys.has(member);
  }

  add(member: M, key: IndexKey): void {
    if (this.#keys.has(member)) return;
    this.#keys.set(member, key);
    if (key.kind === "none") {
      this.#unindexed.add(member);
    } else if (key.kind === "prefix") {
      this.#attributes[key.attribute].addPrefix(key.prefix, member);
    } else {
      const index = this.#attributes[key.attribute].exact;
      for (const value of key.values) {
        const set = index.get(value);
        if (set) set.add(member);
        else index.set(value, new Set([member]));
      }
    }
  }

  delete(member: M): void {
    const key = this.#keys.get(member);
    if (key === undefined) return;
    this.#keys.delete(member);
    if (key.kind === "none") {
      this.#unindexed.delete(member);
    } else if (key.kind === "prefix") {
      this.#attributes[key.attribute].deletePrefix(key.prefix, member);
    } else {
      const index = this.#attributes[key.attribute].exact;
      for (const value of key.values) {
        const set = index.get(value);
        if (set?.delete(member) && set.size === 0) index.delete(value);
      }
    }
  }

  /**
   * Appends to `out` every member whose filter could match the event; a member is listed at most
   * once (it is filed in one place; the values of an exact key are distinct, and an event has one).
   */
  candidates(event: CloudEvent, out: M[]): void {
    for (const member of this.#unindexed) out.push(member);
    if (this.#unindexed.size === this.#keys.size) return;
    this.#attributes.type.collect(event.type, out);
    this.#attributes.source.collect(event.source, out);
    const subject = event.subject;
    if (subject !== undefined) this.#attributes.subject.collect(subject, out);
  }
}
