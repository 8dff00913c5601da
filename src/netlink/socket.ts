// The rtnetlink socket: the exporter's only edge to the kernel. It opens and binds the socket on
// the calling thread, sends requests synchronously (a sendto on a netlink socket never waits for
// the peer), and receives on a dedicated worker thread (receive-worker.ts) that sleeps in poll()
// and hands datagrams back in batches. The worker is unref'd and woken through an eventfd on
// close() and at process exit, so the exporter never hangs in the kernel at shutdown.
import { Worker } from 'node:worker_threads';
import { NetlinkSocketError, type NetlinkSocketOperation } from '../errors.js';
import {
  AF_NETLINK,
  EBADF,
  EINTR,
  EPERM,
  NETLINK_ROUTE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
} from './constants.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, SOCKADDR_NL_SIZE, lastErrno, libc } from './libc.js';
import {
  ENTRY_DATAGRAM,
  ENTRY_WORDS,
  type ReceiveWorkerData,
  type ReceiveWorkerMessage,
} from './receive-protocol.js';

export type ReceiveEvent =
  | { kind: 'datagram'; data: Buffer; senderPid: number; truncated: boolean }
  /** recvmsg failed with ENOBUFS: messages were lost. */
  | { kind: 'overrun' }
  /** Any other failure; the loop stops. */
  | { kind: 'error'; error: NetlinkSocketError };

export interface NetlinkSocket {
  readonly portId: number;
  /** What the kernel granted (getsockopt SO_RCVBUF: the kernel doubles the request for overhead). */
  readonly receiveBufferBytes: number;
  readonly receiveBufferMode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF';
  /** sendto the kernel (nl_pid 0); throws NetlinkSocketError. */
  send(bytes: Buffer): void;
  /** Begin receiving; events in kernel order. Call once. */
  start(onEvents: (events: ReceiveEvent[]) => void): void;
  /** Stop receiving, release the thread, close the fds; idempotent. */
  close(): Promise<void>;
}

export interface OpenLinkSocketOptions {
  /** Receive buffer to ask for, in bytes (the kernel grants twice this, within its limits). */
  readonly receiveBufferBytes: number;
  /** Multicast groups as the legacy nl_groups bitmask, e.g. RTMGRP_LINK. */
  readonly groups: number;
  /** Bytes per recvmsg (default 64 KiB; dump datagrams are at most 32 KiB). */
  readonly datagramBytes?: number;
}

/** recvmsg buffer: kernel dump datagrams are capped at 32 KiB; twice that leaves room. */
const DEFAULT_DATAGRAM_BYTES = 64 * 1024;
const MAX_BATCH_DATAGRAMS = 256;
const MAX_BATCH_BYTES = 1024 * 1024;

/** Opens an AF_NETLINK/NETLINK_ROUTE socket bound to `groups`. Throws NetlinkSocketError. */
export function openLinkSocket(opts: OpenLinkSocketOptions): NetlinkSocket {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw socketError('socket', lastErrno());
  try {
    const { mode, granted } = setReceiveBuffer(fd, opts.receiveBufferBytes);
    const address = encodeSockaddrNl(0, opts.groups);
    if (libc.bind(fd, address, SOCKADDR_NL_SIZE) < 0) throw socketError('bind', lastErrno());
    const portId = readPortId(fd);
    return new LinkSocket(fd, portId, granted, mode, opts.datagramBytes ?? DEFAULT_DATAGRAM_BYTES);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
}

function socketError(operation: NetlinkSocketOperation, errno: number, detail?: string): NetlinkSocketError {
  return new NetlinkSocketError(operation, errno, detail === undefined ? {} : { detail });
}

function setReceiveBuffer(fd: number, bytes: number): { mode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF'; granted: number } {
  const native = asBuffer(new Int32Array([Math.min(Math.max(0, Math.floor(bytes)), 0x3fffffff)]));
  let mode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF' = 'SO_RCVBUFFORCE';
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, native, 4) < 0) {
    const errno = lastErrno();
    if (errno !== EPERM) throw socketError('setsockopt', errno, 'SO_RCVBUFFORCE');
    mode = 'SO_RCVBUF';
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, native, 4) < 0) {
      throw socketError('setsockopt', lastErrno(), 'SO_RCVBUF');
    }
  }
  const granted = new Int32Array(1);
  const length = new Uint32Array([4]);
  if (libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, asBuffer(granted), asBuffer(length)) < 0) {
    throw socketError('getsockopt', lastErrno(), 'SO_RCVBUF');
  }
  return { mode, granted: granted[0] ?? 0 };
}

function readPortId(fd: number): number {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  const length = new Uint32Array([SOCKADDR_NL_SIZE]);
  if (libc.getsockname(fd, address, asBuffer(length)) < 0) throw socketError('getsockname', lastErrno());
  return new Uint32Array(address.buffer, address.byteOffset, 3)[1] ?? 0;
}

/** struct sockaddr_nl in host byte order. */
function encodeSockaddrNl(pid: number, groups: number): Buffer {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  new Uint16Array(address.buffer, address.byteOffset, 1)[0] = AF_NETLINK;
  const words = new Uint32Array(address.buffer, address.byteOffset, 3);
  words[1] = pid >>> 0;
  words[2] = groups >>> 0;
  return address;
}

