// The duplicate window of the SQLite log: which positions among the newest `size` may hold a given
// source+id. It keeps a 32-bit hash per position and answers candidates only; the caller confirms
// each one against the stored event (an exact check), so a hash collision or a position whose
// event was since deleted never makes a new event a duplicate.
//
// Layout: `ring[position & ringMask]` is the hash of the event at that position (the window holds
// at most ring.length consecutive positions); `slots` is an open-addressing table (linear probing,
// load <= 1/2) of ring indexes + 1 (0 = empty), so an entry costs 12 bytes. A random 36-byte UUID
// string in a JS Map cost ~90 bytes per entry (measured), and an on-disk index of the same keys is
// what made appends slow down as the log grew (packages/log/README.md, "Deduplication").

const INITIAL_RING = 1024;

/** A 32-bit hash of source+id (FNV-1a over UTF-16 code units, then murmur3's finaliser). */
export function keyHash(source: string, id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xffff, 0x01000193); // separator: "a"+"bc" and "ab"+"c" differ
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** hashes[offset … offset + count - 1] as int32 little-endian (the dedupe_keys.hashes format). */
export function packHashes(hashes: ArrayLike<number>, offset = 0, count = hashes.length): Buffer {
  const end = Math.min(hashes.length, offset + count);
  const blob = Buffer.allocUnsafe((end - offset) * 4);
  for (let i = offset; i < end; i++) blob.writeInt32LE(hashes[i]!, (i - offset) * 4);
  return blob;
}

export class DedupeWindow {
  /** How many of the newest positions the window covers. */
  readonly size: number;
  #ring = new Int32Array(INITIAL_RING);
  #slots = new Int32Array(INITIAL_RING * 2);
  /** Positions first..last are in the window (first > last: empty). */
  #first = 1;
  #last = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** The oldest position covered (positions before it are no longer checked). */
  get first(): number {
    return this.#first;
  }

  /** Adds the hashes of positions `from`, `from + 1`, … (they follow the last position added). */
  add(from: number, hashes: ArrayLike<number>): void {
    if (hashes.length === 0) return;
    if (this.#last >= this.#first && from !== this.#last + 1)
      throw new Error(`dedupe window: position ${from} does not follow ${this.#last}`);
    if (this.#last < this.#first) {
      this.#first = from;
      this.#last = from - 1;
    }
    // A batch larger than the window: only its newest `size` positions stay.
    const start = Math.max(0, hashes.length - this.size);
    if (start > 0) {
      this.#slots.fill(0);
      this.#first = from + start;
      this.#last = from + start - 1;
    } else {
      while (this.#last - this.#first + 1 + hashes.length > this.size) this.#evictFirst();
    }
    const held = this.#last - this.#first + 1 + hashes.length - start;
    if (held > this.#ring.length) this.#grow(held);
    for (let i = start; i < hashes.length; i++) this.#insert(from + i, hashes[i]! | 0);
  }

  /** Positions in the window whose hash is `hash` (candidates to confirm). */
  candidates(hash: number): number[] {
    const found: number[] = [];
    if (this.#last < this.#first) return found;
    const mask = this.#slots.length - 1;
    for (let i = hash & mask; this.#slots[i] !== 0; i = (i + 1) & mask) {
      const index = this.#slots[i]! - 1;
      if (this.#ring[index] === hash) found.push(this.#positionOf(index));
    }
    return found;
  }

  #insert(position: number, hash: number): void {
    const ringMask = this.#ring.length - 1;
    const index = position & ringMask;
    this.#ring[index] = hash;
    const mask = this.#slots.length - 1;
    let i = hash & mask;
    while (this.#slots[i] !== 0) i = (i + 1) & mask;
    this.#slots[i] = index + 1;
    this.#last = position;
  }

  #evictFirst(): void {
    const index = this.#first & (this.#ring.length - 1);
    const mask = this.#slots.length - 1;
    let i = this.#ring[index]! & mask;
    while (this.#slots[i] !== index + 1) i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let j = (i + 1) & mask; this.#slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.#ring[this.#slots[j]! - 1]! & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        this.#slots[i] = this.#slots[j]!;
        i = j;
      }
    }
    this.#slots[i] = 0;
    this.#first += 1;
  }

  /** The position held at a ring index: the one in first..last with that index. */
  #positionOf(index: number): number {
    const ringMask = this.#ring.length - 1;
    return this.#first + ((index - (this.#first & ringMask)) & ringMask);
  }

  #grow(needed: number): void {
    let ring = this.#ring.length;
    while (ring < needed) ring *= 2;
    const oldRing = this.#ring;
    const oldMask = oldRing.length - 1;
    const first = this.#first;
    const last = this.#last;
    this.#ring = new Int32Array(ring);
    this.#slots = new Int32Array(ring * 2);
    this.#last = first - 1;
    for (let position = first; position <= last; position++)
      this.#insert(position, oldRing[position & oldMask]!);
  }
}
