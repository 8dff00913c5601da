// The receive loop of a netlink socket, on its own worker thread so the main event loop never
// waits in the kernel. It sleeps in poll() on [netlink fd, eventfd] with no timeout (no timers
// when idle), drains the socket with recvmsg(MSG_DONTWAIT) until EAGAIN, and posts the datagrams
// to the main thread in batches (one ArrayBuffer transferred per batch, in kernel order).
// Writing the eventfd (close() or the process 'exit' hook) ends the loop, and the thread with it.
import { parentPort, workerData } from 'node:worker_threads';
import { EAGAIN, EBADF, EINTR, ENOBUFS, MSG_DONTWAIT, MSG_TRUNC } from './constants.js';
import {
  IOVEC_OFFSETS,
  IOVEC_SIZE,
  MSGHDR_OFFSETS,
  MSGHDR_SIZE,
  POINTER_SIZE,
  POLLFD_SIZE,
  POLLIN,
  POLLNVAL,
  SOCKADDR_NL_SIZE,
  allocNative,
  freeNative,
  lastErrno,
  libc,
  writeWord,
} from './libc.js';
import {
  ENTRY_DATAGRAM,
  ENTRY_OVERRUN,
  ENTRY_WORDS,
  type ReceiveWorkerData,
  type ReceiveWorkerMessage,
} from './receive-protocol.js';

/** Under load, wait this long for more datagrams before posting a batch ... */
const LINGER_MS = 1;
/** ... at most this many times in a row (so a batch is never held back much longer). */
const LINGER_ROUNDS = 4;
/**
 * "Under load" means a burst: more than BURST_DATAGRAMS datagrams with no pause longer than
 * BURST_GAP_MS between wake-ups. A lone change (a link's message, its peer's) is posted at once.
 */
const BURST_DATAGRAMS = 16;
const BURST_GAP_MS = 5;

