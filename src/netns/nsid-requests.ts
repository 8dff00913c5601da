// The discovery's questions to the kernel about nsids, each answered at once on a request socket
// of its own (netlink/request-socket.ts): the nsid of the namespace a process or an fd is in, the
// list of every nsid our namespace has given, and giving a named namespace one. A question that
// fails is counted (linkstate_exporter_netns_errors_total) and logged, rate-limited; its answer
// is then undefined.

import { NetlinkClient } from '../netlink/client.js';
import { EEXIST, EINVAL, ENOENT, NLMSG_DONE, NLMSG_ERROR } from '../netlink/constants.js';
import { decodeDoneStatus } from '../netlink/message.js';
import type { RequestSocket } from '../netlink/request-socket.js';
import type { NetlinkMessage } from '../netlink/types.js';
import { NETNSA_NSID_NOT_ASSIGNED, RTM_NEWNSID } from '../rtnetlink/constants.js';
import {
  decodeNsidMessage,
  encodeAssignNsidRequest,
  encodeNsidDumpRequest,
  encodeNsidOfFdRequest,
  encodeNsidOfPidRequest,
} from '../rtnetlink/nsid.js';
import type { NetnsError } from '../metrics/exporter-metrics.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger, RateLimitedLog } from '../runtime/logger.js';

export interface NsidRequestsOptions {
  readonly open: () => RequestSocket;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly logIntervalMs: number;
  readonly countError: (reason: NetnsError) => void;
}

export class NsidRequests {
  readonly #client: NetlinkClient<RequestSocket>;
  readonly #countError: (reason: NetnsError) => void;

  constructor(opts: NsidRequestsOptions) {
    this.#client = new NetlinkClient({
      open: opts.open,
      logger: opts.logger,
      clock: opts.clock,
      logIntervalMs: opts.logIntervalMs,
      name: 'namespace request socket',
    });
    this.#countError = opts.countError;
  }

  /** The discovery's rate-limited warnings (these requests' and its own). */
  get log(): RateLimitedLog {
    return this.#client.log;
  }

  /** Opens the request socket. Throws NetlinkSocketError. */
  open(): void {
    this.#client.open();
  }

  close(): void {
    void this.#client.close();
  }

  /** The nsid (in ours) of the namespace process `pid` is in; -1: none assigned. */
  ofPid(pid: number): number | undefined {
    return this.#ask(encodeNsidOfPidRequest(this.#client.seq.next(), pid));
  }

  /** Every nsid our namespace has given (RTM_GETNSID dump), without `self`; undefined when the list may be partial. */
  list(self: number): Set<number> | undefined {
    const seq = this.#client.seq.next();
    const answer = this.#request(encodeNsidDumpRequest(seq), seq);
    if (answer === undefined) return undefined;
    const done = answer[answer.length - 1];
    if (done === undefined || done.type !== NLMSG_DONE || decodeDoneStatus(done) < 0) {
      // A list that ended with an error (or NLMSG_ERROR) may be partial: removing the namespaces
      // it lacks would drop live ones. Nothing is decided on it.
      this.#countError('nsid_failed');
      this.log.log('the RTM_GETNSID dump failed, namespaces unchanged', { errno: done === undefined ? undefined : -done.payload.readInt32LE(0) });
      return undefined;
    }
    const nsids = new Set<number>();
    for (const msg of answer) {
      if (msg.type !== RTM_NEWNSID) continue;
      try {
        const { nsid } = decodeNsidMessage(msg);
        if (nsid >= 0 && nsid !== self) nsids.add(nsid);
      } catch (error) {
        this.log.log('undecodable RTM_NEWNSID in the nsid dump, skipped', { err: (error as Error).message });
      }
    }
    return nsids;
  }

  /** The nsid of the namespace `fd` (opened from `path`) refers to, given one if it has none. */
  ofFd(fd: number, path: string): number | undefined {
    let nsid = this.#ask(encodeNsidOfFdRequest(this.#client.seq.next(), fd), path);
    if (nsid === NETNSA_NSID_NOT_ASSIGNED) {
      const seq = this.#client.seq.next();
      const answer = this.#request(encodeAssignNsidRequest(seq, fd), seq);
      const error = answer === undefined ? undefined : ackError(answer);
      // EEXIST: somebody gave it one meanwhile.
      if (error !== undefined && error !== 0 && error !== -EEXIST) {
        this.#countError('nsid_failed');
        this.log.log('could not give a named namespace an nsid (RTM_NEWNSID), skipped', { path, errno: -error });
        return undefined;
      }
      nsid = this.#ask(encodeNsidOfFdRequest(this.#client.seq.next(), fd), path);
    }
    return nsid === undefined || nsid < 0 ? undefined : nsid;
  }

  /** GETNSID: the NETNSA_NSID of the answer (-1: none assigned), or undefined when it failed. */
  #ask(request: Buffer, path?: string): number | undefined {
    const seq = request.readUInt32LE(8);
    const answer = this.#request(request, seq);
    if (answer === undefined) return undefined;
    for (const msg of answer) {
      if (msg.type === RTM_NEWNSID) {
        try {
          return decodeNsidMessage(msg).nsid;
        } catch {
          break;
        }
      }
    }
    const error = ackError(answer);
    if (path !== undefined) {
      this.#countError(error === -ENOENT || error === -EINVAL ? 'vanished' : 'nsid_failed');
      this.log.log('RTM_GETNSID for a named namespace failed, skipped', { path, errno: error === undefined ? undefined : -error });
    }
    return undefined;
  }

  #request(request: Buffer, seq: number): NetlinkMessage[] | undefined {
    const socket = this.#client.socket;
    if (socket === undefined) return undefined;
    try {
      return socket.request(request, seq);
    } catch (error) {
      this.#countError('nsid_failed');
      this.log.log('a namespace id request failed', { err: (error as Error).message });
      return undefined;
    }
  }
}

/** The error of the NLMSG_ERROR that ends an answer (0: an ACK), if there is one. */
function ackError(answer: readonly NetlinkMessage[]): number | undefined {
  const last = answer[answer.length - 1];
  if (last === undefined || last.type !== NLMSG_ERROR || last.payload.length < 4) return undefined;
  return last.payload.readInt32LE(0);
}
