// The changes a link table tells its subscribers (added, updated with the state before,
// removed, evicted, pruned), and what one applied message did.

import type { CarrierWord, LinkSnapshot, LinkState } from './link-record.js';
import type { LinkTable } from './table.js';

/** A link the table did not hold (or a new device under a reused ifindex). */
export interface LinkAdded {
  readonly kind: 'added';
  readonly link: LinkState;
}

/** A known link whose state changed; `link` is its state now, `before` what it was. */
export interface LinkUpdated {
  readonly kind: 'updated';
  readonly link: LinkState;
  readonly before: LinkSnapshot;
  /** set when the carrier gauge changed or the kernel counted carrier changes */
  readonly carrier?: { readonly from: CarrierWord; readonly to: CarrierWord; readonly changes: number } | undefined;
  /** set when the link's name changed: its series move to the new device label */
  readonly renamedFrom?: string | undefined;
}

/** RTM_DELLINK of a known link. */
export interface LinkRemoved {
  readonly kind: 'removed';
  readonly link: LinkState;
}

/** A stale link dropped because another took its name (its deletion was lost in an overrun). */
export interface LinkEvicted {
  readonly kind: 'evicted';
  readonly link: LinkState;
  /** the link that now holds the name */
  readonly by: LinkState;
}

/**
 * A link whose deletion was lost (in an overrun): a complete dump did not report it, or a new
 * device took its ifindex.
 */
export interface LinkPruned {
  readonly kind: 'pruned';
  readonly link: LinkState;
}

/** Everything that changes a table, as its subscribers hear it. */
export type LinkChange = LinkAdded | LinkUpdated | LinkRemoved | LinkEvicted | LinkPruned;

/** `table`: the table that changed (one listener may hear several, see NamespaceSet.subscribeLinks). */
export type LinkChangeListener = (change: LinkChange, table: LinkTable) => void;

/** What one applied message did: the change it made (also told to subscribers), or none. */
export type ApplyResult =
  | LinkAdded
  | LinkUpdated
  | LinkRemoved
  | { readonly kind: 'unchanged'; readonly link: LinkState }
  | { readonly kind: 'ignored' };
