// The libc and libuv calls the netlink socket and the LLDP packet socket need (and fcntl for
// stderr), bound once through koffi. Only the sockets (src/netlink/socket.ts, poll.ts and
// src/lldp/packet-socket.ts) import this file; nothing else in src/ touches koffi. Every function
// is declared once at load time: calls construct no koffi types. koffi is loaded with require:
// its CommonJS index reads node:fs with require too, where its ES index would load the fs promise
// API (see runtime/builtins.ts).
import { createRequire } from 'node:module';
import { fs } from '../runtime/builtins.js';
import { AF_NETLINK } from './constants.js';

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');

const lib = koffi.load('libc.so.6');

/** A pointer to memory from koffi.alloc (stable address, not moved by the GC). */
export type NativePointer = unknown;

export const libc = {
  socket: lib.func('int socket(int domain, int type, int protocol)') as
    (domain: number, type: number, protocol: number) => number,
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as
    (fd: number, level: number, name: number, value: Buffer, len: number) => number,
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)') as
    (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number,
  bind: lib.func('int bind(int fd, void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number,
  getsockname: lib.func('int getsockname(int fd, void *addr, void *len)') as
    (fd: number, addr: Buffer, len: Buffer) => number,
  sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)') as
    (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number,
  /** The msghdr is passed as native memory (koffi.alloc) so iov_base can hold a stable address. */
  recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)') as
    (fd: number, msg: NativePointer, flags: number) => number,
  /**
   * Up to vlen datagrams in one call: `msgvec` is the address (koffi.address) of an array of
   * struct mmsghdr in native memory, passed as an integer so that a call can start mid-array.
   */
  recvmmsg: lib.func('int recvmmsg(int fd, uintptr_t msgvec, unsigned int vlen, int flags, void *timeout)') as
    (fd: number, msgvec: bigint, vlen: number, flags: number, timeout: null) => number,
  close: lib.func('int close(int fd)') as (fd: number) => number,
};

const F_GETFL = 3;
const F_SETFL = 4;
const fcntl = lib.func('int fcntl(int fd, int cmd, ...)') as (fd: number, cmd: number, ...args: unknown[]) => number;

/** Sets O_NONBLOCK on fd's open file description (fcntl(2)); false when fcntl failed. */
export function setNonBlocking(fd: number): boolean {
  const flags = fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  if ((flags & fs.constants.O_NONBLOCK) !== 0) return true;
  return fcntl(fd, F_SETFL, 'int', flags | fs.constants.O_NONBLOCK) === 0;
}

// glibc's allocator, told to give memory back. A storm or a 10,000-link dump allocates and frees
// many large buffers (datagram rounds, rendered chunks, gzip state); with glibc's defaults the
// mmap threshold rises to the largest freed block, later blocks of that size come from the heap,
// and what is freed there stays resident (the soak's RSS after GC rose round after round while
// the JS heap stayed flat). Fixed thresholds keep large blocks mmap'ed (returned on free) and let
// the heap top be trimmed; two arenas stop V8's and libuv's threads from each keeping one.
// Not glibc (musl): nothing to tune, and nothing is done.
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;

export interface AllocatorSettings {
  readonly trimThresholdBytes: number;
  readonly mmapThresholdBytes: number;
  readonly arenaMax: number;
}

export const ALLOCATOR_SETTINGS: AllocatorSettings = {
  trimThresholdBytes: 256 * 1024,
  mmapThresholdBytes: 128 * 1024,
  arenaMax: 2,
};

/** Applies ALLOCATOR_SETTINGS with mallopt(3); false when this libc has no mallopt or refused one. */
export function configureAllocator(settings: AllocatorSettings = ALLOCATOR_SETTINGS): boolean {
  let mallopt: (param: number, value: number) => number;
  try {
    mallopt = lib.func('int mallopt(int param, int value)') as typeof mallopt;
  } catch {
    return false;
  }
  // mallopt returns 1 on success, 0 on error.
  return (
    mallopt(M_MMAP_THRESHOLD, settings.mmapThresholdBytes) === 1 &&
    mallopt(M_TRIM_THRESHOLD, settings.trimThresholdBytes) === 1 &&
    mallopt(M_ARENA_MAX, settings.arenaMax) === 1
  );
}

// libuv, reached through the symbols the node binary exports (koffi.load(null) opens the running
// process). A uv_poll_t on the default loop reports readiness of the netlink fd on the main
// thread, so the kernel's socket buffer is the only queue between the kernel and the table.
const self = koffi.load(null as unknown as string);
const pollCallback = koffi.proto('void linkstate_uv_poll_cb(void *handle, int status, int events)');
const closeCallback = koffi.proto('void linkstate_uv_close_cb(void *handle)');

