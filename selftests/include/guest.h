/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QEMU tests' guest (make guest, selftests/guest/init) under the
 * patched QEMU (make qemu), inside a test host: Debian's kernel with a
 * busybox initramfs that computes a hash chain in the shell.  What the
 * QEMU tests share: one side's fixture, starting QEMU as an administrator
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

#include "pair.h"

#define GUEST_SERIAL	"/run/qemu_guest.serial"
#define GUEST_TAP	"tapq"
#define GUEST_IP	"10.78.0.2"
#define GUEST_HOST_IP	"10.78.0.1"

/*
 * One side of a QEMU test, as its fixture holds it: the runner's
 * CUJU_ROLE ("a" the backup's host, "b" the primary's) and CUJU_PEER (the
 * other's address), this host's QEMU, and ftnl monitor.
 */
struct guest_host {
	const char *role, *peer;
	const char *const *extra;	/* more of QEMU's options, NULL-ended */
	pid_t qemu;		/* -1 when none runs */
	int qemu_fd;
	struct monitor mon;
	char out[8192];		/* the last output of ftnl, ip or QEMU */
};

/* Set up from the environment, the tap up, the monitor running; false if not. */
bool guest_host_setup(struct guest_host *h);
/*
 * A trio's host (selftests/testbed/run --trio): 1 on c, the client, with
 * nothing to set up; 0 on a or b, guest_host_setup() done (the tap in the
 * clients' segment); -1 if that failed or this is no trio.
 */
int guest_trio_setup(struct guest_host *h);
/*
 * QEMU stopped (what it said and the guest's last line printed), the tap
 * down, and pair_teardown() for @vm; nothing on a trio's client.
 */
void guest_host_teardown(struct guest_host *h, const char *vm);
/*
 * h->qemu started as guest_qemu_start() does (with h->extra), and registered @vm within
 * 120 s (if not, its threads are dumped); false if either failed.
 */
bool guest_host_qemu(struct guest_host *h, const char *vm, const char *role,
		     const char *job, unsigned int mib, const char *hmp);

/*
 * The tap, with GUEST_HOST_IP/24 on it, up; in a trio's host
 * (CUJU_BRIDGE set, selftests/testbed/run), a port of that bridge instead,
 * without an address.  False if ip(8) failed.
 */
bool guest_tap_up(void);
void guest_tap_down(void);

/* The guest's job (selftests/guest/init) computing a chain of @n steps. */
#define GUEST_STR_(x)		#x
#define GUEST_COMPUTE(n)	"cuju_job=compute cuju_n=" GUEST_STR_(n)
/*
 * QEMU for VM @vm in @role ("primary" or "backup"), its guest of @mib MiB
 * doing @job; its output on *@fd.  With @hmp, an HMP monitor on that unix
 * socket; then the options in @extra (NULL, or NULL-ended: at most 8).
 * Its PID, or -1.
 */
pid_t guest_qemu_start(const char *vm, const char *role, const char *job, unsigned int mib,
		       const char *hmp, const char *const *extra, int *fd);
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
/* What the guest's kernel says of its disks, interrupts and tasks (its shell). */
void guest_diagnose(void);
/*
 * The same without its shell (a guest whose init still computes): SysRq
 * @keys pressed on its keyboard through QEMU's HMP monitor @hmp (the
 * guest boots with sysrq_always_enabled), and what its kernel printed
 * on the console within 30 s, at most 600 lines.
 */
void guest_sysrq(const char *hmp, const char *keys);
/*
 * KVM's tracepoints of this host (exits, injected exceptions and
 * interrupts, exits to QEMU) into the kernel's trace buffer, from now on;
 * and its last @lines lines into the test's log, for a guest that reset
 * or stopped: what it did last.  The buffer keeps the newest events.
 */
void guest_kvm_trace_on(void);
void guest_kvm_trace_dump(int lines);

/* The guest's chain of @n steps, computed here. */
unsigned long long guest_chain(unsigned long long n);
/*
 * The last whole console line (one ended by its newline) that starts with
 * @prefix, within @wait_s seconds, into @line; false if none came.
 */
bool guest_line(const char *prefix, int wait_s, char *line, size_t len);
/*
 * wl's work rate (the guest's init runs it with cuju_job=wl): units per
 * second of this host's clock over about @secs, from the first of its
 * lines that comes to the last one before the end, each timestamped as
 * it is seen (polled every 20 ms); 0 if fewer than two came.
 */
double guest_wl_rate(int secs);
/* The step of the guest's last progress line within @wait_s s; 0 if none. */
unsigned long long guest_step(int wait_s);
/* @cmd (a line) to the guest's shell; its answer comes on the console. */
bool guest_command(const char *cmd);
/*
 * A line to QEMU's HMP monitor on unix socket @path, kept open until QEMU
 * answers it (or closes: quit), at most 60 s; false if it did not.  What
 * QEMU said, banner and prompts included, into @out (if not NULL).
 */
bool guest_hmp(const char *path, const char *cmd, char *out, size_t len);
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
