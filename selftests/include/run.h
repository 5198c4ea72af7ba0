/* SPDX-License-Identifier: GPL-2.0 */
/* Running programs from tests as an administrator would: ftnl, ip. */
#ifndef CUJU_SELFTEST_RUN_H
#define CUJU_SELFTEST_RUN_H

#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

/*
 * Run @path (searched in PATH if it has no slash) with @argv, NULL-ended,
 * as @uid (0: as we are); its stdout and stderr in @out.  Its exit status,
 * or -1 if it did not exit normally.
 */
int run_capture(uid_t uid, char *out, size_t len, const char *path,
		const char *const *argv);

/*
 * The same in two steps, for a program that runs while the test goes on:
 * start it (its output on *@fd), later collect its output and status.
 */
pid_t run_start(uid_t uid, int *fd, const char *path, const char *const *argv);
int run_finish(pid_t pid, int fd, char *out, size_t len);

/* ftnl as the runner built it (CUJU_FTNL); @out must be an array. */
#define FTNL_AS(uid, out, ...) run_capture(uid, out, sizeof(out), getenv("CUJU_FTNL"), \
					   (const char *const[]){ "ftnl", __VA_ARGS__, NULL })
#define FTNL(out, ...) FTNL_AS(0, out, __VA_ARGS__)
/*
 * The suite's pair key, as a file both test hosts write alike (the same
 * constant: tests are no secret), and the options that give it to ftnl
 * pair and listen: every link of the suite is sealed.
 */
#define TEST_KEY_HEX	"5d1f0c7ab2e94368a0c1d2e3f4051627384950a1b2c3d4e5f60718293a4b5c6d"
const char *test_key(void);
#define TEST_KEY	"key", test_key()

#define IP(out, ...) run_capture(0, out, sizeof(out), "ip", \
				 (const char *const[]){ "ip", __VA_ARGS__, NULL })

#endif /* CUJU_SELFTEST_RUN_H */
