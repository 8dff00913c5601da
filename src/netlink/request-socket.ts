// Requests answered at once (the namespace discovery's nsid requests): a NETLINK_ROUTE socket of
// its own, bound to no group and never polled. The kernel answers a rtnetlink request while
// sendto runs, so request() sends and reads the answer without waiting.

import { NetlinkSocketError } from './errors.js';
import { AF_NETLINK, EAGAIN, EBADF, EINTR, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, SOCK_CLOEXEC, SOCK_RAW } from './constants.js';
import { SOCKADDR_NL_SIZE, encodeSockaddrNl, lastErrno, libc } from './libc.js';
import { decodeMessages } from './message.js';
import { DEFAULT_DATAGRAM_BYTES, Receiver } from './receiver.js';
import type { NetlinkMessage } from './types.js';

export interface RequestSocket {
  /**
   * Sends one request (its nlmsg_seq must be `seq`) and returns every message that answers it, in
   * order, up to and including the NLMSG_DONE of a dump or the NLMSG_ERROR (error or ACK) that
   * ends any other request (send those with NLM_F_ACK). The kernel answers a rtnetlink request
   * while sendto runs and fills in a dump's next part while recvmsg runs, so nothing here waits:
   * an answer that is not there when asked for is a failure (NetlinkSocketError 'recvmsg').
   */
  request(bytes: Buffer, seq: number): NetlinkMessage[];
  close(): void;
}

/** A request's answers are few datagrams: four slots (256 KiB) are enough. */
const REQUEST_SLOTS = 4;

/** The longest answer request() collects: a guard against a kernel that never says DONE. */
const MAX_REQUEST_DATAGRAMS = 4096;

/** Opens a NETLINK_ROUTE socket bound to no group, for request(). Throws NetlinkSocketError. */
export function openRequestSocket(): RequestSocket {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new NetlinkSocketError('socket', lastErrno());
  let receiver: Receiver | undefined;
  try {
    if (libc.bind(fd, encodeSockaddrNl(0, 0), SOCKADDR_NL_SIZE) < 0) throw new NetlinkSocketError('bind', lastErrno());
    receiver = new Receiver(fd, DEFAULT_DATAGRAM_BYTES, false, REQUEST_SLOTS);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  const kernel = encodeSockaddrNl(0, 0);
  let open = true;
  const rx = receiver;
  return {
    request(bytes, seq) {
      if (!open) throw new NetlinkSocketError('sendto', EBADF, { detail: 'socket closed' });
      for (;;) {
        if (libc.sendto(fd, bytes, bytes.length, 0, kernel, SOCKADDR_NL_SIZE) >= 0) break;
        const errno = lastErrno();
        if (errno !== EINTR) throw new NetlinkSocketError('sendto', errno);
      }
      const answer: NetlinkMessage[] = [];
      for (let datagrams = 0; datagrams < MAX_REQUEST_DATAGRAMS; ) {
        const events = rx.round();
        for (const event of events) {
          if (event.kind === 'overrun') continue;
          if (event.kind === 'error') throw event.error;
          datagrams++;
          if (event.senderPid !== 0 || event.truncated) continue;
          // Copied: the receiver's buffer is reused by its next round.
          for (const msg of decodeMessages(Buffer.from(event.data))) {
            if (msg.seq !== seq) continue;
            answer.push(msg);
            if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) return answer;
          }
        }
        if (rx.drained) throw new NetlinkSocketError('recvmsg', EAGAIN, { detail: 'no answer to the request' });
      }
      throw new NetlinkSocketError('recvmsg', EAGAIN, { detail: 'answer without an end' });
    },
    close() {
      if (!open) return;
      open = false;
      rx.free();
      libc.close(fd);
    },
  };
}
