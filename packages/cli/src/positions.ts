// Finds positions in the log through GET /events alone.
import type { HeraldClient } from "@herald/sdk";

/**
 * The position of the newest event, 0 for an empty log. "Is there an event after x?" is monotone
 * in x even with gaps (retention), so an exponential probe plus a binary search finds the head
 * in O(log head) one-event reads.
 */
export async function findHeadPosition(
  api: Pick<HeraldClient, "readEvents">,
  system: boolean,
): Promise<number> {
  const firstAfter = async (after: number): Promise<number | undefined> => {
    // A filtered read (the server hides `$` streams) may stop scanning early with no event and
    // a larger `next`: keep going from there until an event or the real end.
    for (;;) {
      const page = await api.readEvents({ after, limit: 1, ...(system ? { system: true } : {}) });
      const first = page.events[0];
      if (first !== undefined) return first.position;
      if (page.next <= after) return undefined;
      after = page.next;
    }
  };
  let low = await firstAfter(0);
  if (low === undefined) return 0;
  // Invariant: an event exists at `low`; no event exists after `high`.
  let high: number | undefined;
  let probe = low;
  while (high === undefined) {
    probe = probe * 2 + 1024;
    const found = await firstAfter(probe);
    if (found === undefined) high = probe;
    else low = found;
  }
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const found = await firstAfter(middle);
    if (found === undefined) high = middle;
    else low = found;
  }
  return low;
}
