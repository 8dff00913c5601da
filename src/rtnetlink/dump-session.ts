// One link dump, from the request to its end, in one object: its sequence number, the links it
// has seen, whether the kernel marked it interrupted, and how it ended. Pure: it is told what
// arrived and answers with the outcome; the monitor owns the socket, the table and the retries.
//
// A dump ends in exactly one of these ways:
// - complete: NLMSG_DONE with status 0 and no NLM_F_DUMP_INTR on any of its messages. Only then
//   may the table be pruned of the links it did not report;
// - interrupted: NLM_F_DUMP_INTR on a reply or on the DONE (the kernel's table changed mid-dump,
//   so links may have been skipped). Dump again after a backoff (the changes may go on);
// - failed: DONE with a negative status (e.g. -EMSGSIZE after a partial reply), NLMSG_ERROR for
//   the request (e.g. -EBUSY), a datagram that may have been one of its replies dropped as
//   truncated (MSG_TRUNC) or undecodable, a socket error, or no reply at all for a while (the
//   kernel's answer to the request can be lost: when the request meets a full receive buffer, the
//   error it answers with is dropped like any other message). Dump again after a backoff.
// Nothing but `complete` prunes: a partial dump must never delete the links it did not reach.

import { NLM_F_DUMP_INTR } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/types.js';

/** Why a dump ended without pruning; the list pre-initialises labelled counters at zero. */
export const DUMP_FAILURES = ['done_error', 'refused', 'truncated', 'undecodable', 'socket_error', 'stalled'] as const;
export type DumpFailure = (typeof DUMP_FAILURES)[number];

export type DumpEnd =
  | {
      readonly kind: 'complete';
      /** Links the dump reported or events created while it ran, minus those deleted meanwhile. */
      readonly seen: ReadonlySet<number>;
      /** Notifications were lost while it ran (an overrun): what it saw may be stale already. */
      readonly again: boolean;
    }
  | { readonly kind: 'interrupted'; readonly again: boolean }
  | { readonly kind: 'failed'; readonly reason: DumpFailure; readonly errno?: number; readonly again: boolean };

export class DumpSession {
  readonly #seen = new Set<number>();
  #interrupted = false;
  #again = false;
  #replies = 0;
  #end: DumpEnd | undefined;

  /**
   * @param seq nlmsg_seq of the request
   * @param portId our socket's port id: replies to our request carry it as nlmsg_pid
   * @param resync false for the first dump on a socket, true for every later one
   * @param target the nsid of the namespace dumped (IFLA_TARGET_NETNSID); -1 for our own
   */
  constructor(
    readonly seq: number,
    readonly portId: number,
    readonly resync: boolean,
    readonly target: number = -1,
  ) {}

  get ended(): DumpEnd | undefined {
    return this.#end;
  }

  /**
   * A reply to this dump's request, as opposed to a notification: its seq and our port id, in a
   * datagram that carried no NETLINK_LISTEN_ALL_NSID control message (`nsid` -1). Replies are
   * unicast and never carry one, also those of a dump of another namespace; a notification from
   * another namespace always does, and may bear our seq and port id (port ids are per namespace,
   * and since Linux 6.1 a link change is announced with its requester's), so it is never a reply.
   */
  isReply(msg: Pick<NetlinkMessage, 'seq' | 'pid'>, nsid: number): boolean {
    return nsid < 0 && msg.seq === this.seq && msg.pid === this.portId;
  }

  /** An NLMSG_ERROR (its datagram's `nsid`) whose echoed request header has this dump's seq. */
  isRefusal(requestSeq: number | undefined, nsid: number): boolean {
    return requestSeq !== undefined && this.isReply({ seq: requestSeq, pid: this.portId }, nsid);
  }

  /**
   * A link message (reply or notification) was applied to the table while the dump runs. A link
   * a notification creates during the dump is as current as one the dump reports; one deleted
   * meanwhile must not count as seen.
   */
  noteLink(msg: NetlinkMessage, nsid: number, ifindex: number, deleted: boolean): void {
    if (this.#end !== undefined) return;
    this.noteReply(msg, nsid);
    if (deleted) this.#seen.delete(ifindex);
    else this.#seen.add(ifindex);
  }

  /** A reply of this dump, counted (and its NLM_F_DUMP_INTR noted); not as seen: see noteLink. */
  noteReply(msg: NetlinkMessage, nsid: number): void {
    if (this.#end !== undefined || !this.isReply(msg, nsid)) return;
    this.#replies++;
    if ((msg.flags & NLM_F_DUMP_INTR) !== 0) this.#interrupted = true;
  }

  /** Notifications were lost while the dump ran: another dump must follow this one. */
  requestAnother(): void {
    this.#again = true;
  }

  /** NLMSG_DONE of this dump, with the status it carried (0, or a negated errno). */
  done(msg: NetlinkMessage, status: number): DumpEnd {
    if ((msg.flags & NLM_F_DUMP_INTR) !== 0) this.#interrupted = true;
    if (status < 0) return this.#finish({ kind: 'failed', reason: 'done_error', errno: -status, again: this.#again });
    if (this.#interrupted) return this.#finish({ kind: 'interrupted', again: this.#again });
    return this.#finish({ kind: 'complete', seen: this.#seen, again: this.#again });
  }

  /** The kernel answered the request with NLMSG_ERROR (a negated errno). */
  refused(error: number): DumpEnd {
    return this.#finish({ kind: 'failed', reason: 'refused', errno: -error, again: this.#again });
  }

  /**
   * A datagram was dropped that may have held replies of this dump (or its DONE): the dump's
   * result is incomplete, and waiting for a DONE that may be lost could wait forever.
   */
  spoiled(reason: 'truncated' | 'undecodable'): DumpEnd {
    return this.#finish({ kind: 'failed', reason, again: this.#again });
  }

  /** Replies received so far: a watchdog that sees this number stand still knows the dump stalled. */
  get replies(): number {
    return this.#replies;
  }

  /** No reply came for a whole watchdog interval: the request or its answer was lost. */
  stalled(): DumpEnd {
    return this.#finish({ kind: 'failed', reason: 'stalled', again: this.#again });
  }

  /** The socket failed while the dump ran. */
  aborted(): DumpEnd {
    return this.#finish({ kind: 'failed', reason: 'socket_error', again: this.#again });
  }

  #finish(end: DumpEnd): DumpEnd {
    this.#end ??= end;
    return this.#end;
  }
}
