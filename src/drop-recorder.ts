// What the netlink monitors do with a datagram or message they cannot use: count it by reason in
// linkstate_exporter_netlink_dropped_total and log it, rate-limited. One recorder per monitor.
import { NetlinkDecodeError } from './errors.js';
import type { RateLimitedLog } from './logger.js';

export class DropRecorder {
  /**
   * @param counter linkstate_exporter_netlink_dropped_total
   * @param log the monitor's rate-limited warning log
   * @param what how the log names the messages ("a netlink", "an ethtool netlink")
   */
  constructor(
    private readonly counter: { inc(labels: { reason: string }): void },
    private readonly log: RateLimitedLog,
    private readonly what: string,
  ) {}

  drop(reason: string, message: string, fields: Record<string, unknown>): void {
    this.counter.inc({ reason });
    this.log.log(message, { reason, ...fields });
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
