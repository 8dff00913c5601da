// Lines from a process, handed to whoever waits for a matching one.

export class LineFeed {
  readonly #waiters: Array<(line: string) => boolean> = [];

  /** Feed a line: the first waiter that matches it takes it. */
  push(line: string): void {
    const i = this.#waiters.findIndex((w) => w(line));
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** The next line (pushed after this call) that matches; rejects after timeoutMs. */
  next(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let waiter: ((line: string) => boolean) | undefined = undefined;
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter as (line: string) => boolean);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error('no matching line in time'));
      }, timeoutMs);
      waiter = (line) => {
        if (!match(line)) return false;
        clearTimeout(timer);
        resolve(line);
        return true;
      };
      this.#waiters.push(waiter);
    });
  }
}
