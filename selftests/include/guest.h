/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QEMU tests' guest (make guest, selftests/guest/init) under the
 * patched QEMU (make qemu), inside a test host: Debian's kernel with a
 * busybox initramfs that computes a hash chain in the shell.  What
 * qemu_test and qemu_pair_test share: starting QEMU as an administrator
 * would, reading the guest's console, talking to it.
 *
 * The guest has as many vCPUs as the test host has CPUs; its console
 * (ttyS0) goes to GUEST_SERIAL, its second serial port (ttyS1) reads
 * commands from a unix socket (guest_command()); a virtio-net NIC sits on
 * the tap GUEST_TAP of the test host (guest_tap_up()): the guest is
 * GUEST_IP, the host GUEST_HOST_IP.
 */
#ifndef CUJU_SELFTEST_GUEST_H
#define CUJU_SELFTEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GUEST_SERIAL	"/run/qemu_guest.serial"
#define GUEST_TAP	"tapq"
#define GUEST_IP	"10.78.0.2"
#define GUEST_HOST_IP	"10.78.0.1"

/* The tap, with GUEST_HOST_IP/24 on it, up; false if ip(8) failed. */
bool guest_tap_up(void);
void guest_tap_down(void);

/* The guest's job (selftests/guest/init) computing a chain of @n steps. */
#define GUEST_STR_(x)		#x
#define GUEST_COMPUTE(n)	"cuju_job=compute cuju_n=" GUEST_STR_(n)
/*
 * QEMU for VM @vm in @role ("primary" or "backup"), its guest of @mib MiB
 * doing @job; its output on *@fd.  With @hmp, an HMP monitor on that unix
 * socket.  Its PID, or -1.
 */
pid_t guest_qemu_start(const char *vm, const char *role, const char *job, unsigned int mib,
		       const char *hmp, int *fd);
/*
 * QEMU @pid stopped as an administrator would (SIGTERM: it unregisters its
 * VM first), its output into @out; if it has not exited within 30 s, its
 * threads' stacks printed and SIGKILL.  Its exit status, or -1.
 */
int guest_qemu_stop(pid_t pid, int fd, char *out, size_t len);
/* Whether ftnl lists @vm within @wait_s seconds (QEMU registers it). */
bool guest_registered(const char *vm, int wait_s);
/* Where QEMU's threads are (gdb), for a test's log. */
void guest_qemu_dump(pid_t pid);

/* The guest's chain of @n steps, computed here. */
unsigned long long guest_chain(unsigned long long n);
/*
 * The last console line that starts with @prefix, within @wait_s
 * seconds, into @line; false if none came.
 */
bool guest_line(const char *prefix, int wait_s, char *line, size_t len);
/* The step of the guest's last progress line within @wait_s s; 0 if none. */
unsigned long long guest_step(int wait_s);
/* @cmd (a line) to the guest's shell; its answer comes on the console. */
bool guest_command(const char *cmd);
/* A line to QEMU's HMP monitor on unix socket @path. */
bool guest_hmp(const char *path, const char *cmd);
/*
 * Pings to the guest, at most @count in @wait_s seconds, each sent as
 * soon as the last is answered (a flood the guest paces), of @size bytes;
 * how many were answered.
 */
int guest_ping(int count, int wait_s, const char *size);

/*
 * A step of the story, for the test's log and for make demo: "# ==> [T s]
 * what", T the seconds since the first step.
 */
void guest_narrate(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Under make demo (CUJU_DEMO set): ftnl show @vm, for the reader. */
void guest_demo_show(const char *vm);

#endif /* CUJU_SELFTEST_GUEST_H */