function asBuffer(array: Int32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

class LinkSocket implements NetlinkSocket {
  private readonly kernelAddress = encodeSockaddrNl(0, 0);
  private eventFd = -1;
  private worker: Worker | undefined;
  private workerExited: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private stopped = false;
  /**
   * False once the worker found the fd closed underneath it (EBADF): the number may already name
   * someone else's file by the time we shut down, so it must not be closed again.
   */
  private ownsFd = true;
  private readonly wakeOnExit = (): void => this.wake();

  constructor(
    private readonly fd: number,
    readonly portId: number,
    readonly receiveBufferBytes: number,
    readonly receiveBufferMode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF',
    private readonly datagramBytes: number,
  ) {}

  send(bytes: Buffer): void {
    if (this.closing !== undefined) throw socketError('sendto', EBADF, 'socket closed');
    for (;;) {
      const sent = libc.sendto(this.fd, bytes, bytes.length, 0, this.kernelAddress, SOCKADDR_NL_SIZE);
      if (sent >= 0) return;
      const errno = lastErrno();
      if (errno !== EINTR) throw socketError('sendto', errno);
    }
  }

  start(onEvents: (events: ReceiveEvent[]) => void): void {
    if (this.closing !== undefined) throw socketError('poll', EBADF, 'socket closed');
    if (this.worker !== undefined) throw new Error('NetlinkSocket.start() called twice');
    const eventFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventFd < 0) throw socketError('eventfd', lastErrno());
    this.eventFd = eventFd;
    const workerData: ReceiveWorkerData = {
      fd: this.fd,
      eventFd,
      datagramBytes: this.datagramBytes,
      maxBatchDatagrams: MAX_BATCH_DATAGRAMS,
      maxBatchBytes: MAX_BATCH_BYTES,
    };
    // The parent's node flags are inherited, minus those a worker refuses; execArgv is passed only
    // when something was dropped, because an explicit list is checked more strictly and rejects
    // V8 flags such as --max-semi-space-size (ERR_WORKER_INVALID_EXEC_ARGV), which inheritance allows.
    const execArgv = workerExecArgv(process.execArgv);
    const worker = new Worker(new URL('./receive-worker.js', import.meta.url), {
      workerData,
      ...(execArgv.length === process.execArgv.length ? {} : { execArgv }),
      // The loop allocates a few small objects per batch (the bytes are external): a 1 MiB young
      // generation is plenty, where V8's default grows to 32 MiB (resident) under a storm.
      resourceLimits: { maxYoungGenerationSizeMb: 1 },
    });
    this.worker = worker;
    // Node joins worker threads at exit; the 'exit' hook wakes ours out of poll() first.
    process.on('exit', this.wakeOnExit);
    this.workerExited = new Promise((resolve) => worker.once('exit', () => resolve()));

    worker.on('message', (message: ReceiveWorkerMessage) => {
      if (this.stopped) return;
      if (message.type === 'error') {
        this.stopped = true;
        if (message.errno === EBADF) this.ownsFd = false;
        onEvents([{ kind: 'error', error: socketError(message.operation, message.errno) }]);
        return;
      }
      onEvents(decodeBatch(message.bytes, message.entries));
    });
    worker.on('error', (cause) => {
      if (this.stopped) return;
      this.stopped = true;
      const error = new NetlinkSocketError('poll', 0, { cause, detail: 'receive worker failed' });
      onEvents([{ kind: 'error', error }]);
    });
    worker.on('exit', (code) => {
      if (this.stopped || this.closing !== undefined) return;
      this.stopped = true;
      const error = new NetlinkSocketError('poll', 0, { detail: `receive worker exited with code ${code}` });
      onEvents([{ kind: 'error', error }]);
    });
    worker.unref(); // after the listeners: an idle exporter may exit
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    if (worker !== undefined) {
      worker.ref(); // keep the loop alive until the thread is gone, so `await close()` settles
      this.wake();
      await this.workerExited;
      process.off('exit', this.wakeOnExit);
    }
    if (this.eventFd >= 0) libc.close(this.eventFd);
    this.eventFd = -1;
    if (this.ownsFd) libc.close(this.fd);
  }

  private wake(): void {
    if (this.eventFd < 0) return;
    const one = Buffer.from(new BigUint64Array([1n]).buffer);
    libc.write(this.eventFd, one, 8);
  }
}

/**
 * The parent's node flags minus those that describe its own entry point (`-e CODE`,
 * `--input-type`), which a worker loaded from a file refuses (ERR_INPUT_TYPE_NOT_ALLOWED).
 */
function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] ?? '';
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print' || arg === '--input-type') {
      i += 1; // and its value
    } else if (!arg.startsWith('--input-type=') && !arg.startsWith('--eval=') && !arg.startsWith('--print=')) {
      kept.push(arg);
    }
  }
  return kept;
}

function decodeBatch(bytes: ArrayBuffer, entries: Uint32Array): ReceiveEvent[] {
  const events: ReceiveEvent[] = [];
  for (let at = 0; at + ENTRY_WORDS <= entries.length; at += ENTRY_WORDS) {
    if (entries[at] === ENTRY_DATAGRAM) {
      events.push({
        kind: 'datagram',
        data: Buffer.from(bytes, entries[at + 1] ?? 0, entries[at + 2] ?? 0),
        senderPid: entries[at + 3] ?? 0,
        truncated: entries[at + 4] === 1,
      });
    } else {
      events.push({ kind: 'overrun' });
    }
  }
  return events;
}
