// SPDX-License-Identifier: GPL-2.0
/*
 * A real guest under the patched QEMU (make qemu): Debian's kernel with a
 * busybox initramfs (make guest) whose init computes a hash chain in the
 * shell and prints its progress and its result on the serial console.
 *
 *   host a: QEMU, cuju role=backup     host b: QEMU, cuju role=primary
 *   paused, listening; takes over      the guest computes through many
 *   on silence, loads the devices,     epochs; then "# cuju: kill me",
 *   and the guest finishes             and the runner kills host b
 *
 * The result must be the one this test computes itself: a checkpoint whose
 * memory, vCPU and devices disagree, or a device state QEMU cannot load,
 * would not get there.  Run in a session of its own (the runner's --kill):
 * host b never finishes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"

#define VM		"qk"
#define PORT		"7921"
#define WAIT_S		600
#define RESULT_S	240		/* the backup's guest, from the takeover */
#define FAILOVER_MS	3000
#define STEPS		400000		/* the chain: minutes in a nested guest */
#define KILL_AT		3000		/* the step the primary's guest must pass */
#define SERIAL		"/run/qemu_test.serial"
#define KILL_ME		"# cuju: kill me"

/* The guest's chain (selftests/guest/init), computed here. */
static unsigned long long chain(unsigned long long n)
{
	unsigned long long h = 1, i;

	for (i = 1; i <= n; i++)
		h = (h * 1103515245ULL + i) % 2147483648ULL;
	return h;
}

/*
 * The last line of the serial console that starts with @prefix, within
 * @wait_s seconds, into @line; false if none came.
 */
