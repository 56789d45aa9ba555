// The in-process signal a backend raises after each commit: it carries the new head position
// so waiting subscribers wake up. It is level-triggered (compare with `head`), so a subscriber
// that checks `head` and then waits can never miss a commit that happened in between.
export class HeadSignal {
  #head: number;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(head: number) {
    this.#head = head;
  }

  get head(): number {
    return this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  advance(head: number): void {
    if (head <= this.#head) return;
    this.#head = head;
    this.#wakeAll();
  }

  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  /** Resolves once head > after, or the signal closes, or `cancel` is called. */
  wait(after: number): { readonly promise: Promise<void>; readonly cancel: () => void } {
    if (this.#head > after || this.#closed) return { promise: Promise.resolve(), cancel: () => {} };
    let wake: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      wake = () => {
        this.#waiters.delete(wake);
        resolve();
      };
    });
    this.#waiters.add(wake);
    return { promise, cancel: wake };
  }

  #wakeAll(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
