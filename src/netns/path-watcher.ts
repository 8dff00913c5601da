// inotify (fs.watch) on each --collector.netns.paths directory that exists, telling the discovery
// when a file under one appears or goes, debounced. /run/netns often appears only with the first
// `ip netns add`, /run/docker/netns when Docker starts, and a directory can be replaced: every
// DIRECTORY_CHECK_MS the directories are looked at again, and one that is new or not the one
// watched is watched (and reported as changed) anew.

import type { FSWatcher } from 'node:fs';
import { fs } from '../runtime/builtins.js';
import type { Clock, ClockTimer } from '../runtime/clock.js';

const { statSync, watch } = fs;

const WATCH_DEBOUNCE_MS = 10;
/** How often path directories that do not exist (yet), or were replaced, are looked for. */
const DIRECTORY_CHECK_MS = 1_000;

export class PathWatcher {
  readonly #paths: readonly string[];
  readonly #clock: Clock;
  readonly #onChange: () => void;
  /** inotify on each path directory, and the directory's inode when it was set up */
  readonly #watchers = new Map<string, { readonly watcher: FSWatcher; readonly ino: number }>();
  #dirTimer: ClockTimer | undefined;
  #debounceTimer: ClockTimer | undefined;
  #closed = false;

  /** `onChange`: something under the paths changed (called at most once per debounce interval). */
  constructor(paths: readonly string[], clock: Clock, onChange: () => void) {
    this.#paths = paths;
    this.#clock = clock;
    this.#onChange = onChange;
  }

  /**
   * Watches each path directory that exists and is not watched yet (or was replaced), and keeps
   * looking every DIRECTORY_CHECK_MS. Returns whether a watch was set up.
   */
  check(): boolean {
    let added = false;
    for (const dir of this.#paths) {
      let ino: number;
      try {
        const stats = statSync(dir);
        if (!stats.isDirectory()) throw new Error('not a directory');
        ino = stats.ino;
      } catch {
        const stale = this.#watchers.get(dir);
        stale?.watcher.close();
        this.#watchers.delete(dir);
        continue; // absent for now
      }
      const current = this.#watchers.get(dir);
      if (current !== undefined && current.ino === ino) continue;
      current?.watcher.close();
      this.#watchers.delete(dir);
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#changed());
        watcher.on('error', () => {
          watcher.close();
          if (this.#watchers.get(dir)?.watcher === watcher) this.#watchers.delete(dir);
          this.#changed();
        });
        this.#watchers.set(dir, { watcher, ino });
        added = true;
      } catch {
        // gone again: the next check looks once more
      }
    }
    // Looked at again every DIRECTORY_CHECK_MS: the timer is set anew by the check itself.
    if (this.#dirTimer === undefined && !this.#closed) {
      this.#dirTimer = this.#clock.setTimeout(() => {
        this.#dirTimer = undefined;
        if (this.check()) this.#changed();
      }, DIRECTORY_CHECK_MS);
      this.#dirTimer.unref();
    }
    return added;
  }

  close(): void {
    this.#closed = true;
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#clock.clearTimeout(this.#dirTimer);
    this.#clock.clearTimeout(this.#debounceTimer);
  }

  #changed(): void {
    if (this.#closed || this.#debounceTimer !== undefined) return;
    this.#debounceTimer = this.#clock.setTimeout(() => {
      this.#debounceTimer = undefined;
      this.#onChange();
    }, WATCH_DEBOUNCE_MS);
    this.#debounceTimer.unref();
  }
}
