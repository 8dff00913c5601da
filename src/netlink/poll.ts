// Readiness of the process's sockets (netlink, LLDP packet socket) from libuv poll handles on the
// default loop. koffi callbacks are a limited resource, so every polled socket shares one poll
// callback and one close callback, told apart by the address of its handle.
import { EBADF } from './constants.js';
import { UV_POLL, UV_READABLE, allocNative, freeNative, libc, registerUvCallbacks, uv, type NativeBlock } from './libc.js';

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

/**
 * A non-blocking socket read in bounded rounds when its unref'd poll handle reports it readable
 * (the netlink socket, the LLDP packet socket): the handle's life, the scheduling of rounds and the
 * close, once. A subclass reads in `round()` and calls `afterReceive` with how that went.
 */
export abstract class PolledSocket implements PollTarget {
  protected handle: NativeBlock | undefined;
  protected closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private fdOpen = true;
  /** The handle is polling (libuv stops it by itself when the fd reports POLLERR). */
  private polling = false;
  private roundScheduled = false;

  constructor(protected readonly fd: number) {}

  /** One bounded round of reads. */
  protected abstract round(): void;
  /** Frees what the subclass holds for reading; the fd is closed after. */
  protected abstract freeReader(): void;

  /**
   * Starts the poll handle (unref'd: an idle exporter may exit). Returns 0, or the negative libuv
   * status of the call that failed (`which`), for the subclass's own error.
   */
  protected startPolling(): { status: number; which?: 'uv_poll_init' | 'uv_poll_start' } {
    const handle = allocNative(uv.handleSize(UV_POLL));
    const status = uv.pollInit(uv.defaultLoop(), handle.pointer, this.fd);
    if (status < 0) {
      freeNative(handle);
      return { status, which: 'uv_poll_init' };
    }
    this.handle = handle;
    polled.set(handle.address, this);
    uv.unref(handle.pointer);
    const started = uv.pollStart(handle.pointer, UV_READABLE, uvCallbacks().poll);
    if (started < 0) return { status: started, which: 'uv_poll_start' };
    this.polling = true;
    return { status: 0 };
  }

  /**
   * The poll callback. It runs inside libuv's poll phase, outside any Node callback scope (Node
   * would not run the promise jobs and nextTicks it queued), so it only schedules the round, as an
   * immediate of the same loop iteration. The poll is level-triggered: data left after a bounded
   * round makes libuv call again on the next iteration.
   */
  onReadable(status: number): void {
    if (status < 0) this.polling = false; // libuv reported POLLERR and stopped the handle
    this.scheduleRound();
  }

  /** Schedules a round unless one is or the socket closes; true if this call scheduled it. */
  protected scheduleRound(): boolean {
    if (this.roundScheduled || this.closing !== undefined) return false;
    this.roundScheduled = true;
    setImmediate(this.runRound);
    return true;
  }

  private readonly runRound = (): void => {
    this.roundScheduled = false;
    if (this.closing === undefined) this.round();
  };

  /**
   * After a receive: a failure stops the poll (a bad fd is forgotten: its number may be someone
   * else's by now); a success restarts a poll libuv stopped. Returns the negative libuv status of a
   * failed restart, else 0.
   */
  protected afterReceive(failedErrno: number | undefined): number {
    const handle = this.handle;
    if (failedErrno !== undefined) {
      if (handle !== undefined && this.polling) uv.pollStop(handle.pointer);
      this.polling = false;
      if (failedErrno === EBADF) this.fdOpen = false;
      return 0;
    }
    if (this.polling || handle === undefined) return 0;
    const restarted = uv.pollStart(handle.pointer, UV_READABLE, uvCallbacks().poll);
    if (restarted >= 0) this.polling = true;
    return restarted < 0 ? restarted : 0;
  }

  /** Stops receiving and closes the fd; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private shutdown(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) {
      this.finish();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
      // uv_close stops the poll at once; the memory of the handle is freed in its close callback.
      uv.close(handle.pointer, uvCallbacks().close);
    });
  }

  /** The close callback: like the poll callback, outside any Node callback scope. */
  onHandleClosed(): void {
    if (this.handle !== undefined) freeNative(this.handle);
    this.handle = undefined;
    this.finish();
    const resolve = this.resolveClosed;
    if (resolve !== undefined) setImmediate(resolve);
  }

  private finish(): void {
    this.freeReader();
    if (this.fdOpen) libc.close(this.fd);
    this.fdOpen = false;
  }
}
