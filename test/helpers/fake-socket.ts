// A NetlinkSocket that records what the monitor sends and lets a test play the kernel.
import type { NetlinkSocket, ReceiveEvent } from '../../src/netlink/socket.js';

export class FakeSocket implements NetlinkSocket {
  readonly portId: number;
  readonly receiveBufferBytes = 16 * 1024 * 1024;
  readonly receiveBufferMode = 'SO_RCVBUFFORCE' as const;
  readonly sent: Buffer[] = [];
  closed = false;
  #onEvents: ((events: ReceiveEvent[], drained: boolean) => void) | undefined;

  constructor(portId = 4242) {
    this.portId = portId;
  }

  send(bytes: Buffer): void {
    this.sent.push(Buffer.from(bytes));
  }

  readonly memberships: number[] = [];

  addMembership(group: number): void {
    this.memberships.push(group);
  }

  start(onEvents: (events: ReceiveEvent[], drained: boolean) => void): void {
    this.#onEvents = onEvents;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Delivers events as the socket would, after which it found itself empty (EAGAIN). */
  deliver(...events: ReceiveEvent[]): void {
    this.deliverBatch(events, true);
  }

  /** Delivers events; `drained` false as when the round filled up before the socket was empty. */
  deliverBatch(events: ReceiveEvent[], drained: boolean): void {
    if (!this.#onEvents) throw new Error('FakeSocket: start() was not called');
    this.#onEvents(events, drained);
  }

  /** A datagram from the kernel (sender pid 0) made of the given messages. */
  kernel(...messages: Buffer[]): void {
    this.deliver({ kind: 'datagram', data: Buffer.concat(messages), senderPid: 0, truncated: false });
  }

  /** nlmsg_seq of the n-th request sent (dump requests carry their seq there). */
  sentSeq(n: number): number {
    const bytes = this.sent[n];
    if (!bytes) throw new Error(`FakeSocket: no request #${n}`);
    return bytes.readUInt32LE(8);
  }
}
