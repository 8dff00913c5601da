// What the netlink monitors do with a datagram or message they cannot use: count it by reason in
// linkstate_exporter_netlink_dropped_total and log it, rate-limited. One recorder per monitor.
import { NETLINK_DECODE_REASONS, NetlinkDecodeError } from './errors.js';
import type { RateLimitedLog } from '../runtime/logger.js';
import { decodeMessages } from './message.js';
import type { NetlinkMessage } from './types.js';

/** Reasons of linkstate_exporter_netlink_dropped_total, all pre-initialised at 0. */
export const DROP_REASONS = ['foreign_sender', 'truncated', 'unknown_nsid', ...NETLINK_DECODE_REASONS] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why messagesOf() dropped a whole datagram. */
export type DatagramDrop = Extract<DropReason, 'foreign_sender' | 'truncated'> | 'undecodable';

export class DropRecorder {
  /**
   * @param counter linkstate_exporter_netlink_dropped_total
   * @param log the monitor's rate-limited warning log
   * @param what how the log names the messages ("a netlink", "an ethtool netlink")
   */
  constructor(
    private readonly counter: { inc(labels: { reason: DropReason }): void },
    private readonly log: RateLimitedLog,
    private readonly what: string,
  ) {}

  drop(reason: DropReason, message: string, fields: Record<string, unknown>): void {
    this.counter.inc({ reason });
    this.log.log(message, { reason, ...fields });
  }

  /**
   * The messages of a received datagram; or, for one that cannot be used, why it was dropped (it
   * is counted and logged here): not sent by the kernel (nl_pid != 0), truncated (MSG_TRUNC), or a
   * header that does not decode.
   */
  messagesOf(data: Buffer, senderPid: number, truncated: boolean): NetlinkMessage[] | DatagramDrop {
    if (senderPid !== 0) {
      this.drop('foreign_sender', `dropped ${this.what} datagram not sent by the kernel`, { sender_pid: senderPid, bytes: data.length });
      return 'foreign_sender';
    }
    if (truncated) {
      this.drop('truncated', `dropped a truncated ${this.what.replace(/^an? /, '')} datagram (MSG_TRUNC)`, { bytes: data.length });
      return 'truncated';
    }
    try {
      return decodeMessages(data);
    } catch (error) {
      this.decodeError(error);
      return 'undecodable';
    }
  }

  /** `decode(msg)`; undefined when it does not decode, the message then dropped as decodeError() drops it. */
  decode<T>(msg: NetlinkMessage, decode: (msg: NetlinkMessage) => T): T | undefined {
    try {
      return decode(msg);
    } catch (error) {
      this.decodeError(error);
      return undefined;
    }
  }

  /** A NetlinkDecodeError is dropped under its reason; anything else is a bug and is rethrown. */
  decodeError(error: unknown): void {
    if (error instanceof NetlinkDecodeError) {
      this.drop(error.reason, `dropped ${this.what} message that does not decode`, { err: error.message });
      return;
    }
    throw error;
  }
}
