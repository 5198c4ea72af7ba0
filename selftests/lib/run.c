// SPDX-License-Identifier: GPL-2.0
/* See run.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

pid_t run_start(uid_t uid, int *fd, const char *path, const char *const *argv)
{
	int p[2];
	pid_t pid;

	if (!path || pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(100);
		execvp(path, (char *const *)argv);
		_exit(101);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

int run_finish(pid_t pid, int fd, char *out, size_t len)
{
	ssize_t n, got = 0;
	int status;

	while (got < (ssize_t)len - 1 && (n = read(fd, out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int run_capture(uid_t uid, char *out, size_t len, const char *path,
		const char *const *argv)
{
	int fd;
	pid_t pid = run_start(uid, &fd, path, argv);

	return pid < 0 ? -1 : run_finish(pid, fd, out, len);
}

const char *test_key(void)
{
	static char path[256];
	int fd;

	if (path[0])
		return path;
	snprintf(path, sizeof(path), "%s/cuju-suite.key", getenv("TMPDIR") ?: "/tmp");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, TEST_KEY_HEX "\n", strlen(TEST_KEY_HEX) + 1) < 0)
		path[0] = 0;
	if (fd >= 0)
		close(fd);
	return path[0] ? path : "/nonexistent/cuju-suite.key";
}
