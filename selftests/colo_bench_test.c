// SPDX-License-Identifier: GPL-2.0
/*
 * make bench-peers: QEMU's own COLO beside Cuju, in the same test hosts
 * and the same run as qemu_bench_test (not part of make check; figures,
 * never verdicts on speed).  Debian's stock QEMU 7.2 runs the same guest
 * as qemu_bench_test (Debian's kernel, init running wl at 0, 1000 and 5000
 * pages dirtied per second), as COLO's primary on host b and its
 * secondary on host a, with 100 ms and 1000 ms between checkpoints
 * (x-checkpoint-delay).  How ../shared/peers/ ran it: machine "pc" (a q35
 * secondary aborts at its first checkpoint in 7.2), no disk, a slirp NIC
 * that reaches nothing behind COLO's proxy objects (docs/COLO-FT.txt), so
 * every checkpoint is a periodic one.
 *
 * Per variant: the work rate on host b's clock with COLO off (the guest
 * alone), then on (once QEMU says "colo"), their ratio, and the bytes per
 * second host b sent on the replication link meanwhile.  Then, once, the
 * failover: host b's QEMU killed, host a told x-colo-lost-heartbeat (COLO
 * has no failure detector of its own), and the time from that command to
 * the guest's next line there.  Host b prints each variant's figures in
 * a line that starts "# colo", which make bench-peers puts in one table
 * with qemu_bench_test's "# qbench" lines.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "guest.h"
#include "pair.h"
#include "run.h"
#include "test.h"

#define STOCK_QEMU	"/usr/bin/qemu-system-x86_64"
#define HMP		"/run/colo.hmp"
#define MIG_PORT	"7931"
#define WAIT_S		300
#define WARMUP_S	5
#define MEASURE_S	20
#define GUEST_MIB	"256"		/* as qemu_bench_test's */

FIXTURE(colo) {
	const char *role, *peer;
	pid_t qemu;
	int qemu_fd, note;
	char out[4096];
	char tag[32];		/* this test's, in every note: none is another's */
};

FIXTURE_VARIANT(colo) {
	unsigned int rate;	/* pages dirtied per second */
	unsigned int delay_ms;	/* x-checkpoint-delay */
};

FIXTURE_VARIANT_ADD(colo, d100_rate0) { .rate = 0, .delay_ms = 100 };
FIXTURE_VARIANT_ADD(colo, d100_rate1000) { .rate = 1000, .delay_ms = 100 };
FIXTURE_VARIANT_ADD(colo, d100_rate5000) { .rate = 5000, .delay_ms = 100 };
FIXTURE_VARIANT_ADD(colo, d1000_rate0) { .rate = 0, .delay_ms = 1000 };
FIXTURE_VARIANT_ADD(colo, d1000_rate1000) { .rate = 1000, .delay_ms = 1000 };
FIXTURE_VARIANT_ADD(colo, d1000_rate5000) { .rate = 5000, .delay_ms = 1000 };

FIXTURE_SETUP(colo)
{
	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	self->qemu = -1;
	ASSERT_TRUE(self->role && self->peer) TH_LOG("run by the test runner, on two hosts");
	/*
	 * One socket for all the tests: a note that comes while this host
	 * is between two tests (a secondary QEMU can take 30 s to stop)
	 * waits in it rather than being lost.
	 */
	static int note = -1;

	if (note < 0)
		note = flow_note_socket();
	self->note = note;
	ASSERT_LE(0, self->note) TH_LOG("cannot bind UDP %d", FLOW_NOTE_PORT);
}

FIXTURE_TEARDOWN(colo)
{
	if (self->qemu > 0)
		guest_qemu_stop(self->qemu, self->qemu_fd, self->out, sizeof(self->out));
}

/*
 * COLO's proxy objects (docs/COLO-FT.txt) on a slirp NIC that reaches
 * nothing: the primary serves the mirror and compare sockets on the link,
 * the secondary connects to them.
 */
