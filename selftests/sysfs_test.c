// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kvm_ft/ defaults: their default values, values taken, values
 * refused with EINVAL that leave the old value in place, and the rule that
 * the heartbeat interval stays below the failover timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm_ft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define KNOB(n) KVM_FT_SYSFS_DIR "/" n
#define EPOCH_US KNOB("epoch_us")
#define FAILOVER KNOB("failover_timeout_ms")
#define HEARTBEAT KNOB("heartbeat_ms")
#define EPOCH_MIN KNOB("epoch_min_us")
#define EPOCH_MAX KNOB("epoch_max_us")

static const struct knob {
	const char *path;
	unsigned long def, min, max;
} knobs[] = {
	{ EPOCH_US, KVM_FT_EPOCH_US_DEFAULT, KVM_FT_EPOCH_US_MIN, KVM_FT_EPOCH_US_MAX },
	{ KNOB("inflight_max"), KVM_FT_INFLIGHT_DEFAULT, KVM_FT_INFLIGHT_MIN,
	  KVM_FT_INFLIGHT_MAX },
	{ FAILOVER, KVM_FT_FAILOVER_MS_DEFAULT, KVM_FT_FAILOVER_MS_MIN,
	  KVM_FT_FAILOVER_MS_MAX },
	{ HEARTBEAT, KVM_FT_HEARTBEAT_MS_DEFAULT, KVM_FT_HEARTBEAT_MS_MIN,
	  KVM_FT_HEARTBEAT_MS_MAX },
	{ KNOB("auto_failover"), 1, 0, 1 },
	{ KNOB("verify_memory"), 0, 0, 1 },
	{ KNOB("output_max_kb"), KVM_FT_OUTPUT_KB_DEFAULT, KVM_FT_OUTPUT_KB_MIN,
	  KVM_FT_OUTPUT_KB_MAX },
	{ KNOB("delta_max_mb"), KVM_FT_DELTA_MB_DEFAULT, KVM_FT_DELTA_MB_MIN,
	  KVM_FT_DELTA_MB_MAX },
	{ EPOCH_MIN, 0, 0, KVM_FT_EPOCH_US_MAX },
	{ EPOCH_MAX, 0, 0, KVM_FT_EPOCH_US_MAX },
	{ KNOB("copy_after_resume"), 1, 0, 1 },
};

#define NR_KNOBS ARRAY_SIZE(knobs)

static unsigned long knob_read(struct __test_metadata *_metadata, const char *path)
{
	char buf[64] = "", *end;
	unsigned long v;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(1, n);
	ASSERT_EQ('\n', buf[n - 1]);
	v = strtoul(buf, &end, 10);
	ASSERT_EQ('\n', *end) TH_LOG("not a number: '%s'", buf);
	return v;
}

/* Write @s (exactly its bytes); return 0 or the errno of the write. */
static int knob_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		err = errno;
	close(fd);
	return err;
}

static int knob_set(const char *path, unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu\n", v);
	return knob_write(path, buf);
}

FIXTURE(knobs) {
	unsigned long saved[NR_KNOBS];
};

FIXTURE_SETUP(knobs)
{
	int i;

	for (i = 0; i < NR_KNOBS; i++)
		self->saved[i] = knob_read(_metadata, knobs[i].path);
}

/* Restore in an order the heartbeat < failover rule always allows. */
FIXTURE_TEARDOWN(knobs)
{
	int i;

	EXPECT_EQ(0, knob_set(FAILOVER, KVM_FT_FAILOVER_MS_MAX));
	for (i = 0; i < NR_KNOBS; i++)
		if (strcmp(knobs[i].path, FAILOVER))
			EXPECT_EQ(0, knob_set(knobs[i].path, self->saved[i]));
	for (i = 0; i < NR_KNOBS; i++)
		if (!strcmp(knobs[i].path, FAILOVER))
			EXPECT_EQ(0, knob_set(knobs[i].path, self->saved[i]));
}

TEST_F(knobs, default_values)
{
	int i;

	/* kvm.ko was loaded fresh in this test host, for this suite. */
	for (i = 0; i < NR_KNOBS; i++) {
		const struct knob *k = &knobs[i];

		EXPECT_EQ(k->def, self->saved[i]) TH_LOG("%s", k->path);
	}
}

TEST_F(knobs, mode_is_root_writable)
{
	struct stat st;
	int i;

	for (i = 0; i < NR_KNOBS; i++) {
		ASSERT_EQ(0, stat(knobs[i].path, &st)) TH_LOG("%s", knobs[i].path);
		EXPECT_EQ(0644, st.st_mode & 07777) TH_LOG("%s", knobs[i].path);
	}
}

TEST_F(knobs, epoch_formats_accepted)
{
	static const struct { const char *in; unsigned long out; } ok[] = {
		{ "5000\n", 5000 },
		{ "7000", 7000 },			/* no newline */
		{ "+8000\n", 8000 },			/* kstrtouint's plus */
		{ "0001000\n", KVM_FT_EPOCH_US_MIN },	/* leading zeros, decimal */
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ASSERT_EQ(0, knob_write(EPOCH_US, ok[i].in)) TH_LOG("'%s'", ok[i].in);
		ASSERT_EQ(ok[i].out, knob_read(_metadata, EPOCH_US)) TH_LOG("'%s'", ok[i].in);
	}
}

