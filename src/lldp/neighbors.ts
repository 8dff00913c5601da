// The LLDP neighbours of the exporter's links, by ifindex. Pure: it is told frames, carrier
// changes and link deletions, and reads time from an injected Clock.
//
// Rules (IEEE 802.1AB's receive side, bent where an alert needs the neighbour after the link):
// - a neighbour is one (chassis id, port id) pair per port, as the metrics label it; its frame's
//   TTL runs from the latest frame, and while the link has carrier it expires the neighbour;
// - when the link loses carrier its neighbours are kept, marked stale, for the hold time: the
//   carrier-down alert names them. Carrier coming back does not clear the mark (it says nothing of
//   who is at the other end); the first frame the port hears does, and drops every other stale
//   neighbour of the port (a moved cable shows its new neighbour alone);
// - a shutdown LLDPDU (TTL 0) marks the neighbour stale as a carrier loss does, rather than
//   deleting it as 802.1AB says: a switch sends one when its port is shut, just before the
//   carrier goes, and that is exactly the neighbour the alert must name;
// - a port holds at most PER_PORT_NEIGHBORS neighbours; a frame from one more is refused (not
//   one held evicted), so a flood of invented chassis ids cannot push the real neighbour out
//   nor grow memory;
// - one timer at most, for the earliest expiry, unref'd; none while no neighbour is held.

import type { Clock, ClockTimer } from '../runtime/clock.js';

/** Neighbours one port may hold: a point-to-point link has one, a shared segment a few. */
export const PER_PORT_NEIGHBORS = 4;

/** Node's timers take at most 2^31-1 ms; a later expiry is reached by re-arming. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What one LLDPDU says (the decoder's LldpNeighbor, src/lldp/lldpdu.ts, fits it). */
export interface NeighborAnnouncement {
  readonly chassisIdSubtype: number;
  readonly chassisId: string;
  readonly portIdSubtype: number;
  readonly portId: string;
  readonly ttlSeconds: number;
  readonly portDescription?: string | undefined;
  readonly systemName?: string | undefined;
  readonly systemDescription?: string | undefined;
  readonly managementAddress?: string | undefined;
  readonly macPhy?: { readonly speedBytesPerSecond?: number | undefined; readonly duplex?: 'full' | 'half' | undefined } | undefined;
}

interface NeighborRecord {
  readonly ifindex: number;
  readonly chassisId: string;
  readonly portId: string;
  chassisIdSubtype: number;
  portIdSubtype: number;
  ttlSeconds: number;
  portDescription: string | undefined;
  systemName: string | undefined;
  systemDescription: string | undefined;
  managementAddress: string | undefined;
  /** the partner's speed from the IEEE 802.3 MAC/PHY TLV, bytes per second */
  speedBytesPerSecond: number | undefined;
  duplex: 'full' | 'half' | undefined;
  /** wall clock of the latest frame */
  lastSeenMs: number;
  /** when the neighbour goes: its TTL while fresh, the hold time once stale */
  expiresMs: number;
  /** kept only because the link lost carrier or the neighbour announced shutdown */
  stale: boolean;
}

export type Neighbor = Readonly<NeighborRecord>;

/** What a frame did: a new neighbour, the same one again (changed or not), or refused (port full). */
export type ReceiveOutcome = 'added' | 'changed' | 'refreshed' | 'limit';

export interface NeighborStoreOptions {
  readonly clock: Clock;
  /** How long a stale neighbour is kept; 0 drops it at once. */
  readonly holdTimeMs: number;
  /** Told after every change a render would show (not the expiry timer's re-arming). */
  readonly onChange?: (ifindex: number) => void;
}

export class NeighborStore {
  readonly #clock: Clock;
  readonly #holdTimeMs: number;
  readonly #onChange: ((ifindex: number) => void) | undefined;
  readonly #ports = new Map<number, NeighborRecord[]>();
  #size = 0;
  #version = 0;
  #timer: ClockTimer | undefined;
  #timerDue = Infinity;

  constructor(opts: NeighborStoreOptions) {
    this.#clock = opts.clock;
    this.#holdTimeMs = opts.holdTimeMs;
    this.#onChange = opts.onChange;
  }

  /** Neighbours held, on all ports. */
  get size(): number {
    return this.#size;
  }

  /** Changes whenever anything a render shows changes (last seen included). */
  get version(): number {
    return this.#version;
  }

  /** The neighbours of a port, in the order they were first heard. */
  neighbors(ifindex: number): readonly Neighbor[] {
    return this.#ports.get(ifindex) ?? [];
  }

  /** Every port that holds a neighbour, with its neighbours. */
  ports(): IterableIterator<[number, readonly Neighbor[]]> {
    return this.#ports.entries();
  }

