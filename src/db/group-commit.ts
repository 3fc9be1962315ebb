interface Waiting<Item, Result> {
  item: Item;
  key: string;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<Item> {
  /** Writes running at once; while that many run, new items wait and go together in the next. */
  maxInFlight: number;
  /** Items in one write at most. */
  maxBatch: number;
  /** Items with the same key never share a write (e.g. an upsert cannot touch one row twice). */
  key: (item: Item) => string;
}

/**
 * Group commit: a busy server writes many small items together, in one statement and one
 * transaction, instead of one commit each. An item never waits for a timer: with fewer than
 * `maxInFlight` writes running it is written at once, alone; only while the database is busy do
 * items queue, and the next free write takes all of them (up to `maxBatch`). Each caller still
 * gets its answer only after its item is committed.
 *
 * `write` returns one result per item, in order. If a write of several items fails (a deadlock
 * with another write, a constraint one item breaks), each item is written again on its own, so
 * that one item's trouble fails no other.
 */
export class GroupCommit<Item, Result> {
  readonly #queue: Waiting<Item, Result>[] = [];
  #inFlight = 0;

  constructor(
    private readonly write: (items: Item[]) => Promise<Result[]>,
    private readonly options: GroupCommitOptions<Item>,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, key: this.options.key(item), resolve, reject });
      this.#startWrites();
    });
  }

  #startWrites(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#queue.length > 0) {
      const batch = this.#takeBatch();
      this.#inFlight++;
      void this.#writeBatch(batch).finally(() => {
        this.#inFlight--;
        this.#startWrites();
      });
    }
  }

  /** The oldest items, up to maxBatch, one per key; the others keep their place in the queue. */
  #takeBatch(): Waiting<Item, Result>[] {
    const batch: Waiting<Item, Result>[] = [];
    const keys = new Set<string>();
    let kept = 0;
    for (const waiting of this.#queue) {
      if (batch.length < this.options.maxBatch && !keys.has(waiting.key)) {
        keys.add(waiting.key);
        batch.push(waiting);
      } else {
        this.#queue[kept++] = waiting;
      }
    }
    this.#queue.length = kept;
    return batch;
  }

  async #writeBatch(batch: Waiting<Item, Result>[]): Promise<void> {
    let results: Result[];
    try {
      results = await this.write(batch.map((waiting) => waiting.item));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      await Promise.all(batch.map((waiting) => this.#writeBatch([waiting])));
      return;
    }
    for (const [index, waiting] of batch.entries()) waiting.resolve(results[index]!);
  }
}
