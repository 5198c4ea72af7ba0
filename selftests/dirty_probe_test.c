// SPDX-License-Identifier: GPL-2.0
/*
 * make probe (not part of make check): does a 2-vCPU guest survive KVM's
 * dirty logging on this testbed without Cuju?  On 2-CPU test hosts a
 * protected 2-vCPU guest reset now and then (a SHUTDOWN while delivering
 * a #PF right after a nested page fault on a page-table write: see
 * Documentation/testing.rst), and an unpaired one died at boot once.  If
 * the same guest under Debian's stock QEMU, its VM never registered with
 * the engine, resets while QEMU itself harvests its dirty log over and
 * over (calc_dirty_rate in dirty-bitmap mode: KVM_GET/CLEAR_DIRTY_LOG,
 * pages write-protected again while the vCPUs run), the fault is the
 * platform's (KVM under QEMU's TCG with nested SVM), not the engine's.
 *
 * It passes when the guest computed through ROUNDS harvests; a reset
 * fails it, with KVM's trace of the last events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "run.h"
#include "test.h"

#define STOCK_QEMU	"/usr/bin/qemu-system-x86_64"
#define HMP		"/run/probe.hmp"
#define ROUNDS		150		/* two harvests each, about 2 s */
#define STEPS		100000000	/* the guest computes until stopped */

FIXTURE(probe) {
	pid_t qemu;
	int qemu_fd;
	char out[4096];
};

FIXTURE_SETUP(probe)
{
	self->qemu = -1;
}

FIXTURE_TEARDOWN(probe)
{
	if (self->qemu > 0)
		guest_qemu_stop(self->qemu, self->qemu_fd, self->out, sizeof(self->out));
}

/* The guest's QEMU, stock, not registered: KVM's dirty log is QEMU's. */
static pid_t probe_qemu(int *fd)
{
	static char kernel[512], initrd[512], cpus[16], mon[64];
	const char *dir = getenv("CUJU_GUEST");
	const char *argv[] = {
		"qemu-system-x86_64", "-machine", "q35,accel=kvm,smm=off",
		"-cpu", "host,-svm", "-m", "128", "-smp", cpus,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 " GUEST_COMPUTE(STEPS),
		"-serial", "file:" GUEST_SERIAL, "-monitor", mon, NULL,
	};

	if (!dir)
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", dir);
	snprintf(cpus, sizeof(cpus), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(mon, sizeof(mon), "unix:%s,server=on,wait=off", HMP);
	unlink(GUEST_SERIAL);
	return run_start(0, fd, STOCK_QEMU, argv);
}

static bool exited(pid_t pid)
{
	siginfo_t si = { 0 };

	return !waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

TEST_F_TIMEOUT(probe, guest_survives_dirty_logging, 900)
{
	unsigned long long first, last;
	char line[256];
	int round;

	guest_kvm_trace_on();
	self->qemu = probe_qemu(&self->qemu_fd);
	ASSERT_LT(0, self->qemu) TH_LOG("no guest (CUJU_GUEST) or QEMU");
	ASSERT_TRUE(guest_line("guest: up", 180, line, sizeof(line)))
		TH_LOG("the guest did not boot%s", exited(self->qemu) ? " (it reset)" : "");
	printf("# %s", line);
	first = guest_step(120);
	ASSERT_LT(0, first) TH_LOG("the guest does not compute");
	for (round = 0; round < ROUNDS && !exited(self->qemu); round++) {
		/* One second between two harvests, the vCPUs running. */
		if (!guest_hmp(HMP, "calc_dirty_rate -b 1\n", self->out, sizeof(self->out)))
			break;
		sleep(2);
	}
	if (exited(self->qemu))
		guest_kvm_trace_dump(300);
	ASSERT_FALSE(exited(self->qemu))
		TH_LOG("the guest reset (QEMU exited by itself) in round %d of %d", round, ROUNDS);
	ASSERT_EQ(ROUNDS, round) TH_LOG("HMP stopped answering: %s", self->out);
	ASSERT_TRUE(guest_hmp(HMP, "info dirty_rate\n", self->out, sizeof(self->out)));
	EXPECT_NE(NULL, strstr(self->out, "Mode: dirty-bitmap")) TH_LOG("%s", self->out);
	last = guest_step(10);
	EXPECT_LT(first, last) TH_LOG("the guest stopped computing");
	printf("# %d rounds of dirty-log harvests; the guest computed from step %llu to %llu\n",
	       ROUNDS, first, last);
}

TEST_HARNESS_MAIN
