// Readiness of the process's sockets (netlink, LLDP packet socket) from libuv poll handles on the
// default loop. koffi callbacks are a limited resource, so every polled socket shares one poll
// callback and one close callback, told apart by the address of its handle.
import { registerUvCallbacks } from './libc.js';

/** What a polled socket is told: its fd's readiness, and that its handle was closed. */
export interface PollTarget {
  /** From libuv's poll phase, outside any Node callback scope: schedule work, do not do it here. */
  onReadable(status: number): void;
  /** The handle's close callback ran (same caveat): its memory may be freed now. */
  onHandleClosed(): void;
}

/** Sockets with a live poll handle, by the handle's address. */
export const polled = new Map<bigint, PollTarget>();
let callbacks: { poll: unknown; close: unknown } | undefined;

/** The process's one poll callback and one close callback, registered on first use. */
export function uvCallbacks(): { poll: unknown; close: unknown } {
  callbacks ??= registerUvCallbacks(
    (handle, status) => polled.get(handle)?.onReadable(status),
    (handle) => {
      const target = polled.get(handle);
      polled.delete(handle);
      target?.onHandleClosed();
    },
  );
  return callbacks;
}
