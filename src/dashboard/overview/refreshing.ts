/**
 * A value that is expensive to read (a SCAN of the cache, doctor's checks, queue discovery) kept for
 * `maxAgeMs` and refreshed in the background once older: a request never waits for it except the very
 * first one. A failed read keeps the last good value and reports the error beside it.
 */
export class Refreshing<T> {
  private value: T | undefined;
  private at: number | undefined;
  private error: string | null = null;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly describeError: (e: unknown) => string = (e) => String((e as Error)?.message ?? e),
  ) {}

  async get(now = Date.now()): Promise<{ value: T | undefined; at: number | undefined; error: string | null }> {
    if (this.at === undefined && this.error === null) await this.refresh();
    else if (this.at === undefined || now - this.at >= this.maxAgeMs) void this.refresh();
    return { value: this.value, at: this.at, error: this.error };
  }

  /** Forgets the age, so the next get() reads again (after an action changed what it shows). */
  invalidate(): void {
    if (this.at !== undefined) this.at = 0;
  }

  /** Waits for a read in progress (close() must not leave one running). */
  async settle(): Promise<void> {
    await this.loading;
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load().then(
      (v) => {
        this.value = v;
        this.at = Date.now();
        this.error = null;
        this.loading = undefined;
      },
      (e: unknown) => {
        this.error = this.describeError(e);
        // Try again at the next request, not in a loop.
        this.at = this.value === undefined ? undefined : Date.now();
        this.loading = undefined;
      },
    );
    return this.loading;
  }
}
