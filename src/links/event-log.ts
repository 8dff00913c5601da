// The link event log: one event per carrier, admin or oper-state transition a link table
// reports, kept in a bounded history for the event stream's replay (GET /api/v1/events).
//
// Retention (after blackbox_exporter's prober/history.go, which keeps failed probes longer):
// at most `capacity` events in all; when full, the oldest event that is not a down transition
// goes first, and only a history of nothing but down transitions loses its oldest down. The
// newest event is always kept.
// Each event is serialized into its SSE frame (one string) once, when it is first needed: at
// publish when a stream is open, else at the first replay: a storm with nobody watching pays
// for no JSON.
// Nothing is allocated before the first event.

import type { ApplyResult, LinkChangeListener } from './link-change.js';
import { operStateName } from './link-record.js';
import { lossesOf, shownCause, type CarrierCause } from './carrier-causes.js';

export type TransitionType = 'carrier' | 'admin' | 'oper';

/** What the stream sends (JSON, one per SSE "link" event). */
export interface LinkEvent {
  readonly time: string;
  readonly type: TransitionType;
  readonly device: string;
  readonly netns?: string;
  readonly ifindex: number;
  readonly from: string;
  readonly to: string;
  readonly carrier_changes: number;
  /**
   * while the link has no carrier after the transition: the cause of the outage (of a carrier
   * event's loss, that loss's cause); absent until the kernel has settled it
   */
  readonly cause?: Exclude<CarrierCause, 'unknown'>;
  /** with cause protodown: IFLA_PROTO_DOWN_REASON's bits, when set */
  readonly protodown_reason?: number;
  /** carrier events: losses the kernel counted that no message announced, when any */
  readonly unannounced_losses?: number;
}

interface Stored {
  readonly seq: number;
  readonly event: LinkEvent;
  frame: string | undefined;
}

export type Listener = (frame: string) => void;

/** Oper states that mean "down" for retention (RFC 2863 names as the kernel uses them). */
const DOWN_OPER = new Set(['down', 'lowerlayerdown', 'notpresent']);

export const DEFAULT_EVENT_HISTORY = 1000;

export function isDownTransition(type: TransitionType, to: string): boolean {
  return type === 'oper' ? DOWN_OPER.has(to) : to === 'down';
}

/** The transitions one applied message made, from the state before it to the state after. */
export function transitionsOf(result: ApplyResult, nowMs: number): LinkEvent[] {
  if (result.kind !== 'updated') return NO_EVENTS;
  const { link, before } = result;
  const adminChanged = before.adminUp !== link.adminUp;
  const operChanged = before.operstate !== link.operstate;
  if (!adminChanged && result.carrier === undefined && !operChanged) return NO_EVENTS;
  const time = isoTime(nowMs);
  const { name: device, netns, ifindex, carrierChanges: carrier_changes } = link;
  // Key order as the stream sends them: time, type, device, netns (links of other namespaces
  // only), ifindex, carrier_changes, from, to, then what each says of carrier losses.
  const events: LinkEvent[] = [];
  const cause = shownCause(link);
  const reason = cause === 'protodown' ? link.protoDownReason : undefined;
  const at = (type: TransitionType, from: string, to: string): LinkEvent => {
    const event: { -readonly [K in keyof LinkEvent]: LinkEvent[K] } =
      netns === undefined
        ? { time, type, device, ifindex, carrier_changes, from, to }
        : { time, type, device, netns, ifindex, carrier_changes, from, to };
    // then cause, protodown_reason, unannounced_losses (carrier events), each only when it says something
    if (cause !== undefined) event.cause = cause;
    if (reason !== undefined) event.protodown_reason = reason;
    return event;
  };
  if (adminChanged) events.push(at('admin', before.adminUp ? 'up' : 'down', link.adminUp ? 'up' : 'down'));
  if (result.carrier !== undefined) {
    const event = at('carrier', result.carrier.from, result.carrier.to);
    const unannounced = lossesOf(before, link).unknown;
    events.push(unannounced > 0 ? { ...event, unannounced_losses: unannounced } : event);
  }
  if (operChanged) events.push(at('oper', operStateName(before.operstate), operStateName(link.operstate)));
  return events;
}

const NO_EVENTS: LinkEvent[] = [];

/** A table subscriber that publishes the transitions of the links `exported` accepts, stamped by `now`. */
export function publishTransitions(log: LinkEventLog, exported: (name: string) => boolean, now: () => number = Date.now): LinkChangeListener {
  return (change) => {
    if (change.kind !== 'updated' || !exported(change.link.name)) return;
    for (const event of transitionsOf(change, now())) log.publish(event);
  };
}

// A storm applies many messages within one millisecond: format each millisecond once.
let lastTimeMs = NaN;
let lastTime = '';
function isoTime(ms: number): string {
  if (ms !== lastTimeMs) {
    lastTimeMs = ms;
    lastTime = new Date(ms).toISOString();
  }
  return lastTime;
}

export class LinkEventLog {
  readonly #capacity: number;
  /** Both in seq order; together at most #capacity. */
  #others: Stored[] = [];
  #downs: Stored[] = [];
  #seq = 0;
  readonly #listeners = new Set<Listener>();
  /** Distinguishes this process's event ids from an earlier run's (Last-Event-ID after a restart). */
  readonly #epoch: string;

  constructor(capacity: number = DEFAULT_EVENT_HISTORY, epochMs: number = Date.now()) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`bad history capacity ${capacity}`);
    this.#capacity = capacity;
    this.#epoch = epochMs.toString(36);
  }

  get size(): number {
    return this.#others.length + this.#downs.length;
  }

  /** Events published since start (the last event id's sequence number). */
  get published(): number {
    return this.#seq;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** The SSE id of sequence number seq: "<epoch>-<seq>". */
  idOf(seq: number): string {
    return `${this.#epoch}-${seq}`;
  }

  /** Sequence number a Last-Event-ID names in this process, or 0 (replay everything kept). */
  seqOf(lastEventId: string | undefined): number {
    if (lastEventId === undefined) return 0;
    const m = /^([0-9a-z]+)-(\d{1,15})$/.exec(lastEventId.trim());
    if (m === null || m[1] !== this.#epoch) return 0;
    const seq = Number(m[2]);
    return seq <= this.#seq ? seq : 0;
  }

  publish(event: LinkEvent): void {
    this.#seq += 1;
    const stored: Stored = { seq: this.#seq, event, frame: undefined };
    if (this.#capacity > 0) {
      // Make room first: the event just published is always kept.
      if (this.size >= this.#capacity) (this.#others.length > 0 ? this.#others : this.#downs).shift();
      (isDownTransition(event.type, event.to) ? this.#downs : this.#others).push(stored);
    }
    if (this.#listeners.size === 0) return;
    const frame = this.#frameOf(stored);
    for (const listener of this.#listeners) listener(frame);
  }

  #frameOf(stored: Stored): string {
    stored.frame ??= `id: ${this.idOf(stored.seq)}\nevent: link\ndata: ${JSON.stringify(stored.event)}\n\n`;
    return stored.frame;
  }

  /** The kept frames after sequence number afterSeq, oldest first. */
  replay(afterSeq = 0): string[] {
    const a = this.#others;
    const b = this.#downs;
    const out: string[] = [];
    let i = lowerBound(a, afterSeq);
    let j = lowerBound(b, afterSeq);
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]!.seq < b[j]!.seq)) out.push(this.#frameOf(a[i++]!));
      else out.push(this.#frameOf(b[j++]!));
    }
    return out;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** First index whose seq is greater than seq. */
function lowerBound(items: readonly Stored[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