static int colo_net(const char **argv, int n, bool primary, const char *peer)
{
	static char red0[128], red1[128];
	static const char *const pri[] = {
		"-chardev", "socket,id=mirror0,host=0.0.0.0,port=9003,server=on,wait=off",
		"-chardev", "socket,id=compare1,host=0.0.0.0,port=9004,server=on,wait=off",
		"-chardev", "socket,id=compare0,host=127.0.0.1,port=9001,server=on,wait=off",
		"-chardev", "socket,id=compare0-0,host=127.0.0.1,port=9001",
		"-chardev", "socket,id=compare_out,host=127.0.0.1,port=9005,server=on,wait=off",
		"-chardev", "socket,id=compare_out0,host=127.0.0.1,port=9005",
		"-object", "filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0",
		"-object", "filter-redirector,netdev=hn0,id=redire0,queue=rx,indev=compare_out",
		"-object", "filter-redirector,netdev=hn0,id=redire1,queue=rx,outdev=compare0",
		"-object", "iothread,id=iothread1",
		"-object", "colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,"
			   "outdev=compare_out0,iothread=iothread1",
		NULL,
	};
	const char *sec[] = {
		"-chardev", red0, "-chardev", red1,
		"-object", "filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0",
		"-object", "filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1",
		"-object", "filter-rewriter,id=rew0,netdev=hn0,queue=all",
		NULL,
	};
	const char *const *add = primary ? pri : sec;

	snprintf(red0, sizeof(red0), "socket,id=red0,host=%s,port=9003,reconnect=1", peer);
	snprintf(red1, sizeof(red1), "socket,id=red1,host=%s,port=9004,reconnect=1", peer);
	argv[n++] = "-netdev";
	argv[n++] = "user,id=hn0,restrict=on";
	argv[n++] = "-device";
	argv[n++] = "rtl8139,id=e0,netdev=hn0";
	while (*add)
		argv[n++] = *add++;
	return n;
}

/*
 * Debian's QEMU with the guest running wl at @rate: COLO's primary, its
 * migration set for COLO at @delay_ms on the command line (an HMP
 * command right after another lost its answer once), or its secondary.
 */
static pid_t stock_qemu(bool primary, unsigned int rate, unsigned int delay_ms,
			const char *peer, int *fd)
{
	const char *dir = getenv("CUJU_GUEST");
	static char kernel[512], initrd[512], append[160], delay[64];
	const char *argv[80] = {
		"qemu-system-x86_64", "-machine", "pc,accel=kvm", "-cpu", "host,-svm",
		"-m", GUEST_MIB, "-smp", "1", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", append,
		"-serial", "file:" GUEST_SERIAL,
		"-monitor", "unix:" HMP ",server=on,wait=off",
	};
	int n = 0;

	if (!dir || access(STOCK_QEMU, X_OK))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", dir);
	snprintf(append, sizeof(append), "console=ttyS0 panic=-1 cuju_job=wl wl.rate=%u", rate);
	while (argv[n])
		n++;
	n = colo_net(argv, n, primary, peer);
	snprintf(delay, sizeof(delay), "migration.x-checkpoint-delay=%u", delay_ms);
	if (primary) {
		argv[n++] = "-global";
		argv[n++] = "migration.x-colo=on";
		argv[n++] = "-global";
		argv[n++] = delay;
	} else {
		argv[n++] = "-incoming";
		argv[n++] = "tcp:0.0.0.0:" MIG_PORT;
	}
	argv[n] = NULL;
	unlink(GUEST_SERIAL);
	return run_start(0, fd, STOCK_QEMU, (const char *const *)argv);
}

/* An HMP command, whose answer must hold @want (NULL: any answer). */
static bool hmp(FIXTURE_DATA(colo) *self, const char *cmd, const char *want)
{
	return guest_hmp(HMP, cmd, self->out, sizeof(self->out)) &&
	       (!want || strstr(self->out, want));
}

/* QEMU's monitor answers, and its answer holds @want, within @wait_s. */
static bool hmp_until(FIXTURE_DATA(colo) *self, const char *cmd, const char *want, int wait_s)
{
	time_t deadline = time(NULL) + wait_s;

	while (!hmp(self, cmd, want))
		if (time(NULL) >= deadline || sleep(1))
			return false;
	return true;
}

/* QEMU's migration status is COLO's, within @wait_s; false if it failed or never came. */
static bool in_colo(FIXTURE_DATA(colo) *self, int wait_s)
{
	time_t deadline = time(NULL) + wait_s;

	while (time(NULL) < deadline) {
		if (hmp(self, "info migrate\n", "Migration status: colo"))
			return true;
		if (strstr(self->out, "Migration status: failed"))
			return false;
		sleep(1);
	}
	return false;
}

