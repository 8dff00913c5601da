/*
 * nl-listen: the floor for consuming rtnetlink link events, and the bench's independent view of
 * the kernel. Plain C on a NETLINK_ROUTE socket; no libraries beyond libc.
 *
 *   nl-listen listen [-b BYTES]   Join RTMGRP_LINK and count: datagrams, netlink messages,
 *                                 RTM_NEWLINK/DELLINK messages and ENOBUFS overruns. Each line
 *                                 read on stdin ("stats") is answered on stdout with
 *                                   STATS datagrams=D messages=M links=L enobufs=E last_ns=T
 *                                 T: CLOCK_MONOTONIC ns when it had last read the socket empty after
 *                                 an RTM_NEWLINK/DELLINK (0: none yet): when the kernel's last
 *                                 link notification had reached a listener that keeps up.
 *                                 End of stdin ends the program. -b: receive buffer (SO_RCVBUFFORCE,
 *                                 else SO_RCVBUF), default 8 MiB, as the exporter asks for.
 *   nl-listen watch [-b BYTES]    Join RTMGRP_LINK and print one line per RTM_NEWLINK that
 *                                 carries IFLA_CARRIER:
 *                                   CARRIER <CLOCK_MONOTONIC ns at recv> <ifname> <0|1>
 *                                 ENOBUFS prints "OVERRUN <ns>". Ends at end of stdin.
 *   nl-listen dump                One RTM_GETLINK dump; prints per link, tab separated:
 *                                   ifname carrier carrier_changes carrier_up_count carrier_down_count
 *                                 (-1 for an attribute the kernel did not send).
 *
 * CLOCK_MONOTONIC is the clock Node's process.hrtime() reads, so the harness can compare times.
 * Only messages from the kernel (nl_pid 0) are counted. Build: gcc -O2 -Wall -o nl-listen nl-listen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IFLA_CARRIER_UP_COUNT
#define IFLA_CARRIER_UP_COUNT 47
#define IFLA_CARRIER_DOWN_COUNT 48
#endif

#define BUF_BYTES (64 * 1024)

static unsigned char buf[BUF_BYTES];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_socket(unsigned groups, int rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) { perror("socket"); exit(1); }
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
    perror("setsockopt SO_RCVBUF"); exit(1);
  }
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); exit(1); }
  return fd;
}

/* Receives one datagram. Returns its length, 0 when none is waiting (nonblocking), -1 for
 * ENOBUFS, and exits on any other error. Sets *from_kernel. */
static ssize_t receive(int fd, int flags, int *from_kernel) {
  struct sockaddr_nl from;
  struct iovec iov = { buf, sizeof buf };
  struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
  for (;;) {
    ssize_t n = recvmsg(fd, &msg, flags);
    if (n >= 0) { *from_kernel = from.nl_pid == 0; return n; }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    if (errno == ENOBUFS) return -1;
    perror("recvmsg"); exit(1);
  }
}

struct link_info {
  char name[IFNAMSIZ + 1];
  long long carrier, changes, up, down;
};

static void parse_link(struct nlmsghdr *nh, int *ifindex, struct link_info *li) {
  struct ifinfomsg *ifi = NLMSG_DATA(nh);
  *ifindex = ifi->ifi_index;
  li->name[0] = 0;
  li->carrier = li->changes = li->up = li->down = -1;
  int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    int plen = (int)RTA_PAYLOAD(a);
    const unsigned char *p = RTA_DATA(a);
    switch (a->rta_type) {
      case IFLA_IFNAME: snprintf(li->name, sizeof li->name, "%.*s", plen, (const char *)p); break;
      case IFLA_CARRIER: if (plen == 1) li->carrier = p[0]; break;
      case IFLA_CARRIER_CHANGES: if (plen == 4) li->changes = *(const uint32_t *)p; break;
      case IFLA_CARRIER_UP_COUNT: if (plen == 4) li->up = *(const uint32_t *)p; break;
      case IFLA_CARRIER_DOWN_COUNT: if (plen == 4) li->down = *(const uint32_t *)p; break;
      default: break;
    }
  }
}

