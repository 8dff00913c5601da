// Holding a tap open, as a VM or a VPN daemon does: a tap's carrier can be switched on only while
// a process has it attached (TUNSETIFF on /dev/net/tun); `ip link set TAP carrier on` is refused
// with EPERM otherwise, and closing the last descriptor drops the carrier.
import koffi from 'koffi';
import { libcBindings } from './libc.js';

/** ioctl TUNSETIFF = _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
/** struct ifreq: char ifr_name[16], then a union whose first member we use is short ifr_flags. */
const IFREQ_LEN = 40;
const IFNAMSIZ = 16;

const libc = libcBindings<{
  open: (path: string, flags: number) => number;
  ioctl: (fd: number, request: number, arg: Buffer) => number;
  close: (fd: number) => number;
}>({
  open: 'int open(const char *path, int flags)',
  // ioctl is variadic in C; on x86-64 and arm64 a fixed pointer argument is passed the same way
  ioctl: 'int ioctl(int fd, unsigned long request, void *arg)',
  close: 'int close(int fd)',
});

/**
 * Attaches to the existing tap `name` of the calling thread's network namespace (enter it first
 * with enterNetns) and returns the function that lets go of it. The tap must have been made with
 * `ip tuntap add NAME mode tap` (IFF_TAP | IFF_NO_PI, iproute2's default).
 */
export function holdTap(name: string): () => void {
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new RangeError(`tap name ${name} longer than ${IFNAMSIZ - 1} bytes`);
  const c = libc();
  const fd = c.open('/dev/net/tun', O_RDWR | O_CLOEXEC);
  if (fd < 0) throw new Error(`open /dev/net/tun failed: errno ${koffi.errno()}`);
  const ifr = Buffer.alloc(IFREQ_LEN);
  ifr.write(name, 0, 'utf8');
  ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI, IFNAMSIZ);
  if (c.ioctl(fd, TUNSETIFF, ifr) !== 0) {
    const errno = koffi.errno();
    c.close(fd);
    throw new Error(`TUNSETIFF ${name} failed: errno ${errno}`);
  }
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    c.close(fd);
  };
}
