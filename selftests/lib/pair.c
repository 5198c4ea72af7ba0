// SPDX-License-Identifier: GPL-2.0
/* See pair.h. */
#include <linux/kvm_ft.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"

static char show_out[4096];

bool knob_set(const char *name, unsigned int v)
{
	char path[128];
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), KVM_FT_SYSFS_DIR "/%s", name);
	f = fopen(path, "w");
	if (!f)
		return false;
	ok = fprintf(f, "%u\n", v) > 0;
	return !fclose(f) && ok;
}

const char *ftnl_last(void)
{
	return show_out;
}

static bool last_counter(const char *key, unsigned long long *n)
{
	char *p = strstr(show_out, key);

	return p && sscanf(p + strlen(key), "%llu", n) == 1;
}

unsigned long long ftnl_last_counter(const char *key)
{
	unsigned long long n;

	return last_counter(key, &n) ? n : 0;
}

static bool counter_of(const char *vm, const char *key, unsigned long long *n)
{
	return !FTNL(show_out, "-j", "show", vm) && last_counter(key, n);
}

unsigned long long ftnl_counter(const char *vm, const char *key)
{
	unsigned long long n;

	return counter_of(vm, key, &n) ? n : 0;
}

bool ftnl_counter_reaches(const char *vm, const char *key, unsigned long long min,
			  int wait_s)
{
	time_t deadline = time(NULL) + wait_s;
	unsigned long long n;

	do {
		if (counter_of(vm, key, &n) && n >= min)
			return true;
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

bool ftnl_epochs_settle(const char *vm, int wait_s)
{
	unsigned long long begun;

	return counter_of(vm, "\"cur_epoch\":", &begun) &&
	       ftnl_counter_reaches(vm, "\"last_epoch\":", begun + 2, wait_s);
}

bool monitor_start(struct monitor *m)
{
	const char *const argv[] = { "ftnl", "monitor", NULL };
	size_t n = 0;

	m->pid = run_start(0, &m->fd, getenv("CUJU_FTNL"), argv);
	if (m->pid < 0)
		return false;
	/* Its first line says it is subscribed: no event can be missed after. */
	while (n < sizeof(m->event) - 1 && read(m->fd, m->event + n, 1) == 1 &&
	       m->event[n] != '\n')
		n++;
	m->event[n] = 0;
	return strstr(m->event, "monitoring events");
}

/* One line into m->event, within @deadline; false on timeout or EOF. */
static bool read_line(struct monitor *m, time_t deadline)
{
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	size_t n = 0;
	bool ok = false;

	while (n < sizeof(m->event) - 1 && time(NULL) < deadline) {
		if (poll(&p, 1, 1000) != 1)
			continue;
		if (read(m->fd, m->event + n, 1) != 1)
			break;
		if (m->event[n] == '\n') {
			ok = true;
			break;
		}
		n++;
	}
	m->event[n] = 0;
	return ok;
}

bool monitor_next(struct monitor *m, const char *want, int wait_s)
{
	time_t deadline = time(NULL) + wait_s;

	/* Progress reports and the states monitor begins with are no events. */
	while (read_line(m, deadline))
		if (!strstr(m->event, ": committed at epoch") && !strstr(m->event, ": state "))
			return !strncmp(m->event, want, strlen(want));
	return false;
}

void monitor_stop(struct monitor *m)
{
	char out[1024];

	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		run_finish(m->pid, m->fd, out, sizeof(out));
	}
	m->pid = 0;
}

void pair_teardown(struct monitor *m, const char *vm)
{
	char out[256];

	monitor_stop(m);
	IP(out, "link", "set", "eth0", "up");
	FTNL(out, "stop", vm);
	knob_set("failover_timeout_ms", KVM_FT_FAILOVER_MS_DEFAULT);
	knob_set("auto_failover", 1);
	knob_set("verify_memory", 0);
	knob_set("inflight_max", KVM_FT_INFLIGHT_DEFAULT);
	knob_set("copy_after_resume", 1);
}

bool take_values(unsigned short port, uint32_t *v, int n, int wait_s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = wait_s };
	ssize_t want = n * sizeof(*v);
	int one = 1, fd, conn;
	bool ok = false;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) && !listen(fd, 1)) {
		conn = accept(fd, NULL, NULL);
		if (conn >= 0) {
			setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			ok = recv(conn, v, want, MSG_WAITALL) == want;
			close(conn);
		}
	}
	close(fd);
	return ok;
}

bool give_values(const char *peer, unsigned short port, const uint32_t *v, int n, int wait_s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	time_t deadline = time(NULL) + wait_s;
	ssize_t want = n * sizeof(*v);
	bool ok = false;
	int fd;

	inet_pton(AF_INET, peer, &sin.sin_addr);
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			ok = send(fd, v, want, 0) == want;
			close(fd);
			break;
		}
		close(fd);
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	return ok;
}
