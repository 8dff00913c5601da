// Why links lose carrier: the cause of each loss, counted per link, and how long the last outage
// lasted. One table subscriber owns all of it; the table and the monitor know nothing of causes.
//
// Counting rule. Each update says the kernel's carrier-down count before and after (the kernel's
// IFLA_CARRIER_DOWN_COUNT, or on older kernels the table's count of the transitions it saw). The
// difference is the losses since the previous message. When the message announces a loss
// (carrier before, none now) one of them is the loss announced, counted under the cause the new
// state shows; the rest, and all of them otherwise, were never announced (linkwatch coalesced
// them, or an overrun lost their messages and the resync dump found the counter moved): `unknown`.
// So the sum over causes is the kernel's count now minus its count at first sight; exactly so
// once a loss caught before linkwatch set its operstate (see unsettled) is settled by the link's
// next message, which the kernel always sends.

import { IF_OPER_LOWERLAYERDOWN, IF_OPER_UP } from '../rtnetlink/constants.js';
import type { Clock } from '../runtime/clock.js';
import type { LinkChange, LinkUpdated } from './link-change.js';
import type { LinkSnapshot, LinkState } from './link-record.js';

/** Every cause, in export order. */
export const CARRIER_CAUSES = ['admin', 'protodown', 'lower_layer', 'no_active_members', 'carrier', 'unknown'] as const;

/** Why a link lost carrier; `unknown` only for losses no message announced. */
export type CarrierCause = (typeof CARRIER_CAUSES)[number];

/** Masters that have carrier exactly while one of their members is active. */
const AGGREGATES: ReadonlySet<string> = new Set(['bridge', 'bond', 'team']);

/** The fields of a link its cause is told from. */
type CauseState = Pick<LinkState, 'adminUp' | 'protoDown' | 'operstate' | 'kind'>;

/**
 * The cause of a link's lack of carrier as its state shows it, by precedence: admin > protodown >
 * lower_layer > no_active_members > carrier. Never `unknown`.
 */
export function classifyCause(link: CauseState): Exclude<CarrierCause, 'unknown'> {
  if (!link.adminUp) return 'admin';
  if (link.protoDown) return 'protodown';
  if (link.operstate === IF_OPER_LOWERLAYERDOWN) return 'lower_layer';
  if (link.kind !== undefined && AGGREGATES.has(link.kind)) return 'no_active_members';
  return 'carrier';
}

/**
 * A link without carrier whose operstate still says UP has a lower device: netif_carrier_off has
 * run, linkwatch has not yet set the operstate that tells whether its lower device is the cause
 * (LOWERLAYERDOWN) or not (DOWN). Its next message will say; a resync dump can catch this moment.
 */
function unsettled(link: LinkState): boolean {
  return !link.carrier && link.operstate === IF_OPER_UP && link.iflink !== undefined && classifyCause(link) === 'carrier';
}

/**
 * The cause of the link's current outage; undefined while it has carrier. During the moment an
 * unsettled link waits for linkwatch this says `carrier`: the metric keeps its one series.
 */
export function currentCause(link: LinkState): Exclude<CarrierCause, 'unknown'> | undefined {
  return link.carrier ? undefined : classifyCause(link);
}

/**
 * The cause of the link's current outage as the page and the events show it: currentCause, but
 * none while the kernel has not settled it yet (see unsettled).
 */
export function shownCause(link: LinkState): Exclude<CarrierCause, 'unknown'> | undefined {
  return link.carrier || unsettled(link) ? undefined : classifyCause(link);
}

/** The losses one update tells of: an announced one and its cause, and those nobody announced. */
export interface LossesOfUpdate {
  /** the cause of the loss this message announced; undefined when it announced none */
  readonly announced: Exclude<CarrierCause, 'unknown'> | undefined;
  /** losses the kernel counted that no message announced */
  readonly unknown: number;
}

const NO_LOSSES: LossesOfUpdate = { announced: undefined, unknown: 0 };

/** What an update of `link` from `before` says about carrier losses (the rule at the top). */
export function lossesOf(before: LinkSnapshot, link: LinkState): LossesOfUpdate {
  let delta = link.carrierDownChanges - before.carrierDownChanges;
  // The counters became the kernel's with this message: the jump is no loss, only a new origin.
  if (!before.kernelCounters && link.kernelCounters) delta = before.carrier && !link.carrier ? 1 : 0;
  if (delta <= 0) return NO_LOSSES;
  if (before.carrier && !link.carrier) return { announced: classifyCause(link), unknown: delta - 1 };
  return { announced: undefined, unknown: delta };
}