static unsigned long long link_tx_bytes(void)
{
	unsigned long long n = 0;
	FILE *f = fopen("/sys/class/net/eth0/statistics/tx_bytes", "r");

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* Send the peer @what, tagged with this test. */
static void say(FIXTURE_DATA(colo) *self, const char *what)
{
	char note[64];

	snprintf(note, sizeof(note), "%s %s", what, self->tag);
	flow_note(self->peer, note);
}

/* This test's note @what from the peer, within WAIT_S. */
static bool heard(FIXTURE_DATA(colo) *self, const char *what)
{
	char want[64], buf[64];

	snprintf(want, sizeof(want), "%s %s", what, self->tag);
	return flow_note_for(self->note, want, buf, sizeof(buf), WAIT_S);
}

/* Host a: the secondary, started when b asks, told "done" or to fail over. */
static void secondary(struct __test_metadata *_metadata, FIXTURE_DATA(colo) *self,
		      const FIXTURE_VARIANT(colo) *variant, bool failover)
{
	char line[256] = "WL seq=0";
	unsigned long long seq;
	double t0;

	ASSERT_TRUE(heard(self, "start")) TH_LOG("b never asked for a secondary");
	self->qemu = stock_qemu(false, variant->rate, variant->delay_ms, self->peer,
				&self->qemu_fd);
	ASSERT_LT(0, self->qemu) TH_LOG("no " STOCK_QEMU " or guest (make guest)");
	ASSERT_TRUE(hmp_until(self, "info status\n", "inmigrate", 60)) TH_LOG("%s", self->out);
	say(self, "listening");
	ASSERT_TRUE(heard(self, failover ? "failover" : "done")) TH_LOG("b never finished");
	if (!failover)
		return;
	guest_line("WL seq=", 0, line, sizeof(line));
	seq = strtoull(line + 7, NULL, 10);
	t0 = flow_now();
	ASSERT_TRUE(hmp(self, "x_colo_lost_heartbeat\n", NULL)) TH_LOG("%s", self->out);
	while (flow_now() - t0 < 60) {
		if (guest_line("WL seq=", 0, line, sizeof(line)) &&
		    strtoull(line + 7, NULL, 10) > seq)
			break;
		usleep(10 * 1000);
	}
	ASSERT_LT(seq, strtoull(line + 7, NULL, 10)) TH_LOG("the secondary's guest did not go on");
	printf("# colo failover: x-colo-lost-heartbeat, then the guest's next line after "
	       "%.0f ms (it prints one a second; COLO has no failure detector: add your own)\n",
	       (flow_now() - t0) * 1000);
}

/* Host b: the primary, measured alone, then under COLO with a's secondary. */
static void primary(struct __test_metadata *_metadata, FIXTURE_DATA(colo) *self,
		    const FIXTURE_VARIANT(colo) *variant, bool failover)
{
	unsigned long long tx0, tx1;
	char line[256], buf[64];
	double off, on, t0, t1;

	self->qemu = stock_qemu(true, variant->rate, variant->delay_ms, self->peer,
				&self->qemu_fd);
	ASSERT_LT(0, self->qemu) TH_LOG("no " STOCK_QEMU " or guest (make guest)");
	ASSERT_TRUE(guest_line("WL start", 120, line, sizeof(line))) TH_LOG("no workload");
	sleep(WARMUP_S);
	off = failover ? 0 : guest_wl_rate(MEASURE_S);

	say(self, "start");
	ASSERT_TRUE(heard(self, "listening")) TH_LOG("a never listened");
	snprintf(buf, sizeof(buf), "migrate -d tcp:%s:%s\n", self->peer, MIG_PORT);
	ASSERT_TRUE(hmp_until(self, buf, NULL, 60)) TH_LOG("%s", self->out);
	ASSERT_TRUE(in_colo(self, WAIT_S)) TH_LOG("%s", self->out);
	sleep(WARMUP_S);
	if (failover) {
		kill(self->qemu, SIGKILL);	/* as a crash would; the teardown reaps it */
		say(self, "failover");
		return;
	}
	tx0 = link_tx_bytes();
	t0 = flow_now();
	on = guest_wl_rate(MEASURE_S);
	t1 = flow_now();
	tx1 = link_tx_bytes();
	EXPECT_TRUE(hmp(self, "info migrate\n", "Migration status: colo"))
		TH_LOG("COLO ended while measured: %s", self->out);
	printf("# colo %4u ms %4u pages/s: work off %.0f units/s, on %.0f units/s, ratio %.2f; "
	       "link %.2f MB/s\n", variant->delay_ms, variant->rate, off, on, off ? on / off : 0,
	       (tx1 - tx0) / (t1 - t0) / 1e6);
	EXPECT_LT(0, off);
	EXPECT_LT(0, on);
	say(self, "done");
}

TEST_F_TIMEOUT(colo, work_rate_off_and_on, 2 * WAIT_S)
{
	snprintf(self->tag, sizeof(self->tag), "wr-%u-%u", variant->delay_ms, variant->rate);
	if (!strcmp(self->role, "a"))
		secondary(_metadata, self, variant, false);
	else
		primary(_metadata, self, variant, false);
}

TEST_F_TIMEOUT(colo, failover_time, 2 * WAIT_S)
{
	if (variant->rate != 1000 || variant->delay_ms != 1000)
		return;		/* once is enough */
	snprintf(self->tag, sizeof(self->tag), "fo-%u-%u", variant->delay_ms, variant->rate);
	if (!strcmp(self->role, "a"))
		secondary(_metadata, self, variant, true);
	else
		primary(_metadata, self, variant, true);
}

TEST_HARNESS_MAIN
