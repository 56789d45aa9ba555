// Which partition of a subscription an event belongs to: a hash of its stream (the ordering key), so
// every event of one stream is delivered by the one instance that holds that partition's lease.

/** FNV-1a (32 bits) over the stream name's UTF-16 code units: the same on every instance. */
export function partitionOf(stream: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    hash ^= stream.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/**
 * The partitions a member should hold: partition k goes to the (k mod n)-th of the live members of
 * the subscription in sorted order. Every instance computes the same answer from the same rows.
 */
export function assignedPartitions(members: readonly string[], me: string, partitions: number): number[] {
  const sorted = [...new Set(members)].sort();
  const index = sorted.indexOf(me);
  if (index < 0) return [];
  const out: number[] = [];
  for (let k = 0; k < partitions; k++) if (k % sorted.length === index) out.push(k);
  return out;
}
