// linkstate_netns_info{netns,nsid,inode} 1, one sample per exported namespace, kept as bytes until
// the namespaces change (as the link families are): rendered by prom-client at every scrape, a
// hundred labelled samples cost more than the four hundred links of those namespaces.
import { escapeLabelValue, familyHeader, type ExpositionFormat, type LinkFamily } from './link-family.js';
import type { NamespaceSet } from '../netns/namespaces.js';

const FAMILY = {
  name: 'linkstate_netns_info',
  type: 'info',
  help:
    "A network namespace whose links are exported (besides the exporter's own): its netns label, its nsid in the exporter's " +
    'namespace and its inode (as /proc/PID/ns/net shows it; empty when unknown). Value is always 1.',
  samples: () => '',
} as const satisfies LinkFamily;

export class NamespaceInfoFamily {
  readonly #set: NamespaceSet;
  readonly #headers: Record<ExpositionFormat, Buffer>;
  #version = -1;
  #samples: Buffer = Buffer.alloc(0);

  constructor(set: NamespaceSet) {
    this.#set = set;
    this.#headers = {
      prometheus: Buffer.from(familyHeader(FAMILY, 'prometheus')),
      openmetrics: Buffer.from(familyHeader(FAMILY, 'openmetrics')),
    };
  }

  /** The family's pieces (none while no namespace is exported); the same Buffers until a change. */
  pieces(format: ExpositionFormat): Buffer[] {
    const set = this.#set;
    if (set.infoVersion !== this.#version) {
      const namespaces = [...set.namespaces()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.nsid - b.nsid));
      let text = '';
      for (const ns of namespaces) {
        text += `linkstate_netns_info{netns="${escapeLabelValue(ns.label)}",nsid="${ns.nsid}",inode="${ns.inode ?? ''}"} 1\n`;
      }
      this.#samples = Buffer.from(text, 'utf8');
      this.#version = set.infoVersion;
    }
    return this.#samples.length === 0 ? [] : [this.#headers[format], this.#samples];
  }
}