function run(port: NonNullable<typeof parentPort>, data: ReceiveWorkerData): void {
  const { fd, eventFd, datagramBytes, maxBatchDatagrams } = data;
  const maxBatchBytes = Math.max(data.maxBatchBytes, datagramBytes);

  // Native memory, set up once: the staging buffer datagrams are received into (back to back,
  // so a batch is copied out once rather than each datagram), the sender's sockaddr_nl, the
  // iovec, the msghdr pointing at them, and the two pollfds. Per call the loop only points the
  // iovec at the free part of the staging buffer and resets msg_namelen.
  const staging = allocNative(maxBatchBytes);
  const sender = allocNative(SOCKADDR_NL_SIZE);
  const iov = allocNative(IOVEC_SIZE);
  const msg = allocNative(MSGHDR_SIZE);
  const pollfds = allocNative(POLLFD_SIZE * 2);
  const wakeOnly = allocNative(POLLFD_SIZE);
  writeWord(iov.view, IOVEC_OFFSETS.base, staging.address);
  writeWord(iov.view, IOVEC_OFFSETS.len, BigInt(datagramBytes));
  const setBase = baseSetter(iov.view, staging.address);
  writeWord(msg.view, MSGHDR_OFFSETS.name, sender.address);
  writeWord(msg.view, MSGHDR_OFFSETS.iov, iov.address);
  writeWord(msg.view, MSGHDR_OFFSETS.iovlen, 1n);
  // Host-order views on the fields read or written per call.
  const msgWords = new Int32Array(msg.view.buffer, msg.view.byteOffset, MSGHDR_SIZE >> 2);
  const namelenIndex = MSGHDR_OFFSETS.namelen >> 2;
  const flagsIndex = MSGHDR_OFFSETS.flags >> 2;
  const senderPid = new Uint32Array(sender.view.buffer, sender.view.byteOffset + 4, 1);
  const pollInts = new Int32Array(pollfds.view.buffer, pollfds.view.byteOffset, 4);
  const pollShorts = new Int16Array(pollfds.view.buffer, pollfds.view.byteOffset, 8);
  pollInts[0] = fd;
  pollShorts[2] = POLLIN; // events of pollfd 0
  pollInts[2] = eventFd;
  pollShorts[6] = POLLIN; // events of pollfd 1
  new Int32Array(wakeOnly.view.buffer, wakeOnly.view.byteOffset, 1)[0] = eventFd;
  new Int16Array(wakeOnly.view.buffer, wakeOnly.view.byteOffset, 4)[2] = POLLIN;

  // The batch being filled: bytes in the staging buffer, entries in a reused array.
  const entries = new Uint32Array(maxBatchDatagrams * ENTRY_WORDS);
  let used = 0;
  let count = 0;

  const flush = (): void => {
    if (count === 0) return;
    const bytes = new ArrayBuffer(used);
    new Uint8Array(bytes).set(staging.view.subarray(0, used));
    const batch = entries.slice(0, count * ENTRY_WORDS);
    const message: ReceiveWorkerMessage = { type: 'batch', bytes, entries: batch };
    port.postMessage(message, [bytes, batch.buffer]);
    used = 0;
    count = 0;
  };

  /** Records the datagram just received at staging[used] (or an overrun, length 0). */
  const push = (kind: number, length: number, pid: number, truncated: boolean): void => {
    const at = count * ENTRY_WORDS;
    entries[at] = kind;
    entries[at + 1] = used;
    entries[at + 2] = length;
    entries[at + 3] = pid;
    entries[at + 4] = truncated ? 1 : 0;
    used += length;
    count += 1;
  };

  const fail = (operation: 'poll' | 'recvmsg', errno: number): void => {
    flush();
    const message: ReceiveWorkerMessage = { type: 'error', operation, errno };
    port.postMessage(message);
  };

  /** Reads until EAGAIN into the batch. Returns how many entries it added, or -1 to stop. */
  const drain = (): number => {
    let added = 0;
    for (;;) {
      // Room for one more entry and one more whole datagram, else post what is staged first.
      if (count === maxBatchDatagrams || maxBatchBytes - used < datagramBytes) flush();
      setBase(used);
      msgWords[namelenIndex] = SOCKADDR_NL_SIZE;
      const n = libc.recvmsg(fd, msg.pointer, MSG_DONTWAIT);
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) return added;
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          push(ENTRY_OVERRUN, 0, 0, false);
          added += 1;
          continue;
        }
        fail('recvmsg', errno);
        return -1;
      }
      const truncated = ((msgWords[flagsIndex] ?? 0) & MSG_TRUNC) !== 0;
      push(ENTRY_DATAGRAM, Math.min(n, datagramBytes), senderPid[0] ?? 0, truncated);
      added += 1;
    }
  };

  /** Sleeps up to `ms` unless the eventfd is written. Returns false when it was (stop). */
  const linger = (ms: number): boolean => {
    for (;;) {
      const ready = libc.poll(wakeOnly.pointer, 1, ms);
      if (ready >= 0) return ready === 0;
      if (lastErrno() !== EINTR) return true; // cannot sleep: go on without lingering
    }
  };

  let burst = 0;
  let lastWake = -Infinity;
  const loop = (): void => {
    for (;;) {
      const ready = libc.poll(pollfds.pointer, 2, -1);
      if (ready < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        fail('poll', errno);
        return;
      }
      if ((pollShorts[7] ?? 0) !== 0) return; // eventfd written: stop
      const revents = pollShorts[3] ?? 0;
      if ((revents & POLLNVAL) !== 0) {
        fail('poll', EBADF);
        return;
      }
      if (revents === 0) continue;
      // POLLIN, or POLLERR (a pending ENOBUFS, which recvmsg reports): drain either way. In a
      // burst, while the socket keeps delivering, linger a little before posting so that a storm
      // goes out in fewer, larger batches (fewer wake-ups on both threads); a lone change and an
      // idle socket wait for nothing.
      const now = performance.now();
      if (now - lastWake > BURST_GAP_MS) burst = 0;
      lastWake = now;
      let added = drain();
      burst += Math.max(0, added);
      for (let round = 0; added > 0 && burst > BURST_DATAGRAMS && round < LINGER_ROUNDS; round++) {
        if (!linger(LINGER_MS)) return;
        added = drain();
        burst += Math.max(0, added);
      }
      if (added < 0) return;
      lastWake = performance.now();
      flush();
    }
  };

  try {
    loop();
  } finally {
    for (const block of [staging, sender, iov, msg, pollfds, wakeOnly]) freeNative(block);
  }
}

/** Returns a function that points iov_base at base + offset (host order, pointer sized). */
function baseSetter(iov: Buffer, base: bigint): (offset: number) => void {
  const at = iov.byteOffset + IOVEC_OFFSETS.base;
  if (POINTER_SIZE === 8) {
    const word = new BigUint64Array(iov.buffer, at, 1);
    return (offset) => {
      word[0] = base + BigInt(offset);
    };
  }
  const word = new Uint32Array(iov.buffer, at, 1);
  const low = Number(base);
  return (offset) => {
    word[0] = low + offset;
  };
}

if (parentPort !== null) {
  run(parentPort, workerData as ReceiveWorkerData);
}
