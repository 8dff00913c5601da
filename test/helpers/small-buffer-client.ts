// A TCP client with a small receive buffer, set before connect (Node has no option for it), so
// that a client that never reads stalls the server after a few KiB instead of the megabytes a
// loopback socket absorbs. IPv4 only.
import net from 'node:net';
import koffi from 'koffi';
import { libcBindings } from './libc.js';

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;

const bindings = libcBindings<{
  socket: (domain: number, type: number, protocol: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  close: (fd: number) => number;
}>({
  socket: 'int socket(int domain, int type, int protocol)',
  setsockopt: 'int setsockopt(int fd, int level, int name, const void *value, uint32_t len)',
  connect: 'int connect(int fd, const void *addr, uint32_t len)',
  close: 'int close(int fd)',
});

/** Connects to host:port (IPv4) with SO_RCVBUF set to receiveBufferBytes first; the socket starts paused. */
export function connectSmallBuffer(host: string, port: number, receiveBufferBytes: number): net.Socket {
  const c = bindings();
  const fd = c.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket failed: errno ${koffi.errno()}`);
  try {
    const size = Buffer.alloc(4);
    size.writeInt32LE(receiveBufferBytes);
    if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4) !== 0) throw new Error(`setsockopt SO_RCVBUF failed: errno ${koffi.errno()}`);
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(port, 2);
    for (const [i, part] of host.split('.').entries()) addr[4 + i] = Number(part);
    // Blocking, but on loopback the kernel completes the handshake without the server's accept().
    if (c.connect(fd, addr, 16) !== 0) throw new Error(`connect ${host}:${port} failed: errno ${koffi.errno()}`);
  } catch (error) {
    c.close(fd);
    throw error;
  }
  const socket = new net.Socket({ fd, readable: true, writable: true });
  socket.pause();
  return socket;
}
