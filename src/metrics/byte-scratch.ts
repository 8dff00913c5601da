// Where a piece of the exposition is written before it gets a buffer of its own: lines go into
// bytes as they come, a few kilobytes at a time, so rendering leaves only short-lived strings
// behind (a whole piece accumulated as a string kept large ropes alive across minor GCs, and V8
// grew the young generation for them: docs/design.md, Measured trade-offs), and Buffer#write,
// which costs the same for a line as for a few kilobytes, runs once per batch of lines.

const EMPTY = Buffer.alloc(0);

/** Text collected before it is written into the buffer, in UTF-16 code units. */
const BATCH = 4096;

export class ByteScratch {
  #buf = Buffer.allocUnsafeSlow(16 * 1024);
  #used = 0;
  #pending = '';

  write(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= BATCH) this.#flush();
  }

  #flush(): void {
    const text = this.#pending;
    if (text === '') return;
    this.#pending = '';
    if (this.#buf.length - this.#used < text.length * 3) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#used + text.length * 3));
      this.#buf.copy(bigger, 0, 0, this.#used);
      this.#buf = bigger;
    }
    this.#used += this.#buf.write(text, this.#used);
  }

  /** Bytes written since the last take (what was written so far is flushed first). */
  get length(): number {
    this.#flush();
    return this.#used;
  }

  /**
   * The bytes written since the last take, in a buffer of exactly their size (one shared empty
   * buffer when nothing was written); the scratch is emptied.
   */
  take(): Buffer {
    this.#flush();
    if (this.#used === 0) return EMPTY;
    // Memory of its own (not Buffer.from, whose copies under 4 KiB share an 8 KiB pool slab
    // that one long-lived piece would keep alive with every dead piece beside it).
    const piece = Buffer.allocUnsafeSlow(this.#used);
    this.#buf.copy(piece, 0, 0, this.#used);
    this.#used = 0;
    return piece;
  }
}
