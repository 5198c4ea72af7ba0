// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TCP service for stream_test (job "serve" of guest/init):
 * an echo on STREAM_ECHO_PORT and a source of records on
 * STREAM_SOURCE_PORT (include/stream.h), each connection in a process of
 * its own.  What it sees goes to the console ("guest: tcpsvc ...") for
 * the test's log, each line after a newline of its own: the guest's shell
 * shares the console, and its prompt has no newline.  A connection's end
 * is the client's business.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream.h"

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4)) {
		printf("guest: tcpsvc cannot listen on %d: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void echo(int fd)
{
	static char buf[65536];
	unsigned long long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write_all(fd, buf, n))
			break;
		total += n;
	}
	printf("\nguest: tcpsvc echo done, %llu bytes (%s)\n", total,
	       n < 0 ? strerror(errno) : "closed");
}

static void source(int fd)
{
	uint8_t rec[STREAM_REC], req[8];
	uint64_t count = 0, i;
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(req) && (n = read(fd, req + got, sizeof(req) - got)) > 0)
		got += n;
	for (i = 0; got == sizeof(req) && i < 8; i++)
		count |= (uint64_t)req[i] << (8 * i);
	for (i = 0; i < count; i++) {
		stream_record(i, rec);
		if (write_all(fd, rec, sizeof(rec)))
			break;
	}
	printf("\nguest: tcpsvc source done, %llu of %llu records (%s)\n",
	       (unsigned long long)i, (unsigned long long)count,
	       i < count ? strerror(errno) : "all sent");
}

/* Each connection in a child; the parent goes on accepting. */
static void serve(int lfd, const char *what, void (*handle)(int))
{
	int fd;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		printf("\nguest: tcpsvc %s connected\n", what);
		if (fork() == 0) {
			close(lfd);
			handle(fd);
			exit(0);
		}
		close(fd);
	}
}

int main(void)
{
	int e = listen_on(STREAM_ECHO_PORT), s = listen_on(STREAM_SOURCE_PORT);

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* children reaped by the kernel */
	printf("guest: tcpsvc up, echo on %d, source on %d\n", STREAM_ECHO_PORT,
	       STREAM_SOURCE_PORT);
	if (fork() == 0) {
		close(s);
		serve(e, "echo", echo);
	}
	close(e);
	serve(s, "source", source);
	return 0;
}
