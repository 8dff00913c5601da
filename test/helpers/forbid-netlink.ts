// A wrapper that runs a command with AF_NETLINK forbidden, the way systemd's
// RestrictAddressFamilies= does it: a seccomp filter (no privileges needed, inherited across
// execve) that makes socket(AF_NETLINK, ...) fail with EAFNOSUPPORT and allows everything else.
//
// Why not an LD_PRELOAD shim around socket(): koffi resolves `socket` with dlsym() on its own
// handle of libc.so.6, which looks only in libc and its dependencies, so a preloaded library never
// interposes (tried: the exporter started normally under such a shim).
//
// The C source is compiled at test time with gcc (Debian: gcc + libc6-dev, whose linux-libc-dev
// provides linux/seccomp.h).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = String.raw`
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "forbid-netlink: add this architecture's AUDIT_ARCH_*"
#endif

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: forbid-netlink COMMAND [ARG...]\n");
    return 2;
  }
  /* args[0] is read as its low 32 bits: little-endian on both architectures above. */
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("forbid-netlink: PR_SET_NO_NEW_PRIVS");
    return 2;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    perror("forbid-netlink: PR_SET_SECCOMP");
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "forbid-netlink: exec %s: %s\n", argv[1], strerror(errno));
  return 127;
}
`;

/** Compiles the wrapper into a fresh temporary directory; returns its path. Throws with gcc's output. */
export function buildForbidNetlink(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsx-forbid-netlink-'));
  const source = join(dir, 'forbid-netlink.c');
  const binary = join(dir, 'forbid-netlink');
  writeFileSync(source, SOURCE);
  const result = spawnSync('gcc', ['-O2', '-Wall', '-Werror', '-o', binary, source], { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`gcc failed (${result.status}):\n${result.stderr}`);
  return binary;
}
