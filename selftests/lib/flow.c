// SPDX-License-Identifier: GPL-2.0
/* A client of the guest's TCP service, and a trio's notes: include/flow.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "guest.h"

double flow_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_guest(int port, int wait_s)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	time_t deadline = time(NULL) + wait_s;
	int fd;

	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&to, sizeof(to)))
			return fd;
		close(fd);
		sleep(1);
	} while (time(NULL) < deadline);
	return -1;
}

bool flow_connect(struct flow *f, const char *name, int port, uint64_t records, int wait_s)
{
	uint8_t req[8];
	int i;

	memset(f, 0, sizeof(*f));
	f->name = name;
	f->fd = connect_guest(port, wait_s);
	if (f->fd < 0)
		return false;
	if (port == STREAM_SOURCE_PORT) {
		for (i = 0; i < 8; i++)
			req[i] = (uint8_t)(records >> (8 * i));
		if (write(f->fd, req, sizeof(req)) != sizeof(req)) {
			close(f->fd);
			return false;
		}
	}
	fcntl(f->fd, F_SETFL, O_NONBLOCK);
	return true;
}

static void got(struct flow *f, size_t n)
{
	double t = flow_now();

	if (!f->got)
		f->first = t;
	else if (t - f->last > f->stall) {
		f->stall = t - f->last;
		f->stall_at = f->last;
	}
	if (f->got && t - f->last > f->phase_stall[f->phase])
		f->phase_stall[f->phase] = t - f->last;
	f->last = t;
	f->in_len += n;
	f->got += n;
	f->phase_got[f->phase] += n;
	if (f->in_len == STREAM_REC) {
		if (!f->bad && !stream_record_ok(f->got / STREAM_REC - 1, f->in))
			f->bad = f->got / STREAM_REC;
		f->in_len = 0;
	}
}

void flow_read(struct flow *f)
{
	ssize_t n = read(f->fd, f->in + f->in_len, STREAM_REC - f->in_len);

	if (n > 0)
		got(f, n);
	else if (n == 0)
		f->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		f->err = errno;
}

void flow_write(struct flow *f)
{
	ssize_t n;

	if (f->out_off == f->out_len) {
		stream_record(f->sent / STREAM_REC, f->out);
		f->out_len = STREAM_REC;
		f->out_off = 0;
	}
	n = write(f->fd, f->out + f->out_off, f->out_len - f->out_off);
	if (n > 0) {
		f->out_off += n;
		f->sent += n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		f->err = errno;
	}
}

int flow_note_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(FLOW_NOTE_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

void flow_note(const char *ip, const char *what)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(FLOW_NOTE_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i;

	if (fd < 0)
		return;
	inet_pton(AF_INET, ip, &to.sin_addr);
	for (i = 0; i < 3; i++) {
		sendto(fd, what, strlen(what), 0, (struct sockaddr *)&to, sizeof(to));
		usleep(200 * 1000);
	}
	close(fd);
}

bool flow_note_for(int fd, const char *want, char *buf, size_t len, int wait_s)
{
	time_t deadline = time(NULL) + wait_s;

	while (time(NULL) < deadline)
		if (flow_note_wait(fd, buf, len, 1) && !strncmp(buf, want, strlen(want)))
			return true;
	return false;
}

void flow_note_drain(int fd)
{
	char buf[256];

	while (flow_note_wait(fd, buf, sizeof(buf), 0))
		;
}

bool flow_note_wait(int fd, char *buf, size_t len, int wait_s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, wait_s * 1000) != 1)
		return false;
	n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}
