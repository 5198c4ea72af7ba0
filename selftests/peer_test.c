// SPDX-License-Identifier: GPL-2.0
/*
 * The link between a primary and its backup: pairing, heartbeats, and the
 * loss of the peer through a network partition.  Both sides must see the
 * silence within the failover timeout; the primary then runs unprotected
 * and can be paired again once the network is back.
 *
 *   +------ test host a ------+           +------ test host b ------+
 *   | VM "hb" (backup)        |   eth0    | VM "hb" (primary)       |
 *   | ftnl listen :7900       |<--------->| ftnl pair a:7900        |
 *   | heartbeats, then        |           | heartbeats, then        |
 *   | ip link set eth0 down   |  ~~cut~~  | silence: unprotected    |
 *   | ... up: receiving again |           | ftnl pair: linked again |
 *   +-------------------------+           +-------------------------+
 */
#include <linux/kvm_ft.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "test.h"
#include "vmm.h"

#define PORT		"7900"
#define WAIT_S		90
#define FAILOVER_MS	3000	/* roomy: a slow emulated host must not trip it */
#define CUT_S		8
#define REPAIR_MS	30000	/* while the link is re-made */

static void knob(const char *name, unsigned int v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), KVM_FT_SYSFS_DIR "/%s", name);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%u\n", v);
		fclose(f);
	}
}

FIXTURE(peer) {
	const char *role;
	struct vm *vm;
	pid_t mon;		/* ftnl monitor, if started */
	int mon_fd;
	char out[4096];
	char event[128];
};

FIXTURE_SETUP(peer)
{
	struct kvm_ft_register r = { .name = "hb", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, getenv("CUJU_PEER"));
	knob("failover_timeout_ms", FAILOVER_MS);
	knob("auto_failover", 0);	/* a partition, not a failover: see replicate_test */
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);	/* same shape on both hosts */
	vcpu_add(self->vm, 0, NULL, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
}

FIXTURE_TEARDOWN(peer)
{
	char out[256];

	if (self->mon > 0) {
		kill(self->mon, SIGTERM);
		run_finish(self->mon, self->mon_fd, out, sizeof(out));
	}
	IP(out, "link", "set", "eth0", "up");
	FTNL(out, "stop", "hb");
	vm_destroy(self->vm);
	knob("failover_timeout_ms", KVM_FT_FAILOVER_MS_DEFAULT);
	knob("auto_failover", 1);
}

