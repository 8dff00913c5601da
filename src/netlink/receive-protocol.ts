// What crosses the thread boundary between socket.ts and receive-worker.ts.

/** workerData of the receive worker. */
export interface ReceiveWorkerData {
  readonly fd: number;
  readonly eventFd: number;
  /** Bytes per recvmsg; a longer datagram arrives cut short and flagged truncated. */
  readonly datagramBytes: number;
  readonly maxBatchDatagrams: number;
  readonly maxBatchBytes: number;
}

export const ENTRY_DATAGRAM = 0;
export const ENTRY_OVERRUN = 1;
/** Each entry of a batch is ENTRY_WORDS u32s: kind, offset in `bytes`, length, sender nl_pid, truncated. */
export const ENTRY_WORDS = 5;

/** What the worker posts to the main thread. */
export type ReceiveWorkerMessage =
  | { readonly type: 'batch'; readonly bytes: ArrayBuffer; readonly entries: Uint32Array }
  | { readonly type: 'error'; readonly operation: 'poll' | 'recvmsg'; readonly errno: number };
