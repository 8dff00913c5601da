// A pipe nobody reads, for a child's stderr: a FIFO whose read end the test holds open and never
// reads, so the child's writes fill it (64 KiB) and then block or fail with EAGAIN. The write end
// given to the child is blocking, as a shell's `2>&1 | stuck-reader` gives it.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';

const FIONREAD = 0x541b;
const PIPE_BUF = 4096;
const PROBE = Buffer.alloc(PIPE_BUF, '.');
type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
let ioctl: Ioctl | undefined;

export interface UnreadPipe {
  /** The blocking write end, for the child's stdio (kept open here until close()). */
  readonly writeFd: number;
  /** Bytes written into the pipe and not read (FIONREAD on the read end). */
  queued(): number;
  /**
   * True when the pipe has no free page: a write of PIPE_BUF bytes (atomic) through a
   * non-blocking end of its own gets EAGAIN. (A small write could still go into the last page's
   * room, and a full pipe may hold less than 64 KiB.) When not full, those bytes stay in it.
   */
  full(): boolean;
  /** Closes both ends and removes the FIFO. */
  close(): void;
}

export function openUnreadPipe(): UnreadPipe {
  const dir = mkdtempSync(join(tmpdir(), 'lsx-unread-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  // The read end first (non-blocking, so the open does not wait for a writer), then the write end.
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  const probeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  let open = true;
  return {
    writeFd,
    queued() {
      ioctl ??= koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, ...)') as Ioctl;
      const count = Buffer.alloc(4);
      if (ioctl(readFd, FIONREAD, 'void *', count) !== 0) throw new Error(`FIONREAD failed: errno ${koffi.errno()}`);
      return count.readInt32LE(0);
    },
    full() {
      try {
        writeSync(probeFd, PROBE);
        return false;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return true;
        throw error;
      }
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(readFd);
      closeSync(writeFd);
      closeSync(probeFd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