/** What the log line and the event of a carrier change say about the losses it shows. */
export interface LossNote {
  /** the cause of the loss the message announced; undefined when none, or not yet settled */
  readonly cause: Exclude<CarrierCause, 'unknown'> | undefined;
  /** IFLA_PROTO_DOWN_REASON bits, for a protodown loss whose message carried them */
  readonly protodownReason: number | undefined;
  /** losses the kernel counted that no message announced */
  readonly unannounced: number;
}

/** The losses an update shows, as the accounting counts them (the log line and event say these). */
export function lossNote(before: LinkSnapshot, link: LinkState): LossNote {
  const { announced, unknown } = lossesOf(before, link);
  const cause = announced === undefined || unsettled(link) ? undefined : announced;
  return { cause, protodownReason: cause === 'protodown' ? link.protoDownReason : undefined, unannounced: unknown };
}

/** One link's record; created at its first counted loss or first announced loss. */
export interface CarrierLosses {
  /** losses per cause, indexed as CARRIER_CAUSES; 0 for a cause never counted */
  readonly counts: readonly number[];
  /** seconds the last completed outage lasted; undefined until one began and ended in view */
  readonly lastDownSeconds: number | undefined;
}

interface LossRecord extends CarrierLosses {
  readonly counts: number[];
  lastDownSeconds: number | undefined;
  /** an announced loss whose cause the link's next settled message tells (see unsettled) */
  pending: boolean;
  /** clock ms of the announced loss of the outage in progress; undefined when none is */
  downSinceMs: number | undefined;
}

/** Looks up a link's record (the renderer and the status page read through it). */
export type CarrierLossLookup = (link: LinkState) => CarrierLosses | undefined;

export const noCarrierLosses: CarrierLossLookup = () => undefined;

const INDEX: Readonly<Record<CarrierCause, number>> = Object.fromEntries(CARRIER_CAUSES.map((c, i) => [c, i])) as Record<CarrierCause, number>;

/**
 * The accounting, as a table subscriber: subscribe `onChange` to every table whose links it
 * counts. Records are kept per link object (weakly: a namespace's table dropped whole takes its
 * records with it). They change only while the table tells an update of that link, which has
 * already bumped the link's version, so the renderer's caches see every change.
 */
export class CarrierCauses {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #records = new WeakMap<LinkState, LossRecord>();

  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock;
  }

  /** The link's losses and last outage, or undefined when it has neither yet. */
  readonly get: CarrierLossLookup = (link) => this.#records.get(link);

  readonly onChange = (change: LinkChange): void => {
    if (change.kind === 'updated') this.#update(change);
    else if (change.kind !== 'added') this.#records.delete(change.link);
  };

  #update(change: LinkUpdated): void {
    const { link, before } = change;
    let record = this.#records.get(link);
    if (record?.pending === true && !unsettled(link)) {
      // Settled: the cause its state shows now, or unknown when carrier came back first.
      record.pending = false;
      (record.counts[INDEX[link.carrier ? 'unknown' : classifyCause(link)]] as number)++;
    }
    if (before.carrier === link.carrier && before.carrierDownChanges === link.carrierDownChanges) return;
    const losses = lossesOf(before, link);
    if (losses.announced !== undefined || losses.unknown > 0) {
      record ??= this.#create(link);
      if (losses.announced !== undefined && unsettled(link)) record.pending = true;
      else if (losses.announced !== undefined) (record.counts[INDEX[losses.announced]] as number)++;
      record.counts[INDEX.unknown] = (record.counts[INDEX.unknown] as number) + losses.unknown;
    }
    if (before.carrier && !link.carrier) {
      record ??= this.#create(link);
      record.downSinceMs = this.#clock.now();
    } else if (!before.carrier && link.carrier && record?.downSinceMs !== undefined) {
      record.lastDownSeconds = Math.max(0, this.#clock.now() - record.downSinceMs) / 1000;
      record.downSinceMs = undefined;
    }
  }

  #create(link: LinkState): LossRecord {
    const record: LossRecord = { counts: CARRIER_CAUSES.map(() => 0), lastDownSeconds: undefined, pending: false, downSinceMs: undefined };
    this.#records.set(link, record);
    return record;
  }
}
