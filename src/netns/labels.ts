// The netns label of each namespace: the name of its file under --collector.netns.paths, else
// nsid-N, every label once. Pure: the discovery gathers what it needs and applies the result.

export interface LabelInput {
  /** Every nsid our namespace has given, our own self-id (`self`) possibly among them. */
  readonly nsids: Iterable<number>;
  /** Our namespace's own nsid in itself (-1: none): never labelled. */
  readonly self: number;
  /** nsid → the name of its file under the paths, in the paths' order of preference. */
  readonly named: ReadonlyMap<number, string>;
  /** The label a namespace has now, if it is known. */
  readonly previous: (nsid: number) => string | undefined;
  /** nsid → the namespace's inode, where known (the last resort of a unique label). */
  readonly inodeOf: ReadonlyMap<number, number>;
}

/** nsid → label for every nsid but `self`. */
export function chooseLabels({ nsids, self, named, previous, inodeOf }: LabelInput): Map<number, string> {
  // Labels: the file's name, unless another namespace has it already (the same name in two
  // paths); else nsid-N.
  const taken = new Set<string>();
  const labels = new Map<number, string>();
  for (const [nsid, name] of named) {
    if (!taken.has(name)) {
      taken.add(name);
      labels.set(nsid, name);
    }
  }
  // A namespace whose file is gone keeps its name while it lives (until RTM_DELNSID), unless
  // a namespace named there now has it: `ip netns del` unlinks the file at once, the kernel
  // destroys the namespace a moment later, and its series should not be relabelled nsid-N
  // for that moment.
  const wanted = new Map<number, string | undefined>();
  for (const nsid of nsids) {
    if (nsid === self) continue;
    const before = previous(nsid);
    const sticky = before !== undefined && before !== `nsid-${nsid}` && !taken.has(before) ? before : undefined;
    wanted.set(nsid, labels.get(nsid) ?? sticky);
  }
  // Every label once: a namespace without a name is nsid-N, and a file that happens to be
  // called nsid-N (N another namespace's nsid) must not take that: it is nsid-M itself then.
  // Two namespaces with one label would be duplicate series, and Prometheus drops such a scrape.
  const generated = new Set<string>();
  for (const [nsid, label] of wanted) if (label === undefined) generated.add(`nsid-${nsid}`);
  const used = new Set<string>();
  const final = new Map<number, string>();
  for (const [nsid, label] of wanted) {
    let chosen = label !== undefined && (!generated.has(label) || label === `nsid-${nsid}`) ? label : `nsid-${nsid}`;
    if (used.has(chosen)) chosen = `nsid-${nsid}`;
    if (used.has(chosen)) chosen = `nsid-${nsid}-${inodeOf.get(nsid) ?? 'x'}`;
    used.add(chosen);
    final.set(nsid, chosen);
  }
  return final;
}
