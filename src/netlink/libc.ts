// The libc calls the netlink socket needs, bound once through koffi.
// Only src/netlink/socket.ts and src/netlink/receive-worker.ts import this file; nothing else in
// src/ touches koffi. Every function is declared once at load time: calls construct no koffi types.
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');

/** A pointer to memory from koffi.alloc (stable address, not moved by the GC). */
export type NativePointer = unknown;

export const libc = {
  socket: lib.func('int socket(int domain, int type, int protocol)') as (
    domain: number,
    type: number,
    protocol: number,
  ) => number,
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as (
    fd: number,
    level: number,
    name: number,
    value: Buffer,
    len: number,
  ) => number,
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)') as (
    fd: number,
    level: number,
    name: number,
    value: Buffer,
    len: Buffer,
  ) => number,
  bind: lib.func('int bind(int fd, void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number,
  getsockname: lib.func('int getsockname(int fd, void *addr, void *len)') as (
    fd: number,
    addr: Buffer,
    len: Buffer,
  ) => number,
  sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)') as (
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrlen: number,
  ) => number,
  /** The msghdr is passed as native memory (koffi.alloc) so iov_base can hold a stable address. */
  recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)') as (
    fd: number,
    msg: NativePointer,
    flags: number,
  ) => number,
  poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as (
    fds: NativePointer,
    nfds: number,
    timeout: number,
  ) => number,
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number,
  write: lib.func('long write(int fd, void *buf, size_t len)') as (fd: number, buf: Buffer, len: number) => number,
  close: lib.func('int close(int fd)') as (fd: number) => number,
};

/** errno of the last libc call made on this thread through koffi. */
export function lastErrno(): number {
  return koffi.errno();
}

/** Native memory of `bytes` bytes, a Buffer view on it (no copy) and its address. */
export interface NativeBlock {
  readonly pointer: NativePointer;
  readonly view: Buffer;
  readonly address: bigint;
}

export function allocNative(bytes: number): NativeBlock {
  const pointer = koffi.alloc('uint8_t', bytes);
  const view = Buffer.from(koffi.view(pointer, bytes));
  view.fill(0);
  return { pointer, view, address: koffi.address(pointer) };
}

export function freeNative(block: NativeBlock): void {
  koffi.free(block.pointer);
}

// struct layouts (resolved once by koffi for this ABI)
const iovec = koffi.struct('linkstate_iovec', { iov_base: 'void *', iov_len: 'size_t' });
const msghdr = koffi.struct('linkstate_msghdr', {
  msg_name: 'void *',
  msg_namelen: 'uint32_t',
  msg_iov: 'void *',
  msg_iovlen: 'size_t',
  msg_control: 'void *',
  msg_controllen: 'size_t',
  msg_flags: 'int',
});

export const IOVEC_SIZE = koffi.sizeof(iovec);
export const MSGHDR_SIZE = koffi.sizeof(msghdr);
export const MSGHDR_OFFSETS = {
  name: koffi.offsetof(msghdr, 'msg_name'),
  namelen: koffi.offsetof(msghdr, 'msg_namelen'),
  iov: koffi.offsetof(msghdr, 'msg_iov'),
  iovlen: koffi.offsetof(msghdr, 'msg_iovlen'),
  flags: koffi.offsetof(msghdr, 'msg_flags'),
} as const;
export const IOVEC_OFFSETS = {
  base: koffi.offsetof(iovec, 'iov_base'),
  len: koffi.offsetof(iovec, 'iov_len'),
} as const;
export const POINTER_SIZE = koffi.sizeof('void *');

/** struct pollfd { int fd; short events; short revents; } */
export const POLLFD_SIZE = 8;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

/** struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; } */
export const SOCKADDR_NL_SIZE = 12;

/** Stores a native address (pointer or size_t) into native memory at `offset`, in host byte order. */
export function writeWord(target: Buffer, offset: number, value: bigint): void {
  if (POINTER_SIZE === 8) {
    new BigUint64Array(target.buffer, target.byteOffset + offset, 1)[0] = value;
  } else {
    new Uint32Array(target.buffer, target.byteOffset + offset, 1)[0] = Number(value);
  }
}
