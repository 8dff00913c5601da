// libc calls for the test helpers (setns, taps, sockets with small buffers), bound through koffi
// on first use: one loader instead of one per helper.
import koffi from 'koffi';

let lib: ReturnType<typeof koffi.load> | undefined;

/** A getter of the functions of `prototypes` (C declarations), bound on its first call. */
export function libcBindings<T extends Record<string, (...args: never[]) => number>>(prototypes: { readonly [K in keyof T]: string }): () => T {
  let bound: T | undefined;
  return () => {
    if (bound === undefined) {
      lib ??= koffi.load('libc.so.6');
      const l = lib;
      bound = Object.fromEntries(Object.entries(prototypes).map(([name, prototype]) => [name, l.func(prototype as string)])) as unknown as T;
    }
    return bound;
  };
}

/** open, setns and close: what switching a thread's network namespace takes. */
export const setnsCalls = libcBindings<{
  open: (path: string, flags: number) => number;
  setns: (fd: number, nstype: number) => number;
  close: (fd: number) => number;
}>({
  open: 'int open(const char *path, int flags)',
  setns: 'int setns(int fd, int nstype)',
  close: 'int close(int fd)',
});
