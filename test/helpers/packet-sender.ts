// An AF_PACKET sender for the LLDP socket's tests: whole Ethernet frames out of one link of the
// namespace the calling thread is in when it is opened (enterNetns). Test-only: the exporter
// never sends.
import koffi from 'koffi';
import { libcBindings } from './libc.js';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

const calls = libcBindings<{
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  if_nametoindex: (name: string) => number;
}>({
  socket: 'int socket(int domain, int type, int protocol)',
  bind: 'int bind(int fd, void *addr, uint32_t len)',
  send: 'long send(int fd, void *buf, size_t len, int flags)',
  close: 'int close(int fd)',
  if_nametoindex: 'unsigned int if_nametoindex(const char *name)',
});

export interface PacketSender {
  readonly ifindex: number;
  /** Sends one frame (destination, source, ethertype, payload); throws on failure. */
  send(frame: Buffer): void;
  close(): void;
}

/** Opens a sender on IFNAME in the calling thread's namespace (protocol 0: it receives nothing). */
export function openPacketSender(ifname: string): PacketSender {
  const libc = calls();
  const ifindex = libc.if_nametoindex(ifname);
  if (ifindex === 0) throw new Error(`no link ${ifname}: errno ${koffi.errno()}`);
  const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`AF_PACKET socket failed: errno ${koffi.errno()}`);
  const address = Buffer.alloc(20);
  address.writeUInt16LE(AF_PACKET, 0);
  address.writeInt32LE(ifindex, 4);
  if (libc.bind(fd, address, 20) < 0) {
    const errno = koffi.errno();
    libc.close(fd);
    throw new Error(`bind to ${ifname} failed: errno ${errno}`);
  }
  let open = true;
  return {
    ifindex,
    send(frame) {
      if (!open) throw new Error('sender closed');
      if (libc.send(fd, frame, frame.length, 0) !== frame.length) throw new Error(`send failed: errno ${koffi.errno()}`);
    },
    close() {
      if (open) libc.close(fd);
      open = false;
    },
  };
}
