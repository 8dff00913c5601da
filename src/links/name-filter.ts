// The include/exclude rule of --collector.device.* (device names) and --collector.netns.*
// (namespace labels), in one place: a name is selected when it matches `include`, if given, and
// does not match `exclude`, if given.

export interface NameFilter {
  readonly include?: RegExp | undefined;
  readonly exclude?: RegExp | undefined;
}

export function nameSelected(filter: NameFilter, name: string): boolean {
  if (filter.include !== undefined && !filter.include.test(name)) return false;
  if (filter.exclude !== undefined && filter.exclude.test(name)) return false;
  return true;
}
