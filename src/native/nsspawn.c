/*
 * nsspawn: starts a process inside a new or joined user namespace, for a Node process that cannot.
 *
 * unshare(CLONE_NEWUSER) and setns() into a user namespace fail with EINVAL in a multi-threaded
 * process, and Node always is one; fork() through an FFI cannot run code before exec. This helper
 * is the single-threaded step in between (the part of runc that is C, nsexec, for the same
 * reason). It is spawned by hostform's launcher and, in this order:
 *
 *   1. joins each namespace given with -j, in the order given (the caller puts namespaces that
 *      belong to the host's user namespace, such as a network namespace hostform made, before a
 *      user namespace, and the ones owned by that user namespace after it);
 *   2. with -u, unshares a new user namespace, says {"kind":"userns"} on the sync socket and
 *      waits for a line back: the launcher, root outside, writes /proc/<pid>/uid_map and gid_map
 *      in between (a process cannot map ranges of the parent namespace for itself);
 *   3. after 1 (a user namespace joined) or 2, becomes uid and gid 0 there with no supplementary
 *      groups, so that the program it starts is root of the user namespace with every capability
 *      in it (until then its ids are unmapped);
 *   4. unshares the namespaces of -n: made now, they are owned by the new user namespace, so root
 *      inside may mount, set its hostname and so on in them;
 *   5. clones the program with CLONE_PARENT: it is the launcher's child, as a process the launcher
 *      spawned itself would be, and (with CLONE_NEWPID in -n) PID 1 of the new PID namespace;
 *   6. says {"kind":"spawned","pid":N} with its pid as the launcher sees it, and exits.
 *
 * Any failure is one line {"kind":"error","syscall":...,"errno":N} and exit status 1; the program
 * never runs then. fds are passed through untouched, -j ones included: the program gets the same
 * fds this got.
 *
 * Usage: nsspawn -s FD [-c] [-j FLAGS:FD]... [-u] [-n FLAGS] -- PROGRAM [ARG]...
 * -c: the program does not get the sync socket (a holder that only sleeps has no use for it).
 * FLAGS are CLONE_NEW* masks in hex; a -j FD may be a pidfd, whose FLAGS name several namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_JOINS 16

static int sync_fd = -1;

static void say(const char *line) {
  size_t len = strlen(line);
  while (len > 0) {
    ssize_t n = write(sync_fd, line, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);
    line += n;
    len -= (size_t)n;
  }
}

static void fail(const char *syscall_name, int err) {
  char line[256];
  snprintf(line, sizeof line, "{\"kind\":\"error\",\"syscall\":\"%s\",\"errno\":%d,\"message\":\"%s\"}\n", syscall_name, err,
           strerror(err));
  if (sync_fd >= 0) say(line);
  else fputs(line, stderr);
  _exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "nsspawn: %s\nusage: nsspawn -s FD [-c] [-j FLAGS:FD]... [-u] [-n FLAGS] -- PROGRAM [ARG]...\n", why);
  _exit(2);
}

static unsigned long parse_hex(const char *s, char **end) {
  errno = 0;
  unsigned long v = strtoul(s, end, 16);
  if (errno != 0 || *end == s) usage("bad namespace flags");
  return v;
}

static int parse_fd(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535) usage("bad fd");
  return (int)v;
}

/* Reads one line (the launcher's go-ahead); EOF means the launcher gave up: stop here. */
static void await_line(void) {
  char c;
  for (;;) {
    ssize_t n = read(sync_fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read", errno);
    if (n == 0) _exit(1);
    if (c == '\n') return;
  }
}

/* Root of the user namespace just entered: gid first, while the uid may still change it. */
static void become_root(void) {
  if (setresgid(0, 0, 0) != 0) fail("setresgid", errno);
  if (setgroups(0, NULL) != 0) fail("setgroups", errno);
  if (setresuid(0, 0, 0) != 0) fail("setresuid", errno);
}

int main(int argc, char **argv) {
  unsigned long join_flags[MAX_JOINS];
  int join_fds[MAX_JOINS];
  int joins = 0;
  int new_user = 0;
  int close_sync = 0;
  unsigned long new_flags = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc && strcmp(a, "-u") != 0 && strcmp(a, "-c") != 0) usage("option without a value");
    if (strcmp(a, "-s") == 0) {
      sync_fd = parse_fd(argv[++i]);
    } else if (strcmp(a, "-j") == 0) {
      if (joins == MAX_JOINS) usage("too many -j");
      char *end;
      join_flags[joins] = parse_hex(argv[++i], &end);
      if (*end != ':') usage("-j takes FLAGS:FD");
      join_fds[joins++] = parse_fd(end + 1);
    } else if (strcmp(a, "-u") == 0) {
      new_user = 1;
    } else if (strcmp(a, "-c") == 0) {
      close_sync = 1;
    } else if (strcmp(a, "-n") == 0) {
      char *end;
      new_flags = parse_hex(argv[++i], &end);
      if (*end != '\0') usage("bad -n flags");
    } else {
      usage("unknown option");
    }
  }
  if (sync_fd < 0) usage("-s is required");
  if (i >= argc) usage("no program");
  if ((new_flags & CLONE_NEWUSER) != 0) usage("use -u for a new user namespace");

  int in_user_ns = 0;
  for (int j = 0; j < joins; j++) {
    /* Not closed: the program gets it too (an exec init's fd 5 is its target's pidfd). */
    if (setns(join_fds[j], (int)join_flags[j]) != 0) fail("setns", errno);
    if ((join_flags[j] & CLONE_NEWUSER) != 0) in_user_ns = 1;
  }
  if (new_user) {
    if (unshare(CLONE_NEWUSER) != 0) fail("unshare", errno);
    say("{\"kind\":\"userns\"}\n");
    await_line();
    in_user_ns = 1;
  }
  if (in_user_ns) become_root();
  if (new_flags != 0 && unshare((int)new_flags) != 0) fail("unshare", errno);

  /* fork()'s semantics (no new stack), with the launcher as the parent. */
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) fail("clone", errno);
  if (pid == 0) {
    if (close_sync) close(sync_fd);
    execv(argv[i], &argv[i]);
    /* Not on the sync socket, where the parent's "spawned" may come first: the launcher hears of
     * it as a program that exited before it said anything. */
    fprintf(stderr, "nsspawn: execve %s: %s\n", argv[i], strerror(errno));
    _exit(127);
  }
  char line[64];
  snprintf(line, sizeof line, "{\"kind\":\"spawned\",\"pid\":%d}\n", (int)pid);
  say(line);
  return 0;
}