  /** An LLDPDU with TTL > 0 heard on the port. */
  receive(ifindex: number, a: NeighborAnnouncement): ReceiveOutcome {
    const now = this.#clock.now();
    let list = this.#ports.get(ifindex);
    if (list !== undefined && list.some((n) => n.stale)) {
      // The port hears a neighbour again: the stale ones give way (the one speaking is refreshed).
      const kept = list.filter((n) => !n.stale || (n.chassisId === a.chassisId && n.portId === a.portId));
      this.#size -= list.length - kept.length;
      list = kept;
      this.#ports.set(ifindex, list);
      this.#version++;
    }
    const expiresMs = now + a.ttlSeconds * 1000;
    const existing = list?.find((n) => n.chassisId === a.chassisId && n.portId === a.portId);
    let outcome: ReceiveOutcome;
    if (existing !== undefined) {
      outcome = update(existing, a) ? 'changed' : 'refreshed';
      existing.stale = false;
      existing.lastSeenMs = now;
      existing.expiresMs = expiresMs;
    } else {
      if (list !== undefined && list.length >= PER_PORT_NEIGHBORS) return 'limit';
      const record: NeighborRecord = {
        ifindex,
        chassisId: a.chassisId,
        portId: a.portId,
        chassisIdSubtype: a.chassisIdSubtype,
        portIdSubtype: a.portIdSubtype,
        ttlSeconds: a.ttlSeconds,
        portDescription: a.portDescription,
        systemName: a.systemName,
        systemDescription: a.systemDescription,
        managementAddress: a.managementAddress,
        speedBytesPerSecond: a.macPhy?.speedBytesPerSecond,
        duplex: a.macPhy?.duplex,
        lastSeenMs: now,
        expiresMs,
        stale: false,
      };
      if (list === undefined) this.#ports.set(ifindex, [record]);
      else list.push(record);
      this.#size++;
      outcome = 'added';
    }
    this.#changed(ifindex);
    this.#arm(expiresMs);
    return outcome;
  }

  /** A shutdown LLDPDU (TTL 0): the neighbour is kept stale for the hold time. False: not held. */
  shutdown(ifindex: number, chassisId: string, portId: string): boolean {
    const n = this.#ports.get(ifindex)?.find((r) => r.chassisId === chassisId && r.portId === portId);
    if (n === undefined) return false;
    this.#makeStale(ifindex, [n]);
    return true;
  }

  /** The link lost carrier: its neighbours are kept, stale, for the hold time. */
  carrierLost(ifindex: number): void {
    const list = this.#ports.get(ifindex);
    if (list !== undefined) this.#makeStale(ifindex, list.filter((n) => !n.stale));
  }

  /**
   * The link has carrier again. Nothing changes: stale neighbours stay until the port hears a
   * frame or their hold time passes (a link back without LLDP still names where it led).
   */
  carrierRestored(_ifindex: number): void {}

  /** The link is gone: its neighbours go with it. */
  linkRemoved(ifindex: number): void {
    const list = this.#ports.get(ifindex);
    if (list === undefined) return;
    this.#ports.delete(ifindex);
    this.#size -= list.length;
    this.#changed(ifindex);
    if (this.#size === 0) this.#disarm();
  }

  /** Stops the timer (the neighbours stay readable). */
  close(): void {
    this.#disarm();
  }

  #makeStale(ifindex: number, neighbors: readonly NeighborRecord[]): void {
    if (neighbors.length === 0) return;
    if (this.#holdTimeMs === 0) {
      const list = (this.#ports.get(ifindex) ?? []).filter((n) => !neighbors.includes(n));
      this.#size -= neighbors.length;
      if (list.length === 0) this.#ports.delete(ifindex);
      else this.#ports.set(ifindex, list);
      this.#changed(ifindex);
      if (this.#size === 0) this.#disarm();
      return;
    }
    const expiresMs = this.#clock.now() + this.#holdTimeMs;
    for (const n of neighbors) {
      n.stale = true;
      n.expiresMs = expiresMs;
    }
    this.#changed(ifindex);
    // A hold time shorter than the TTL left brings the expiry forward.
    this.#arm(expiresMs);
  }

  #changed(ifindex: number): void {
    this.#version++;
    this.#onChange?.(ifindex);
  }

  /** Makes sure the timer fires no later than `at`; a later expiry is left to the sweep. */
  #arm(at: number): void {
    if (this.#timer !== undefined && this.#timerDue <= at) return;
    this.#disarm();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.#clock.now()));
    this.#timerDue = at;
    this.#timer = this.#clock.setTimeout(() => this.#expire(), delay);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  /** The timer: drops every neighbour whose time has come, then re-arms for the next one. */
  #expire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = this.#clock.now();
    let next = Infinity;
    for (const [ifindex, list] of this.#ports) {
      const kept = list.filter((n) => n.expiresMs > now);
      if (kept.length !== list.length) {
        this.#size -= list.length - kept.length;
        if (kept.length === 0) this.#ports.delete(ifindex);
        else this.#ports.set(ifindex, kept);
        this.#changed(ifindex);
      }
      for (const n of kept) if (n.expiresMs < next) next = n.expiresMs;
    }
    if (next !== Infinity) this.#arm(next);
  }
}

/** Copies what a frame says into the record; true when a labelled field changed. */
function update(n: NeighborRecord, a: NeighborAnnouncement): boolean {
  // Strings are stored only when they differ: a frame's fresh (equal) strings would otherwise be
  // kept alive in the long-lived record at every frame.
  let changed = false;
  if (n.portDescription !== a.portDescription) (n.portDescription = a.portDescription), (changed = true);
  if (n.systemName !== a.systemName) (n.systemName = a.systemName), (changed = true);
  if (n.systemDescription !== a.systemDescription) (n.systemDescription = a.systemDescription), (changed = true);
  if (n.managementAddress !== a.managementAddress) (n.managementAddress = a.managementAddress), (changed = true);
  const speed = a.macPhy?.speedBytesPerSecond;
  if (n.speedBytesPerSecond !== speed) (n.speedBytesPerSecond = speed), (changed = true);
  if (n.duplex !== a.macPhy?.duplex) (n.duplex = a.macPhy?.duplex), (changed = true);
  n.chassisIdSubtype = a.chassisIdSubtype;
  n.portIdSubtype = a.portIdSubtype;
  n.ttlSeconds = a.ttlSeconds;
  return changed;
}
