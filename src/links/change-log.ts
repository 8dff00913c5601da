// The log lines of link changes, as a table subscriber: renames and carrier changes at info,
// links added, removed and dropped (evicted by a name, pruned by a dump) at debug.

import type { Logger } from '../runtime/logger.js';
import { lossNote } from './carrier-causes.js';
import type { LinkChange, LinkChangeListener } from './link-change.js';
import type { LinkTable } from './table.js';

export function linkChangeLog(logger: Logger): LinkChangeListener {
  return (change: LinkChange, table: LinkTable): void => {
    const link = change.link;
    switch (change.kind) {
      case 'updated':
        if (change.renamedFrom !== undefined) {
          logger.info({ device: link.name, ...netnsField(link.netns), from: change.renamedFrom, ifindex: link.ifindex }, 'link renamed');
        }
        if (change.carrier !== undefined) {
          // Built key by key (no spreads: one object per line of a storm). Order as logged:
          // device, netns (other namespaces), from, to, changes, the cause of the loss it
          // announced (and protodown's reason bits), losses nobody announced, then the down
          // reason (ethtool ext_state) when the driver has said one for this link.
          const fields: Record<string, unknown> = { device: link.name };
          if (link.netns !== undefined) fields['netns'] = link.netns;
          fields['from'] = change.carrier.from;
          fields['to'] = change.carrier.to;
          fields['changes'] = change.carrier.changes;
          const note = lossNote(change.before, link);
          if (note.cause !== undefined) fields['cause'] = note.cause;
          if (note.protodownReason !== undefined) fields['protodown_reason'] = note.protodownReason;
          if (note.unannounced > 0) fields['unannounced_losses'] = note.unannounced;
          const reason = link.carrier ? undefined : link.downReason;
          if (reason !== undefined) {
            fields['reason'] = reason;
            fields['detail'] = link.downReasonDetail ?? '';
          }
          logger.info(fields, 'carrier changed');
        }
        return;
      case 'added':
        logger.debug({ device: link.name, ...netnsField(link.netns), ifindex: link.ifindex }, 'link added');
        return;
      case 'removed':
        logger.debug({ device: link.name, ...netnsField(link.netns), ifindex: link.ifindex }, 'link removed');
        return;
      case 'evicted':
        logger.debug({ device: link.name, ...netnsField(link.netns), ifindex: link.ifindex }, 'link gone (a new link took its name), removed');
        return;
      case 'pruned': {
        const where = table.nsid === undefined ? {} : { nsid: table.nsid, ...netnsField(link.netns) };
        logger.debug({ device: link.name, ...where, ifindex: link.ifindex }, 'link gone (missed its deletion), removed');
        return;
      }
    }
  };
}

function netnsField(netns: string | undefined): { netns?: string } {
  return netns === undefined ? {} : { netns };
}
