// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kvm_ft/ defaults: their default values, values taken, and
 * values refused with EINVAL that leave the old value in place.
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

#define EPOCH_US KVM_FT_SYSFS_DIR "/epoch_us"

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

FIXTURE(epoch) {
	unsigned long saved;
};

FIXTURE_SETUP(epoch)
{
	self->saved = knob_read(_metadata, EPOCH_US);
}

FIXTURE_TEARDOWN(epoch)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu\n", self->saved);
	EXPECT_EQ(0, knob_write(EPOCH_US, buf));
}

TEST_F(epoch, default_value)
{
	/* kvm.ko was loaded fresh in this test host, for this suite. */
	ASSERT_EQ(KVM_FT_EPOCH_US_DEFAULT, self->saved);
}

TEST_F(epoch, mode_is_root_writable)
{
	struct stat st;

	ASSERT_EQ(0, stat(EPOCH_US, &st));
	ASSERT_EQ(0644, st.st_mode & 07777);
}

TEST_F(epoch, accepted)
{
	static const struct { const char *in; unsigned long out; } ok[] = {
		{ "5000\n", 5000 },
		{ "7000", 7000 },			/* no newline */
		{ "+8000\n", 8000 },			/* kstrtouint's plus */
		{ "0001000\n", KVM_FT_EPOCH_US_MIN },	/* leading zeros, decimal */
		{ "2000000\n", KVM_FT_EPOCH_US_MAX },
		{ "10000\n", KVM_FT_EPOCH_US_DEFAULT },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ASSERT_EQ(0, knob_write(EPOCH_US, ok[i].in)) TH_LOG("'%s'", ok[i].in);
		ASSERT_EQ(ok[i].out, knob_read(_metadata, EPOCH_US)) TH_LOG("'%s'", ok[i].in);
	}
}

TEST_F(epoch, refused_keep_old_value)
{
	static const char *const bad[] = {
		"0\n", "-1\n", "-5000\n", "999\n", "2000001\n",
		"4294967295\n", "4294967296\n", "99999999999999999999\n",
		"abc\n", "\n", " 5000\n", "5000 \n", "10abc\n", "0x1000\n",
		"5000\n\n", "5e3\n",
	};
	int i;

	ASSERT_EQ(0, knob_write(EPOCH_US, "4321\n"));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(EINVAL, knob_write(EPOCH_US, bad[i])) TH_LOG("'%s'", bad[i]);
		ASSERT_EQ(4321, knob_read(_metadata, EPOCH_US)) TH_LOG("after '%s'", bad[i]);
	}
}

TEST_F(epoch, unprivileged_write_refused)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(knob_write(EPOCH_US, "5000\n") == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(self->saved, knob_read(_metadata, EPOCH_US));
}

TEST_HARNESS_MAIN