export const uv = {
  defaultLoop: self.func('void *uv_default_loop(void)') as () => NativePointer,
  handleSize: self.func('size_t uv_handle_size(int type)') as (type: number) => number,
  pollInit: self.func('int uv_poll_init(void *loop, void *handle, int fd)') as
    (loop: NativePointer, handle: NativePointer, fd: number) => number,
  pollStart: self.func('int uv_poll_start(void *handle, int events, linkstate_uv_poll_cb *cb)') as
    (handle: NativePointer, events: number, cb: NativePointer) => number,
  pollStop: self.func('int uv_poll_stop(void *handle)') as (handle: NativePointer) => number,
  close: self.func('void uv_close(void *handle, linkstate_uv_close_cb *cb)') as
    (handle: NativePointer, cb: NativePointer) => void,
  unref: self.func('void uv_unref(void *handle)') as (handle: NativePointer) => void,
};

/** uv_handle_type UV_POLL, uv_poll_event UV_READABLE (uv.h). */
export const UV_POLL = 8;
export const UV_READABLE = 1;

/**
 * Registers the one poll callback and the one close callback of the process (koffi callbacks
 * are a limited resource: sockets share these two and are told apart by handle address).
 */
export function registerUvCallbacks(
  onPoll: (handle: bigint, status: number, events: number) => void,
  onClose: (handle: bigint) => void,
): { poll: NativePointer; close: NativePointer } {
  return {
    poll: koffi.register(
      (handle: unknown, status: number, events: number) => onPoll(koffi.address(handle), status, events),
      koffi.pointer(pollCallback),
    ),
    close: koffi.register((handle: unknown) => onClose(koffi.address(handle)), koffi.pointer(closeCallback)),
  };
}

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

/**
 * zero: false leaves the memory as malloc gave it, for a buffer only ever read where the kernel
 * has just written (the datagram staging area): a large block comes from mmap, and its pages are
 * not resident until first written. Zeroing the two 1 MiB staging areas (link and ethtool
 * sockets) would make them resident at start, for nothing (docs/design.md, Measured trade-offs).
 */
export function allocNative(bytes: number, options: { zero?: boolean } = {}): NativeBlock {
  const pointer = koffi.alloc('uint8_t', bytes);
  const view = Buffer.from(koffi.view(pointer, bytes));
  if (options.zero !== false) view.fill(0);
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

const mmsghdr = koffi.struct('linkstate_mmsghdr', { msg_hdr: msghdr, msg_len: 'unsigned int' });

export const IOVEC_SIZE = koffi.sizeof(iovec);
export const MMSGHDR_SIZE = koffi.sizeof(mmsghdr);
/** Offset of msg_len in struct mmsghdr (msg_hdr is at 0). */
export const MMSGHDR_LEN_OFFSET = koffi.offsetof(mmsghdr, 'msg_len');
export const MSGHDR_SIZE = koffi.sizeof(msghdr);
export const MSGHDR_OFFSETS = {
  name: koffi.offsetof(msghdr, 'msg_name'),
  namelen: koffi.offsetof(msghdr, 'msg_namelen'),
  iov: koffi.offsetof(msghdr, 'msg_iov'),
  iovlen: koffi.offsetof(msghdr, 'msg_iovlen'),
  control: koffi.offsetof(msghdr, 'msg_control'),
  controllen: koffi.offsetof(msghdr, 'msg_controllen'),
  flags: koffi.offsetof(msghdr, 'msg_flags'),
} as const;
export const IOVEC_OFFSETS = {
  base: koffi.offsetof(iovec, 'iov_base'),
  len: koffi.offsetof(iovec, 'iov_len'),
} as const;
export const POINTER_SIZE = koffi.sizeof('void *');

/** struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; } */
export const SOCKADDR_NL_SIZE = 12;
/** struct sockaddr_ll { u16 family; be16 protocol; int ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; } */
export const SOCKADDR_LL_SIZE = 20;

/** struct sockaddr_nl in host byte order. */
export function encodeSockaddrNl(pid: number, groups: number): Buffer {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  new Uint16Array(address.buffer, address.byteOffset, 1)[0] = AF_NETLINK;
  const words = new Uint32Array(address.buffer, address.byteOffset, 3);
  words[1] = pid >>> 0;
  words[2] = groups >>> 0;
  return address;
}

/** Stores a native address (pointer or size_t) into native memory at `offset`, in host byte order. */
export function writeWord(target: Buffer, offset: number, value: bigint): void {
  if (POINTER_SIZE === 8) {
    new BigUint64Array(target.buffer, target.byteOffset + offset, 1)[0] = value;
  } else {
    new Uint32Array(target.buffer, target.byteOffset + offset, 1)[0] = Number(value);
  }
}