/* Poll until ftnl -j show hb has every string of @want, within WAIT_S. */
static bool wait_for(FIXTURE_DATA(peer) *self, const char *const *want)
{
	time_t deadline = time(NULL) + WAIT_S;
	int i;

	do {
		if (!FTNL(self->out, "-j", "show", "hb")) {
			for (i = 0; want[i] && strstr(self->out, want[i]); i++)
				;
			if (!want[i])
				return true;
		}
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

#define WAIT_FOR(...) wait_for(self, (const char *const[]){ __VA_ARGS__, NULL })


/* Poll until the counter @key ("\"name\":") of ftnl -j show hb reaches @min. */
static bool counter_reaches(FIXTURE_DATA(peer) *self, const char *key, unsigned long long min)
{
	time_t deadline = time(NULL) + WAIT_S;
	unsigned long long n;
	char *p;

	do {
		if (!FTNL(self->out, "-j", "show", "hb") && (p = strstr(self->out, key)) &&
		    sscanf(p + strlen(key), "%llu", &n) == 1 && n >= min)
			return true;
		usleep(100 * 1000);
	} while (time(NULL) < deadline);
	return false;
}

/* ftnl monitor in the background, once it listens; -1 if it never does. */
static pid_t monitor_start(int *fd)
{
	const char *const argv[] = { "ftnl", "monitor", NULL };
	char line[128];
	size_t n = 0;
	pid_t pid;

	pid = run_start(0, fd, getenv("CUJU_FTNL"), argv);
	if (pid < 0)
		return -1;
	/* Its first line says it is subscribed: no event can be missed after. */
	while (n < sizeof(line) - 1 && read(*fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	return strstr(line, "monitoring events") ? pid : -1;
}

/*
 * The monitor's next event line is @want (within WAIT_S).  Events queue up
 * in the monitor's socket, so a host stalled for seconds still sees each
 * one: the hosts hand over by events, never by how long a state lasted.
 */
static bool next_event(FIXTURE_DATA(peer) *self, const char *want)
{
	struct pollfd p = { .fd = self->mon_fd, .events = POLLIN };
	time_t deadline = time(NULL) + WAIT_S;
	size_t n = 0;

	while (n < sizeof(self->event) - 1 && time(NULL) < deadline) {
		if (poll(&p, 1, 1000) != 1)
			continue;
		if (read(self->mon_fd, self->event + n, 1) != 1)
			break;
		if (self->event[n] == '\n')
			break;
		n++;
	}
	self->event[n] = 0;
	return !strcmp(self->event, want);
}

#define EVENT(want) ASSERT_TRUE(next_event(self, want)) \
	TH_LOG("expected event '%s', got '%s'", want, self->event)

TEST_F(peer, partition_and_repair)
{
	const char *peer = getenv("CUJU_PEER");

	self->mon = monitor_start(&self->mon_fd);
	ASSERT_LT(0, self->mon) TH_LOG("ftnl monitor did not start");

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "hb", "0.0.0.0", PORT)) TH_LOG("%s", self->out);
		EVENT("hb: linked");
		/* The sync and one epoch of b's are applied: b saw "synced" before the cut. */
		ASSERT_TRUE(counter_reaches(self, "\"epochs\":", 2)) TH_LOG("%s", self->out);
		ASSERT_TRUE(counter_reaches(self, "\"heartbeats\":", 3)) TH_LOG("%s", self->out);
		sleep(4);		/* b's kernel counts our heartbeats meanwhile */

		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
		EVENT("hb: peer lost (silence)");
		ASSERT_TRUE(WAIT_FOR("\"silence\":1", "\"state\":\"listening\""))
			TH_LOG("%s", self->out);
		/* The repair is not about silence: let no stall of b trip it. */
		knob("failover_timeout_ms", REPAIR_MS);
		sleep(CUT_S);
		ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "up")) TH_LOG("%s", self->out);

		/* b pairs again on its own, checks its side, then ends the link. */
		EVENT("hb: linked");
		EVENT("hb: peer lost (closed)");
		ASSERT_TRUE(WAIT_FOR("\"state\":\"listening\"")) TH_LOG("%s", self->out);
		EXPECT_NE(NULL, strstr(self->out, "\"truncated\":0,")) TH_LOG("%s", self->out);
		EXPECT_NE(NULL, strstr(self->out, "\"silence\":1,")) TH_LOG("%s", self->out);
		return;
	}

	/* Epochs far apart: the link idles between them, and carries heartbeats. */
	ASSERT_EQ(0, FTNL(self->out, "set", "hb", "epoch-us", "2000000")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", peer, PORT)) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");
	ASSERT_TRUE(counter_reaches(self, "\"heartbeats\":", 3)) TH_LOG("%s", self->out);

	/* a cuts its link: the backup goes silent. */
	EVENT("hb: peer lost (silence)");
	ASSERT_TRUE(WAIT_FOR("\"state\":\"unprotected\"", "\"peer_lost\":1,", "\"silence\":1"))
		TH_LOG("%s", self->out);
	/* Pairing again is allowed from unprotected; it connects once a is back. */
	knob("failover_timeout_ms", REPAIR_MS);
	ASSERT_EQ(0, FTNL(self->out, "pair", "hb", peer, PORT)) TH_LOG("%s", self->out);
	EVENT("hb: linked");
	EVENT("hb: synced");	/* a stop mid-sync would end the stream mid-epoch */
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"connected\"")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"peer_lost\":1,")) TH_LOG("%s", self->out);
	/* Tell a we are done: end the link, cleanly. */
	EXPECT_EQ(0, FTNL(self->out, "stop", "hb")) TH_LOG("%s", self->out);
}

TEST_F(peer, wrong_role_refused)
{
	char *want = strcmp(self->role, "a") ? "only a backup VM listens" :
					       "only a primary VM pairs";

	/* A primary does not listen, a backup does not pair. */
	if (strcmp(self->role, "a")) {
		EXPECT_EQ(1, FTNL(self->out, "listen", "hb", "0.0.0.0", PORT));
	} else {
		EXPECT_EQ(1, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), PORT));
	}
	EXPECT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "-j", "show", "hb"));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"idle\"")) TH_LOG("%s", self->out);
	/* Refused by ftnl before anything is sent. */
	EXPECT_EQ(2, FTNL(self->out, "pair", "hb", "300.1.1.1", PORT));
	EXPECT_EQ(2, FTNL(self->out, "pair", "hb", getenv("CUJU_PEER"), "0"));
	EXPECT_EQ(2, FTNL(self->out, "listen", "hb", "0.0.0.0", "65536"));
}

TEST_HARNESS_MAIN
