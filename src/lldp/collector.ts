// --collector.lldp: the frames of the packet socket, decoded, into the neighbour store. It joins
// the LLDP multicast address on every link of the exporter's own table as links come (and leaves
// it as they go), and turns the table's carrier changes into the store's stale marks. Counts are
// plain numbers on the hot path, read by the metrics at each scrape.
import type { LinkChange } from '../links/link-change.js';
import type { LinkTable } from '../links/table.js';
import type { Logger } from '../runtime/logger.js';
import { decodeLldpdu, LLDP_DROP_REASONS } from './lldpdu.js';
import { isLldpDestination } from './packet-socket.js';
import type { NeighborStore } from './neighbors.js';

/**
 * Every reason a frame is dropped: the decoder's, and unknown_link (arrived on a link the table
 * does not hold), neighbor_limit (the port holds its most neighbours already), receive_buffer
 * (the kernel dropped it: the socket's receive buffer was full).
 */
export const LLDP_COLLECTOR_DROP_REASONS = [...LLDP_DROP_REASONS, 'unknown_link', 'neighbor_limit', 'receive_buffer'] as const;
export type LldpCollectorDropReason = (typeof LLDP_COLLECTOR_DROP_REASONS)[number];


/** What the collector reads of a received frame (the packet socket's LldpFrame). */
export interface LldpFrameLike {
  readonly ifindex: number;
  readonly destination: string;
  readonly payload: Uint8Array;
  readonly truncated: boolean;
}

/** The packet socket as the collector uses it (src/lldp/packet-socket.ts). */
export interface LldpFrameSource {
  join(ifindex: number): void;
  leave(ifindex: number): void;
  start(listener: (frames: readonly LldpFrameLike[]) => void, onError?: (error: Error) => void): void;
  /** Frames the kernel dropped (receive buffer full) since the last call. */
  takeKernelDrops?(): number;
  close(): unknown;
}

export interface LldpCollectorOptions {
  /** The exporter's own namespace's links (the socket is in that namespace). */
  readonly table: LinkTable;
  readonly source: LldpFrameSource;
  readonly store: NeighborStore;
  readonly logger: Logger;
}

export class LldpCollector {
  readonly #table: LinkTable;
  readonly #source: LldpFrameSource;
  readonly #store: NeighborStore;
  readonly #logger: Logger;
  readonly #drops = new Map<string, number>(LLDP_COLLECTOR_DROP_REASONS.map((r) => [r, 0]));
  #frames = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: LldpCollectorOptions) {
    this.#table = opts.table;
    this.#source = opts.source;
    this.#store = opts.store;
    this.#logger = opts.logger;
  }

  /** Frames read, dropped ones included. */
  get frames(): number {
    return this.#frames;
  }

  dropped(reason: string): number {
    if (reason === 'receive_buffer') {
      try {
        const kernel = this.#source.takeKernelDrops?.() ?? 0;
        if (kernel > 0) this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + kernel);
      } catch {
        // a closed or failed socket: the count stays where it was
      }
    }
    return this.#drops.get(reason) ?? 0;
  }

  /**
   * Subscribes to the table (so call it before the first dump fills it, or it joins what is
   * there now), joins every link it holds, and starts reading.
   */
  start(): void {
    this.#unsubscribe = this.#table.subscribe((change) => this.#onLinkChange(change));
    for (const link of this.#table.links()) this.#join(link.ifindex, link.name);
    this.#source.start(
      (frames) => this.#onFrames(frames),
      (error) => this.#logger.error({ err: error.message }, 'lldp: the packet socket failed; no more LLDP frames are read'),
    );
  }

  /** Stops listening to the table, the store's timer and the socket (resolves when it is closed). */
  close(): Promise<unknown> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#store.close();
    return Promise.resolve(this.#source.close());
  }

  #onLinkChange(change: LinkChange): void {
    const { link } = change;
    switch (change.kind) {
      case 'added':
        this.#join(link.ifindex, link.name);
        return;
      case 'updated':
        if (change.carrier === undefined || change.carrier.from === change.carrier.to) return;
        if (change.carrier.to === 'down') this.#store.carrierLost(link.ifindex);
        else this.#store.carrierRestored(link.ifindex);
        return;
      default:
        // removed, evicted, pruned: the link is gone (an evicted one's ifindex is not reused here).
        this.#store.linkRemoved(link.ifindex);
        try {
          this.#source.leave(link.ifindex);
        } catch (error) {
          // never thrown into the table's delivery
          this.#logger.debug({ device: link.name, err: error instanceof Error ? error.message : String(error) }, 'lldp: cannot leave the LLDP multicast address');
        }
    }
  }

  #join(ifindex: number, device: string): void {
    try {
      this.#source.join(ifindex);
    } catch (error) {
      // A link that takes no multicast address (or went meanwhile): its frames, if any, still
      // reach the socket when the device delivers them.
      this.#logger.debug({ device, err: error instanceof Error ? error.message : String(error) }, 'lldp: cannot join the LLDP multicast address');
    }
  }

  #drop(reason: LldpCollectorDropReason): void {
    this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + 1);
  }

  #onFrames(frames: readonly LldpFrameLike[]): void {
    for (const frame of frames) {
      this.#frames++;
      if (frame.truncated) {
        this.#drop('truncated');
        continue;
      }
      if (!isLldpDestination(frame.destination)) {
        this.#drop('not_lldp');
        continue;
      }
      const link = this.#table.get(frame.ifindex);
      if (link === undefined) {
        this.#drop('unknown_link');
        continue;
      }
      const result = decodeLldpdu(frame.payload);
      if (!result.ok) {
        this.#drop(result.reason);
        if (result.reason === 'shutdown' && result.chassisId !== undefined && result.portId !== undefined) {
          this.#store.shutdown(frame.ifindex, result.chassisId, result.portId);
        }
        continue;
      }
      const n = result.neighbor;
      const outcome = this.#store.receive(frame.ifindex, n);
      if (outcome === 'limit') this.#drop('neighbor_limit');
      else if (outcome === 'added' || outcome === 'changed') {
        this.#logger.info(
          { device: link.name, chassis_id: n.chassisId, port_id: n.portId, system_name: n.systemName ?? '', port_description: n.portDescription ?? '' },
          outcome === 'added' ? 'lldp neighbor' : 'lldp neighbor changed',
        );
      }
    }
  }
}