static int listen_mode(int rcvbuf) {
  int fd = open_socket(RTMGRP_LINK, rcvbuf);
  unsigned long long datagrams = 0, messages = 0, links = 0, enobufs = 0;
  uint64_t last_ns = 0;
  struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
  char line[256];
  printf("READY\n");
  fflush(stdout);
  for (;;) {
    if (poll(pfd, 2, -1) < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
    if (pfd[0].revents) {
      unsigned long long links_before = links;
      for (;;) {
        int from_kernel;
        ssize_t n = receive(fd, MSG_DONTWAIT, &from_kernel);
        if (n == 0) {
          if (links != links_before) last_ns = now_ns(); /* one clock read per round */
          break;
        }
        if (n < 0) { enobufs++; continue; }
        if (!from_kernel) continue;
        datagrams++;
        int left = (int)n;
        for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
          messages++;
          if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK) links++;
        }
      }
    }
    if (pfd[1].revents) {
      if (!fgets(line, sizeof line, stdin)) return 0;
      printf("STATS datagrams=%llu messages=%llu links=%llu enobufs=%llu last_ns=%llu\n", datagrams, messages, links, enobufs,
             (unsigned long long)last_ns);
      fflush(stdout);
    }
  }
}

static int watch_mode(int rcvbuf) {
  int fd = open_socket(RTMGRP_LINK, rcvbuf);
  struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
  char line[256];
  printf("READY\n");
  fflush(stdout);
  for (;;) {
    if (poll(pfd, 2, -1) < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
    if (pfd[0].revents) {
      for (;;) {
        int from_kernel;
        ssize_t n = receive(fd, MSG_DONTWAIT, &from_kernel);
        uint64_t t = now_ns();
        if (n == 0) break;
        if (n < 0) { printf("OVERRUN %llu\n", (unsigned long long)t); continue; }
        if (!from_kernel) continue;
        int left = (int)n;
        for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
          if (nh->nlmsg_type != RTM_NEWLINK) continue;
          int ifindex;
          struct link_info li;
          parse_link(nh, &ifindex, &li);
          if (li.carrier < 0) continue;
          printf("CARRIER %llu %s %lld\n", (unsigned long long)t, li.name, li.carrier);
        }
      }
      fflush(stdout);
    }
    if (pfd[1].revents) {
      if (!fgets(line, sizeof line, stdin)) return 0;
    }
  }
}

static int dump_mode(void) {
  int fd = open_socket(0, 8 << 20);
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req = {
    .nh = { .nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
    .ifi = { .ifi_family = AF_UNSPEC },
  };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) { perror("sendto"); return 1; }
  for (;;) {
    int from_kernel;
    ssize_t n = receive(fd, 0, &from_kernel);
    if (n < 0) { fprintf(stderr, "dump: ENOBUFS\n"); return 1; }
    if (!from_kernel) continue;
    int left = (int)n;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
      if (nh->nlmsg_type == NLMSG_DONE) return fflush(stdout) == 0 ? 0 : 1;
      if (nh->nlmsg_type == NLMSG_ERROR) { fprintf(stderr, "dump: NLMSG_ERROR\n"); return 1; }
      if (nh->nlmsg_flags & NLM_F_DUMP_INTR) { fprintf(stderr, "dump: interrupted\n"); return 3; }
      if (nh->nlmsg_type != RTM_NEWLINK) continue;
      int ifindex;
      struct link_info li;
      parse_link(nh, &ifindex, &li);
      printf("%s\t%lld\t%lld\t%lld\t%lld\n", li.name, li.carrier, li.changes, li.up, li.down);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) goto usage;
  int rcvbuf = 8 << 20;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) rcvbuf = atoi(argv[++i]);
    else goto usage;
  }
  if (strcmp(argv[1], "listen") == 0) return listen_mode(rcvbuf);
  if (strcmp(argv[1], "watch") == 0) return watch_mode(rcvbuf);
  if (strcmp(argv[1], "dump") == 0) return dump_mode();
usage:
  fprintf(stderr, "usage: nl-listen listen|watch|dump [-b RCVBUF_BYTES]\n");
  return 2;
}
