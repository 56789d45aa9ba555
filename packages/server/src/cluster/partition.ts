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
 * The partitions a member should hold. Balanced rendezvous hashing: each partition ranks the live
 * members by a hash of (partition, member) and goes to the best-ranked one that has fewer than
 * ceil(partitions / members). Every instance computes the same answer from the same member list.
 * A partition's ranking does not depend on the other members, so a member that leaves mostly frees
 * its own partitions rather than reshuffling all of them as `k mod n` does (each move waits for the
 * old holder to drain); the quota can still move a few.
 */
export function assignedPartitions(members: readonly string[], me: string, partitions: number): number[] {
  const sorted = [...new Set(members)].sort();
  if (!sorted.includes(me)) return [];
  const quota = Math.ceil(partitions / sorted.length);
  const load = new Map(sorted.map((member) => [member, 0]));
  const out: number[] = [];
  for (let k = 0; k < partitions; k++) {
    const ranked = [...sorted].sort(
      (a, b) =>
        partitionOf(`${k}/${b}`, 0x7fffffff) - partitionOf(`${k}/${a}`, 0x7fffffff) || (a < b ? -1 : 1),
    );
    const owner = ranked.find((member) => (load.get(member) ?? 0) < quota)!;
    load.set(owner, (load.get(owner) ?? 0) + 1);
    if (owner === me) out.push(k);
  }
  return out;
}