static bool serial_line(const char *prefix, int wait_s, char *line, size_t len)
{
	time_t deadline = time(NULL) + wait_s;
	char buf[256];
	bool found;

	do {
		FILE *f = fopen(SERIAL, "r");

		found = false;
		while (f && fgets(buf, sizeof(buf), f)) {
			if (!strncmp(buf, prefix, strlen(prefix))) {
				snprintf(line, len, "%s", buf);
				found = true;
			}
		}
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

/* The step the guest's last progress line reports; 0 if none yet. */
static unsigned long long guest_step(int wait_s)
{
	unsigned long long i = 0, h;
	char line[256];

	if (serial_line("guest: step ", wait_s, line, sizeof(line)))
		sscanf(line, "guest: step %llu %llu", &i, &h);
	return i;
}

/* Where QEMU's threads are, for a test's log: it did not get somewhere. */
static void qemu_dump(pid_t pid)
{
	char cmd[256], out[16384];

	snprintf(cmd, sizeof(cmd), "%d", pid);
	if (run_capture(0, out, sizeof(out), "gdb", (const char *const[]){
			"gdb", "-p", cmd, "-batch", "-ex", "thread apply all bt", NULL }) >= 0)
		printf("# QEMU's threads:\n%s\n", out);
}

FIXTURE(qemu) {
	const char *role, *peer;
	pid_t qemu;
	int qemu_fd;
	struct monitor mon;
	char out[8192];
};

/* QEMU for @role, its output on self->qemu_fd; the VM registered once it runs. */
static void qemu_start(struct __test_metadata *_metadata, FIXTURE_DATA(qemu) *self,
		       const char *role)
{
	const char *dir = getenv("CUJU_GUEST"), *qemu = getenv("CUJU_QEMU");
	char kernel[512], initrd[512], object[128], append[128];
	time_t deadline;

	ASSERT_NE(NULL, dir);
	ASSERT_NE(NULL, qemu);
	ASSERT_EQ(0, access(qemu, X_OK)) TH_LOG("%s: make qemu builds it", qemu);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", dir);
	snprintf(object, sizeof(object), "cuju,id=ft,name=%s,role=%s", VM, role);
	snprintf(append, sizeof(append), "console=ttyS0 panic=-1 cuju_job=compute cuju_n=%d",
		 STEPS);
	unlink(SERIAL);
	self->qemu = run_start(0, &self->qemu_fd, qemu, (const char *const[]){
		"qemu-system-x86_64", "-machine", "q35,accel=kvm,smm=off",
		"-cpu", "host,-svm", "-m", "128", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", append,
		"-serial", "file:" SERIAL, "-object", object, NULL });
	ASSERT_LT(0, self->qemu);
	/* Registered once the machine is built: seconds in a test host. */
	deadline = time(NULL) + 120;
	while (FTNL(self->out, "show", VM) && time(NULL) < deadline)
		usleep(100 * 1000);
	if (FTNL(self->out, "show", VM))
		qemu_dump(self->qemu);
	ASSERT_EQ(0, FTNL(self->out, "show", VM)) TH_LOG("QEMU did not register %s", VM);
	printf("# QEMU registered %s after %ld s\n", VM, (long)(time(NULL) - deadline + 120));
	EXPECT_NE(NULL, strstr(self->out, role)) TH_LOG("%s", self->out);
}

FIXTURE_SETUP(qemu)
{
	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	self->qemu = -1;
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(qemu)
{
	char serial[256];

	if (self->qemu > 0) {
		kill(self->qemu, SIGTERM);	/* a clean exit: unregistered */
		run_finish(self->qemu, self->qemu_fd, self->out, sizeof(self->out));
		if (*self->out)
			printf("# QEMU said: %s\n", self->out);
	}
	if (serial_line("guest:", 0, serial, sizeof(serial)))
		printf("# the guest's last line: %s", serial);
	pair_teardown(&self->mon, VM);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)

/* Host a: the backup QEMU takes over, and the guest ends its chain right. */
static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(qemu) *self)
{
	unsigned long long n = 0, h = 0;
	char line[256];

	qemu_start(_metadata, self, "backup");
	ASSERT_EQ(0, guest_step(0)) TH_LOG("the backup's guest must not run before a takeover");
	ASSERT_EQ(0, FTNL(self->out, "listen", VM, "0.0.0.0", PORT)) TH_LOG("%s", self->out);
	EVENT(VM ": linked");
	EVENT(VM ": peer lost (silence)");
	EVENT(VM ": failover started at epoch");
	EVENT(VM ": took over at epoch");
	printf("# %s\n", self->mon.event);
	if (!guest_step(RESULT_S))
		qemu_dump(self->qemu);
	ASSERT_LT(0, guest_step(0)) TH_LOG("the guest says nothing after the takeover");
	ASSERT_TRUE(serial_line("guest: result ", RESULT_S, line, sizeof(line)))
		TH_LOG("the guest did not finish after the takeover (at step %llu)", guest_step(0));
	ASSERT_EQ(2, sscanf(line, "guest: result %llu %llu", &n, &h)) TH_LOG("%s", line);
	EXPECT_EQ(STEPS, n);
	EXPECT_EQ(chain(n), h) TH_LOG("the guest's chain went wrong across the takeover");
}

TEST_F_TIMEOUT(qemu, primary_host_killed, 2 * WAIT_S)
{
	unsigned long long step;
	time_t deadline;

	if (!strcmp(self->role, "a")) {
		backup_side(_metadata, self);
		return;
	}
	char line[256];

	qemu_start(_metadata, self, "primary");
	if (!serial_line("guest: up", 120, line, sizeof(line)))
		qemu_dump(self->qemu);
	ASSERT_TRUE(serial_line("guest: up", 0, line, sizeof(line))) TH_LOG("no guest");
	printf("# %s", line);
	ASSERT_EQ(0, FTNL(self->out, "pair", VM, self->peer, PORT)) TH_LOG("%s", self->out);
	EVENT(VM ": linked");
	EVENT(VM ": synced");
	ASSERT_TRUE(ftnl_counter_reaches(VM, "\"epochs\":", 20, WAIT_S)) TH_LOG("%s", ftnl_last());
	deadline = time(NULL) + WAIT_S;
	while ((step = guest_step(0)) < KILL_AT && time(NULL) < deadline)
		usleep(500 * 1000);
	ASSERT_LE(KILL_AT, step) TH_LOG("the guest did not get under way");
	ASSERT_EQ(0, FTNL(self->out, "show", VM));
	printf("# %s\n", self->out);
	EXPECT_EQ(0, ftnl_counter(VM, "\"device_timeouts\":")) TH_LOG("%s", ftnl_last());
	printf("%s (guest at step %llu)\n", KILL_ME, step);
	fflush(stdout);
	sleep(WAIT_S);
	ASSERT_TRUE(false) TH_LOG("the runner did not kill this host");
}

TEST_HARNESS_MAIN