TEST_F(knobs, range_ends_accepted)
{
	int i;

	/* Make room for the heartbeat's maximum below the failover timeout. */
	ASSERT_EQ(0, knob_set(FAILOVER, KVM_FT_FAILOVER_MS_MAX));
	for (i = 0; i < NR_KNOBS; i++) {
		const struct knob *k = &knobs[i];

		if (!strcmp(k->path, FAILOVER))
			continue;
		ASSERT_EQ(0, knob_set(k->path, k->min)) TH_LOG("%s", k->path);
		ASSERT_EQ(k->min, knob_read(_metadata, k->path));
		ASSERT_EQ(0, knob_set(k->path, k->max)) TH_LOG("%s", k->path);
		ASSERT_EQ(k->max, knob_read(_metadata, k->path));
	}
	ASSERT_EQ(0, knob_set(HEARTBEAT, KVM_FT_HEARTBEAT_MS_MIN));
	ASSERT_EQ(0, knob_set(FAILOVER, KVM_FT_FAILOVER_MS_MIN));
	ASSERT_EQ(KVM_FT_FAILOVER_MS_MIN, knob_read(_metadata, FAILOVER));
}

TEST_F(knobs, refused_keep_old_value)
{
	/* Below each minimum is checked on its own (min - 1), after. */
	static const char *const bad[] = {
		"-1\n", "-5000\n", "4294967295\n", "4294967296\n",
		"99999999999999999999\n", "abc\n", "\n", " 5000\n", "5000 \n",
		"10abc\n", "0x1000\n", "5000\n\n", "5e3\n",
	};
	char buf[32];
	int i, j;

	for (i = 0; i < NR_KNOBS; i++) {
		const struct knob *k = &knobs[i];
		unsigned long old = knob_read(_metadata, k->path);

		for (j = 0; j < ARRAY_SIZE(bad); j++) {
			ASSERT_EQ(EINVAL, knob_write(k->path, bad[j]))
				TH_LOG("%s '%s'", k->path, bad[j]);
			ASSERT_EQ(old, knob_read(_metadata, k->path));
		}
		snprintf(buf, sizeof(buf), "%lu\n", k->min - 1);
		ASSERT_EQ(EINVAL, knob_write(k->path, buf)) TH_LOG("%s %s", k->path, buf);
		snprintf(buf, sizeof(buf), "%lu\n", k->max + 1);
		ASSERT_EQ(EINVAL, knob_write(k->path, buf)) TH_LOG("%s %s", k->path, buf);
		ASSERT_EQ(old, knob_read(_metadata, k->path));
	}
}

TEST_F(knobs, heartbeat_stays_below_failover_timeout)
{
	ASSERT_EQ(0, knob_set(FAILOVER, 1000));
	ASSERT_EQ(0, knob_set(HEARTBEAT, 999));
	EXPECT_EQ(EINVAL, knob_set(HEARTBEAT, 1000));
	EXPECT_EQ(EINVAL, knob_set(FAILOVER, 999));
	EXPECT_EQ(EINVAL, knob_set(FAILOVER, 500));
	EXPECT_EQ(999, knob_read(_metadata, HEARTBEAT));
	EXPECT_EQ(1000, knob_read(_metadata, FAILOVER));
	ASSERT_EQ(0, knob_set(FAILOVER, 1001));
	ASSERT_EQ(0, knob_set(HEARTBEAT, 1000));
}

/* The bounds of epochs that follow output: off (0), or an epoch length. */
TEST_F(knobs, epoch_bounds_off_or_an_epoch)
{
	const char *const bounds[] = { EPOCH_MIN, EPOCH_MAX };
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, knob_set(bounds[i], KVM_FT_EPOCH_US_MIN)) TH_LOG("%s", bounds[i]);
		EXPECT_EQ(EINVAL, knob_set(bounds[i], 1)) TH_LOG("%s", bounds[i]);
		EXPECT_EQ(EINVAL, knob_set(bounds[i], KVM_FT_EPOCH_US_MIN - 1)) TH_LOG("%s", bounds[i]);
		EXPECT_EQ(KVM_FT_EPOCH_US_MIN, knob_read(_metadata, bounds[i]));
		ASSERT_EQ(0, knob_set(bounds[i], 0)) TH_LOG("%s", bounds[i]);
	}
}

TEST_F(knobs, unprivileged_write_refused)
{
	int status, i;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		for (i = 0; i < NR_KNOBS; i++)
			if (knob_write(knobs[i].path, "500\n") != EACCES)
				_exit(1 + i);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("knob %d writable", WEXITSTATUS(status) - 1);
	for (i = 0; i < NR_KNOBS; i++)
		ASSERT_EQ(self->saved[i], knob_read(_metadata, knobs[i].path));
}

TEST_HARNESS_MAIN
