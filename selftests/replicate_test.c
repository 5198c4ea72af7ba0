// SPDX-License-Identifier: GPL-2.0
/*
 * Replication end to end: a primary VM whose guest keeps writing, its
 * epochs on the backup, and the backup taking over.
 *
 *   +------ test host a ------+           +------ test host b ------+
 *   | VM "rep" (backup)       |   eth0    | VM "rep" (primary)      |
 *   | ftnl listen :7901       |<--------->| ftnl pair a:7901        |
 *   | applies epochs          |  epochs   | guest churns pages,     |
 *   |                         |   ACKs    | epoch engine snapshots  |
 *   | takes over: guest goes  |           | dies (link cut) or      |
 *   | on from the checkpoint  |           | stops cleanly           |
 *   +-------------------------+           +-------------------------+
 *
 * The guest's own invariant is the consistency check: at the top of every
 * round, each of its pages holds the round number it keeps in a register
 * (or on its stack).  A checkpoint whose memory and registers came from
 * different instants breaks it on the backup, and the guest says so.
 */
#include <linux/kvm_ft.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7901"
#define CRC_PORT	7902	/* the tests' own exchange of checksums */
#define SPARE_PORT	"7904"
#define OLD_PORT	"7908"	/* the backup that dies */
#define NEW_PORT	"7909"	/* the one that replaces it */
#define KNOBS_PORT	"7912"
#define CRASH_PORT	"7913"
#define LAYOUT_PORT	"7916"
#define WAIT_S		120
#define FAILOVER_MS	5000	/* roomy: a slow emulated host must not trip it */
#define ASK_PORT	0x1001	/* the guest asks the host whether to stop */
#define NPAGES		64

/* ---- the guest ------------------------------------------------------------ */

static uint8_t area[NPAGES][VMM_PAGE_SIZE] __attribute__((aligned(VMM_PAGE_SIZE)));

static inline uint8_t ask_stop_at(uint64_t round)
{
	uint8_t v;

	asm volatile("in %%dx, %%al" : "=a"(v) : "d"(ASK_PORT), "D"(round) : "memory");
	return v;
}

static void guest_churn(void)
{
	uint64_t round = *(volatile uint64_t *)area[0];
	int i;

	for (;;) {
		for (i = 0; i < NPAGES; i++)
			GUEST_ASSERT(*(volatile uint64_t *)area[i] == round);
		round++;
		for (i = 0; i < NPAGES; i++)
			*(volatile uint64_t *)area[i] = round;
		if (ask_stop_at(round))
			break;
	}
	GUEST_SYNC(round);
}

/* ---- the host ------------------------------------------------------------- */

/* The vCPU's thread: runs the guest until it stops, answers its questions. */
struct runner {
	struct vcpu *vcpu;
	pthread_t thread;
	volatile uint64_t stop_after;	/* answer "stop" once a round passes this */
	volatile uint64_t last_round;
	uint64_t final_round;		/* from its GUEST_SYNC */
	bool done;
};

static void *run_guest(void *arg)
{
	struct runner *r = arg;
	struct kvm_run *run = r->vcpu->run;
	struct ucall uc;

	for (;;) {
		uint32_t reason = vcpu_run(r->vcpu);

		if (reason == KVM_EXIT_IO && run->io.port == ASK_PORT) {
			struct kvm_regs regs;

			vcpu_get_regs(r->vcpu, &regs);
			r->last_round = regs.rdi;
			*((uint8_t *)run + run->io.data_offset) = regs.rdi > r->stop_after;
			continue;
		}
		/* Anything else is a ucall, checked as vcpu_run_ucall() would. */
		VMM_ASSERT(vcpu_get_ucall(r->vcpu, reason, &uc) == UCALL_SYNC,
			   "guest ucall %lu", uc.cmd);
		r->final_round = uc.args[0];
		r->done = true;
		return NULL;
	}
}

static void runner_start(struct runner *r, struct vcpu *vcpu)
{
	r->vcpu = vcpu;
	r->stop_after = UINT64_MAX;
	pthread_create(&r->thread, NULL, run_guest, r);
}

static void runner_stop(struct runner *r, uint64_t more_rounds)
{
	r->stop_after = r->last_round + more_rounds;
	pthread_join(r->thread, NULL);
}

FIXTURE(rep) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *vcpu;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(rep)
{
	struct kvm_ft_register r = { .name = "rep", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	ASSERT_NE(NULL, self->peer);
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);	/* same shape on both */
	self->vcpu = vcpu_add(self->vm, 0, guest_churn, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
}

FIXTURE_TEARDOWN(rep)
{
	pair_teardown(&self->mon, "rep");
	vm_destroy(self->vm);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)
#define COUNTER_REACHES(key, min) \
	ASSERT_TRUE(ftnl_counter_reaches("rep", key, min, WAIT_S)) TH_LOG("%s", ftnl_last())

/* CRC-32C of the VM's main memory, by the kernel. */
static uint32_t memory_crc(struct vm *vm)
{
	struct kvm_ft_checksum c = { .gpa = 0, .size = VMM_MAIN_SIZE };

	if (ioctl(vm->fd, KVM_FT_CHECKSUM, &c))
		return 0;
	return c.crc;
}

/* Both sides: link up, primary synced (a sees the epochs come). */
static void link_up(struct __test_metadata *_metadata, FIXTURE_DATA(rep) *self,
		    const char *port)
{
	ASSERT_TRUE(monitor_start(&self->mon)) TH_LOG("ftnl monitor did not start");
	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "rep", "0.0.0.0", port, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("rep: linked");
		return;
	}
	ASSERT_EQ(0, FTNL(self->out, "pair", "rep", self->peer, port, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("rep: linked");
	EVENT("rep: synced");
}

/*
 * The guest runs on the primary through many epochs, then stops; once the
 * epochs after its stop are acknowledged, the backup's memory is the
 * primary's, byte for byte.
 */
TEST_F(rep, quiesced_memory_matches)
{
	struct runner r = { 0 };
	uint32_t crc = 0;

	if (!strcmp(self->role, "a")) {
		/* No checkpoint yet: a failover is refused, with the reason (on a
		 * port of its own, where b cannot link meanwhile). */
		ASSERT_EQ(0, FTNL(self->out, "listen", "rep", "0.0.0.0", SPARE_PORT, TEST_KEY));
		EXPECT_EQ(6, FTNL(self->out, "failover", "rep"));
		EXPECT_NE(NULL, strstr(self->out, "no consistent checkpoint")) TH_LOG("%s", self->out);
		ASSERT_EQ(0, FTNL(self->out, "stop", "rep"));
	}
	link_up(_metadata, self, PORT);
	if (!strcmp(self->role, "a")) {
		/* b stops cleanly once its guest is done and all is acknowledged. */
		EVENT("rep: peer lost (closed)");
		COUNTER_REACHES("\"epochs\":", 10);
		EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"listening\"")) TH_LOG("%s", ftnl_last());
		/* Not listening when b pairs for its next test. */
		ASSERT_EQ(0, FTNL(self->out, "stop", "rep"));
		EXPECT_TRUE(take_values(CRC_PORT, &crc, 1, WAIT_S));
		EXPECT_EQ(crc, memory_crc(self->vm));
		return;
	}

	runner_start(&r, self->vcpu);
	COUNTER_REACHES("\"epochs\":", 10);
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
	/* Epochs taken since acknowledged: they hold every write of the guest. */
	ASSERT_TRUE(ftnl_epochs_settle("rep", WAIT_S)) TH_LOG("%s", ftnl_last());
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"connected\"")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, ftnl_counter("rep", "\"sync_total\":") - ftnl_counter("rep", "\"sync_done\":"));
	EXPECT_LT(0, ftnl_counter("rep", "\"pause_max_ns\":")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, FTNL(self->out, "stop", "rep")) TH_LOG("%s", self->out);
	crc = memory_crc(self->vm);
	EXPECT_TRUE(give_values(self->peer, CRC_PORT, &crc, 1, WAIT_S));
}

/*
 * The primary dies mid-run (its link cut): the backup takes over by itself
 * from its last checkpoint, and the guest runs on there, its invariant
 * intact, from a round no earlier than the primary's first.
 */
TEST_F(rep, failover_resumes_consistently)
{
	struct runner r = { 0 };

	link_up(_metadata, self, PORT);
	if (!strcmp(self->role, "a")) {
		EVENT("rep: peer lost (silence)");
		EVENT("rep: failover started at epoch");
		EVENT("rep: took over at epoch");
		COUNTER_REACHES("\"epochs\":", 10);
		EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"active\"")) TH_LOG("%s", ftnl_last());
		/* The guest goes on from the checkpoint and checks itself. */
		runner_start(&r, self->vcpu);
		while (!r.last_round)
			usleep(10 * 1000);
		runner_stop(&r, 50);
		ASSERT_TRUE(r.done);
		EXPECT_LT(0, r.final_round);
		return;
	}

	runner_start(&r, self->vcpu);
	COUNTER_REACHES("\"epochs\":", 10);
	/* Die, as far as a can tell: nothing more gets out. */
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	EVENT("rep: peer lost (silence)");
	COUNTER_REACHES("\"peer_lost\":", 1);
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"unprotected\"")) TH_LOG("%s", ftnl_last());
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
	/* Let a take over before the link comes back in teardown. */
	sleep(FAILOVER_MS / 1000 + 5);
}

/* ftnl failover: the backup takes over at once, the primary loses it. */
TEST_F(rep, manual_failover)
{
	struct runner r = { 0 };
	char from[64];

	link_up(_metadata, self, PORT);
	if (!strcmp(self->role, "a")) {
		COUNTER_REACHES("\"epochs\":", 10);
		EXPECT_EQ(0, FTNL(self->out, "failover", "rep")) TH_LOG("%s", self->out);
		EVENT("rep: failover started at epoch");
		/* Begun and done from the same checkpoint. */
		snprintf(from, sizeof(from), "%s", self->mon.event + strlen("rep: failover started"));
		EVENT("rep: took over at epoch");
		EXPECT_STREQ(from, self->mon.event + strlen("rep: took over")) TH_LOG("%s", from);
		EXPECT_EQ(1, FTNL(self->out, "failover", "rep"));
		EXPECT_NE(NULL, strstr(self->out, "took over already")) TH_LOG("%s", self->out);
		/* Still so once its link is stopped: the VM runs here now. */
		EXPECT_EQ(0, FTNL(self->out, "stop", "rep")) TH_LOG("%s", self->out);
		EXPECT_EQ(1, FTNL(self->out, "failover", "rep"));
		EXPECT_NE(NULL, strstr(self->out, "took over already")) TH_LOG("%s", self->out);
		runner_start(&r, self->vcpu);
		while (!r.last_round)
			usleep(10 * 1000);
		runner_stop(&r, 50);
		ASSERT_TRUE(r.done);
		return;
	}
	runner_start(&r, self->vcpu);
	EVENT("rep: peer lost");
	COUNTER_REACHES("\"peer_lost\":", 1);
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"unprotected\"")) TH_LOG("%s", ftnl_last());
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
}

/*
 * Host a's first backup: another process, with a VM of its own, that dies
 * by SIGKILL as a crashing VMM would.  Returns its pid.
 */
static pid_t old_backup(void)
{
	struct kvm_ft_register r = { .name = "old", .role = KVM_FT_ROLE_BACKUP,
				     .flags = KVM_FT_F_NO_DEVICE_STATE };
	pid_t pid = fork();
	char out[1024];
	struct vm *vm;

	if (pid)
		return pid;
	vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vcpu_add(vm, 0, guest_churn, 0, 0);
	if (ioctl(vm->fd, KVM_FT_REGISTER, &r) || FTNL(out, "listen", "old", "0.0.0.0", OLD_PORT, TEST_KEY))
		_exit(1);
	for (;;)
		pause();
}

/*
 * The backup dies (its VMM killed); the primary runs on unprotected, says
 * so, pairs with a new backup elsewhere, syncs again and is protected.
 */
TEST_F(rep, new_backup_after_loss)
{
	struct runner r = { 0 };
	unsigned long long acked;
	uint64_t round;
	pid_t old;
	int status;

	ASSERT_TRUE(monitor_start(&self->mon));
	if (!strcmp(self->role, "a")) {
		old = old_backup();
		ASSERT_LT(0, old);
		EVENT("old: linked");
		ASSERT_TRUE(ftnl_counter_reaches("old", "\"epochs\":", 5, WAIT_S))
			TH_LOG("%s", ftnl_last());
		kill(old, SIGKILL);
		ASSERT_EQ(old, waitpid(old, &status, 0));
		EXPECT_EQ(5, FTNL(self->out, "show", "old"));
		EXPECT_NE(NULL, strstr(self->out, "no protected VM named 'old'")) TH_LOG("%s", self->out);
		/* The new backup: this process's VM, on another port. */
		ASSERT_EQ(0, FTNL(self->out, "listen", "rep", "0.0.0.0", NEW_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("rep: linked");
		EVENT("rep: peer lost (closed)");
		COUNTER_REACHES("\"epochs\":", 5);
		return;
	}

	runner_start(&r, self->vcpu);
	ASSERT_EQ(0, FTNL(self->out, "pair", "rep", self->peer, OLD_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("rep: linked");
	EVENT("rep: synced");
	EVENT("rep: peer lost");
	COUNTER_REACHES("\"peer_lost\":", 1);
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"unprotected\"")) TH_LOG("%s", ftnl_last());
	acked = ftnl_last_counter("\"epochs\":");
	/* Still running, unprotected: the guest makes progress meanwhile. */
	round = r.last_round;
	while (r.last_round < round + 10)
		usleep(10 * 1000);

	ASSERT_EQ(0, FTNL(self->out, "pair", "rep", self->peer, NEW_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("rep: linked");
	EVENT("rep: synced");
	COUNTER_REACHES("\"epochs\":", acked + 5);	/* counted on from before */
	EXPECT_NE(NULL, strstr(ftnl_last(), "\"state\":\"connected\"")) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(ftnl_last_counter("\"sync_total\":"), ftnl_last_counter("\"sync_done\":"));
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
	EXPECT_EQ(0, FTNL(self->out, "stop", "rep")) TH_LOG("%s", self->out);
}

/*
 * Host b's primary for the crash test: another process, with its VM and
 * guest, paired with a; it dies by SIGKILL, as a crashing VMM would.
 */
static pid_t doomed_primary(const char *peer)
{
	struct kvm_ft_register r = { .name = "vmm", .role = KVM_FT_ROLE_PRIMARY,
				     .flags = KVM_FT_F_NO_DEVICE_STATE };
	static struct runner run;
	pid_t pid = fork();
	char out[1024];
	struct vm *vm;

	if (pid)
		return pid;
	vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	runner_start(&run, vcpu_add(vm, 0, guest_churn, 0, 0));
	if (ioctl(vm->fd, KVM_FT_REGISTER, &r) || FTNL(out, "pair", "vmm", peer, CRASH_PORT, TEST_KEY))
		_exit(1);
	for (;;)
		pause();
}

/*
 * The primary's VMM dies (SIGKILL) while its VM is protected: the VM is
 * gone with it, so its link is reset rather than closed, and the backup
 * takes over and runs the guest on, its invariant intact.
 */
TEST_F(rep, primary_vmm_killed)
{
	struct runner r = { 0 };
	pid_t vmm;
	int status;

	ASSERT_TRUE(monitor_start(&self->mon));
	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "rep", "0.0.0.0", CRASH_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("rep: linked");
		EVENT("rep: peer lost");
		EVENT("rep: failover started at epoch");
		EVENT("rep: took over at epoch");
		runner_start(&r, self->vcpu);
		while (!r.last_round)
			usleep(10 * 1000);
		runner_stop(&r, 50);
		ASSERT_TRUE(r.done);
		return;
	}
	vmm = doomed_primary(self->peer);
	ASSERT_LT(0, vmm);
	EVENT("vmm: linked");
	EVENT("vmm: synced");
	ASSERT_TRUE(ftnl_counter_reaches("vmm", "\"epochs\":", 10, WAIT_S)) TH_LOG("%s", ftnl_last());
	kill(vmm, SIGKILL);
	ASSERT_EQ(vmm, waitpid(vmm, &status, 0));
	EXPECT_EQ(5, FTNL(self->out, "show", "vmm"));
	EXPECT_NE(NULL, strstr(self->out, "no protected VM named 'vmm'")) TH_LOG("%s", self->out);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * While paired, the engine alone takes the dirty log: the VMM's
 * KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG are refused with EBUSY (they
 * would take pages away from the next epoch).  A memslot added while
 * paired ends the pair loudly (reason "layout"), cleanly for the backup,
 * which does not take over; the log is the VMM's again afterwards.
 */
TEST_F(rep, log_and_layout_are_the_engines)
{
	static uint64_t bitmap[VMM_MAIN_SIZE / VMM_PAGE_SIZE / 64];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = {
		.slot = 0, .first_page = 0, .num_pages = 64, .dirty_bitmap = bitmap,
	};

	link_up(_metadata, self, LAYOUT_PORT);
	if (!strcmp(self->role, "a")) {
		EVENT("rep: peer lost (closed)");
		ASSERT_EQ(0, FTNL(self->out, "-j", "show", "rep"));
		EXPECT_NE(NULL, strstr(self->out, "\"state\":\"listening\""))
			TH_LOG("a clean end is no takeover: %s", self->out);
		return;
	}
	COUNTER_REACHES("\"epochs\":", 3);
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_GET_DIRTY_LOG, &log));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, ioctl(self->vm->fd, KVM_CLEAR_DIRTY_LOG, &clear));
	EXPECT_EQ(EBUSY, errno);
	vm_add_slot(self->vm, 1, VMM_TEST_GPA, 1 << 20, KVM_MEM_LOG_DIRTY_PAGES);
	EVENT("rep: peer lost (layout)");
	ASSERT_EQ(0, FTNL(self->out, "-j", "show", "rep"));
	EXPECT_NE(NULL, strstr(self->out, "\"layout\":1")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"unprotected\"")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, ioctl(self->vm->fd, KVM_GET_DIRTY_LOG, &log)) TH_LOG("%s", strerror(errno));
}

/*
 * Knobs changed while the pair runs take effect at once: verify_memory
 * starts checking the next epoch, inflight_max bounds the epochs in
 * flight, and a VM's own epoch length (ftnl set) paces its next epochs.
 * Only bounds that hold however slow a host is are asserted.
 */
TEST_F(rep, knobs_on_a_running_pair)
{
	unsigned long long e0, e1;
	struct runner r = { 0 };
	double t0, t1;
	int i;

	/* A port of its own: a listens on it until teardown, after b moved on. */
	link_up(_metadata, self, KNOBS_PORT);
	if (!strcmp(self->role, "a")) {
		/* b's steps below take many ftnl runs: slow on a debug kernel. */
		ASSERT_TRUE(ftnl_counter_reaches("rep", "\"verified\":", 3, 4 * WAIT_S))
			TH_LOG("%s", ftnl_last());
		EVENT("rep: peer lost (closed)");
		EXPECT_EQ(0, ftnl_counter("rep", "\"verify\":")) TH_LOG("%s", ftnl_last());
		return;
	}
	runner_start(&r, self->vcpu);
	COUNTER_REACHES("\"epochs\":", 5);

	ASSERT_TRUE(knob_set("inflight_max", 1));
	for (i = 0; i < 8; i++) {
		ftnl_counter("rep", "\"epochs\":");
		EXPECT_GE(1, ftnl_last_counter("\"inflight\":")) TH_LOG("%s", ftnl_last());
	}
	ASSERT_TRUE(knob_set("inflight_max", KVM_FT_INFLIGHT_DEFAULT));

	ASSERT_EQ(0, FTNL(self->out, "set", "rep", "epoch-us", "250000")) TH_LOG("%s", self->out);
	e0 = ftnl_counter("rep", "\"epochs\":");
	t0 = now_s();
	sleep(2);
	e1 = ftnl_counter("rep", "\"epochs\":");
	t1 = now_s();
	/* At most one an epoch length, plus the one under way at each end. */
	EXPECT_GE((t1 - t0) / 0.25 + 2, e1 - e0) TH_LOG("%llu epochs in %.2f s", e1 - e0, t1 - t0);
	ASSERT_EQ(0, FTNL(self->out, "set", "rep", "epoch-us", "10000")) TH_LOG("%s", self->out);
	COUNTER_REACHES("\"epochs\":", e1 + 20);

	/* a sees epochs checked from now on; it says so by waiting for them. */
	ASSERT_TRUE(knob_set("verify_memory", 1));
	e0 = ftnl_counter("rep", "\"epochs\":");
	COUNTER_REACHES("\"epochs\":", e0 + 5);
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
	e0 = ftnl_counter("rep", "\"epochs\":");
	COUNTER_REACHES("\"epochs\":", e0 + 2);
	EXPECT_EQ(0, FTNL(self->out, "stop", "rep")) TH_LOG("%s", self->out);
}

/* ---- vCPU state: 2 vCPUs, SSE registers and an MSR across a failover --------- */

#define MSR_KERNEL_GS_BASE	0xc0000102
#define TICK_PORT		0x80
#define TICK_PORT_S		"0x80"

static volatile uint64_t sse_stop;
static volatile uint64_t sse_progress[2];

/*
 * A chain of SSE operations whose state lives in xmm5..xmm7 and a counter
 * register for the whole loop, until *stop or @limit rounds: any of it lost
 * at a failover changes the result.  The host runs the same code natively,
 * for the rounds a guest reports, to check it.  A guest leaves the loop
 * for its VMM every @tick + 1 rounds (a power of two; 0: never), so that a
 * long run is not taken for a hung vCPU.
 */
static uint64_t sse_chain(uint64_t seed, volatile uint64_t *stop,
			  volatile uint64_t *progress, uint64_t limit, uint64_t tick,
			  uint64_t *rounds)
{
	uint64_t r, n = 0;

	asm volatile("movq %[seed], %%xmm7\n\t"
		     "pshufd $0x44, %%xmm7, %%xmm7\n\t"
		     "pxor %%xmm6, %%xmm6\n"
		     "1:\n\t"
		     "paddq %%xmm7, %%xmm6\n\t"
		     "pshufd $0x4e, %%xmm6, %%xmm5\n\t"
		     "pxor %%xmm5, %%xmm7\n\t"
		     "psllq $1, %%xmm5\n\t"
		     "paddq %%xmm5, %%xmm7\n\t"
		     "inc %[n]\n\t"
		     "mov %[n], (%[progress])\n\t"
		     "test %[tick], %[n]\n\t"
		     "jnz 3f\n\t"
		     "test %[tick], %[tick]\n\t"
		     "jz 3f\n\t"
		     "outb %%al, $" TICK_PORT_S "\n"
		     "3:\n\t"
		     "cmp %[limit], %[n]\n\t"
		     "je 2f\n\t"
		     "cmpq $0, (%[stop])\n\t"
		     "je 1b\n"
		     "2:\n\t"
		     "movq %%xmm6, %[r]"
		     : [r] "=r"(r), [n] "+r"(n)
		     : [seed] "r"(seed), [stop] "r"(stop), [progress] "r"(progress),
		       [limit] "r"(limit), [tick] "r"(tick)
		     : "xmm5", "xmm6", "xmm7", "memory", "cc");
	*rounds = n;
	return r;
}

/* What the chain gives natively after exactly @rounds. */
static uint64_t sse_expected(uint64_t seed, uint64_t rounds)
{
	static volatile uint64_t never, scratch;
	uint64_t n;

	return sse_chain(seed, &never, &scratch, rounds, 0, &n);
}

/* Also a canonical address: it goes into MSR_KERNEL_GS_BASE. */
static uint64_t seed_of(uint64_t id)
{
	return (0x9e3779b97f4a7c15UL * (id + 1)) & 0x00007ffffffff000UL;
}

/*
 * The local APIC timer, in x2APIC mode, periodic: each tick the handler
 * counts in lapic_ticks[its APIC ID] and ends the interrupt.  It must go on
 * ticking after a failover, which it does only if the APIC's state came
 * across (a reset APIC has its timer masked).
 */
#define TIMER_VECTOR	0x40
#define TIMER_COUNT	10000000	/* 10 ms at KVM's 1 GHz APIC bus */
#define APIC_LVTT_PERIODIC (1U << 17)
#define MSR_APIC_BASE	0x1b
#define X2APIC_ID	0x802
#define X2APIC_EOI	0x80b
#define X2APIC_SVR	0x80f
#define X2APIC_LVTT	0x832
#define X2APIC_TMICT	0x838
#define X2APIC_TDCR	0x83e

volatile uint64_t lapic_ticks[3];

asm(".pushsection .text\n"
    ".global lapic_timer_isr\n"
    "lapic_timer_isr:\n"
    "  push %rax\n  push %rcx\n  push %rdx\n"
    "  mov $0x802, %ecx\n  rdmsr\n"			/* X2APIC_ID */
    "  lock incq lapic_ticks(,%rax,8)\n"
    "  mov $0x80b, %ecx\n  xor %eax, %eax\n  xor %edx, %edx\n  wrmsr\n"	/* EOI */
    "  pop %rdx\n  pop %rcx\n  pop %rax\n"
    "  iretq\n"
    ".popsection\n");
extern char lapic_timer_isr[];

static void wrmsr64(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr64(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void guest_timer_start(void)
{
	wrmsr64(MSR_APIC_BASE, rdmsr64(MSR_APIC_BASE) | 3 << 10);	/* x2APIC on */
	wrmsr64(X2APIC_SVR, 0x1ff);					/* APIC on */
	wrmsr64(X2APIC_TDCR, 0xb);					/* divide by 1 */
	wrmsr64(X2APIC_LVTT, APIC_LVTT_PERIODIC | TIMER_VECTOR);
	wrmsr64(X2APIC_TMICT, TIMER_COUNT);
	asm volatile("sti");
}

/*
 * MSRs that KVM's own index list leaves out and QEMU saves by hand (the
 * MTRRs), and one from that list (PAT): per vCPU, set before and read
 * after.  Valid values, different for each vCPU.
 */
#define MSR_MTRR_PHYS_BASE0	0x200
#define MSR_MTRR_PHYS_MASK0	0x201
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_PAT			0x277

static const uint64_t mtrr_def[2] = { 0xc06, 0x806 };		/* E (+FE), WB */
static const uint64_t mtrr_base0[2] = { 0x100006, 0x200006 };	/* WB ranges */
static const uint64_t pat[2] = { 0x0007040600070406, 0x0006040700060407 };
#define MTRR_MASK0	0xfff00800				/* 1 MiB, valid */

static void guest_msrs_set(uint64_t id)
{
	wrmsr64(MSR_MTRR_DEF_TYPE, mtrr_def[id]);
	wrmsr64(MSR_MTRR_PHYS_BASE0, mtrr_base0[id]);
	wrmsr64(MSR_MTRR_PHYS_MASK0, MTRR_MASK0);
	wrmsr64(MSR_PAT, pat[id]);
}

static bool guest_msrs_kept(uint64_t id)
{
	return rdmsr64(MSR_MTRR_DEF_TYPE) == mtrr_def[id] &&
	       rdmsr64(MSR_MTRR_PHYS_BASE0) == mtrr_base0[id] &&
	       rdmsr64(MSR_MTRR_PHYS_MASK0) == MTRR_MASK0 && rdmsr64(MSR_PAT) == pat[id];
}

static void guest_sse(uint64_t id, uint64_t unused)
{
	uint64_t rounds, r, msr;

	guest_timer_start();
	/* A per-vCPU MSR, set before and read after: it must travel too. */
	asm volatile("wrmsr" : : "c"(MSR_KERNEL_GS_BASE), "a"((uint32_t)seed_of(id)),
		     "d"((uint32_t)(seed_of(id) >> 32)));
	guest_msrs_set(id);
	r = sse_chain(seed_of(id), &sse_stop, &sse_progress[id], UINT64_MAX, 0x3fffff, &rounds);
	/* Any of the others lost: the host sees a GS base of 0. */
	msr = guest_msrs_kept(id) ? rdmsr64(MSR_KERNEL_GS_BASE) : 0;
	asm volatile("cli");
	ucall(UCALL_SYNC, rounds, r, msr);
}

/*
 * vCPU 2 pings vCPU 1 with an IPI and waits for its answer, again and
 * again: a snapshot that took one vCPU's state while the other still ran
 * could hold an IPI sent but never received, and the pinger would wait
 * forever after a failover.  It also enables kvmclock and reads it each
 * round: the MSR is loaded at a takeover in the vCPU's own thread, the
 * only place KVM can map the clock's page (through the VMM's mm).
 */
#define PONG_VECTOR	0x41
#define X2APIC_ICR	0x830
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

volatile uint64_t ping_sent, pong;
volatile uint64_t kvmclock_ns;

struct pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
};
volatile struct pvclock pvti __attribute__((aligned(64)));

asm(".pushsection .text\n"
    ".global pong_isr\n"
    "pong_isr:\n"
    "  push %rax\n  push %rcx\n  push %rdx\n"
    "  mov ping_sent, %rax\n  mov %rax, pong\n"
    "  mov $0x80b, %ecx\n  xor %eax, %eax\n  xor %edx, %edx\n  wrmsr\n"	/* EOI */
    "  pop %rdx\n  pop %rcx\n  pop %rax\n"
    "  iretq\n"
    ".popsection\n");
extern char pong_isr[];

static uint64_t pvclock_read(void)
{
	uint32_t v, lo, hi;
	uint64_t delta, ns;

	do {
		v = pvti.version;
		asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
		delta = ((uint64_t)hi << 32 | lo) - pvti.tsc_timestamp;
		delta = pvti.shift < 0 ? delta >> -pvti.shift : delta << pvti.shift;
		ns = pvti.system_time + (uint64_t)(((unsigned __int128)delta * pvti.mul) >> 32);
		asm volatile("" ::: "memory");
	} while ((v & 1) || v != pvti.version);
	return ns;
}

static void guest_ping(uint64_t unused0, uint64_t unused1)
{
	guest_timer_start();
	wrmsr64(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&pvti | 1);
	/* An IPI to an APIC not yet enabled is dropped: wait for vCPU 1's timer. */
	while (!lapic_ticks[1] && !sse_stop)
		asm volatile("pause");
	while (!sse_stop) {
		uint64_t n = ping_sent + 1;

		ping_sent = n;
		wrmsr64(X2APIC_ICR, 1UL << 32 | PONG_VECTOR);	/* to APIC ID 1 */
		while (pong != n && !sse_stop)
			asm volatile("pause");
		kvmclock_ns = pvclock_read();
	}
	asm volatile("cli");
	ucall(UCALL_SYNC, ping_sent, pong, kvmclock_ns);
}

struct sse_run {
	struct vcpu *vcpu;
	pthread_t thread;
	struct ucall uc;
	uint64_t cmd;
};

static void *run_sse(void *arg)
{
	struct sse_run *r = arg;
	uint32_t reason;

	do
		reason = vcpu_run(r->vcpu);
	while (reason == KVM_EXIT_IO && r->vcpu->run->io.port == TICK_PORT);
	r->cmd = vcpu_get_ucall(r->vcpu, reason, &r->uc);
	return NULL;
}

FIXTURE(state) {
	const char *role, *peer;
	struct vm *vm;
	struct sse_run run[3];		/* two chains, the pinger */
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(state)
{
	struct kvm_ft_register r = { .name = "st", .flags = KVM_FT_F_NO_DEVICE_STATE };
	int i;

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vm_irqchip(self->vm);
	vm_set_handler(self->vm, TIMER_VECTOR, lapic_timer_isr);
	vm_set_handler(self->vm, PONG_VECTOR, pong_isr);
	for (i = 0; i < 2; i++)
		self->run[i].vcpu = vcpu_add(self->vm, i, guest_sse, i, 0);
	self->run[2].vcpu = vcpu_add(self->vm, 2, guest_ping, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(state)
{
	pair_teardown(&self->mon, "st");
	vm_destroy(self->vm);
}

static void chains_start(FIXTURE_DATA(state) *self)
{
	int i;

	for (i = 0; i < 3; i++)
		pthread_create(&self->run[i].thread, NULL, run_sse, &self->run[i]);
}

static void chains_stop(FIXTURE_DATA(state) *self)
{
	int i;

	GUEST_VAR(self->vm, sse_stop) = 1;
	for (i = 0; i < 3; i++)
		pthread_join(self->run[i].thread, NULL);
}

/*
 * The primary dies while both vCPUs are mid-chain (their XMM registers
 * change at every instruction, and they leave the guest only every 4M
 * rounds), their APIC timers ticking, and a third vCPU pings the second
 * with IPIs; on the backup each chain finishes with exactly the result it
 * gives natively for the rounds it reports, its MSR intact, its timer
 * ticking on as programmed, the pings answered, and kvmclock readable.
 */
TEST_F(state, vcpus_survive_failover)
{
	uint64_t p0, p1, ticks[2], pings, k0, k1;
	time_t deadline;
	int i;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "st", "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->out);
		EVENT("st: linked");
		EVENT("st: peer lost (silence)");
		EVENT("st: failover started at epoch");
		EVENT("st: took over at epoch");
		/* The states it resumed came as differences after the first (VCPU_DELTA). */
		EXPECT_LT(0, ftnl_counter("st", "\"vcpu_deltas\":")) TH_LOG("%s", ftnl_last());
		p0 = GUEST_VAR(self->vm, sse_progress[0]);
		p1 = GUEST_VAR(self->vm, sse_progress[1]);
		EXPECT_LT(0, p0 + p1) TH_LOG("the checkpoint has the chains under way");
		for (i = 0; i < 2; i++) {
			ticks[i] = GUEST_VAR(self->vm, lapic_ticks[i]);
			EXPECT_LT(0, ticks[i]) TH_LOG("vCPU %d's timer ticked on the primary", i);
		}
		pings = GUEST_VAR(self->vm, pong);
		EXPECT_LT(0, pings) TH_LOG("IPIs were answered on the primary");
		EXPECT_GE(1, GUEST_VAR(self->vm, ping_sent) - pings)
			TH_LOG("at most the ping under way is unanswered");
		chains_start(self);
		deadline = time(NULL) + WAIT_S;
		while ((GUEST_VAR(self->vm, sse_progress[0]) == p0 ||
			GUEST_VAR(self->vm, sse_progress[1]) == p1 ||
			GUEST_VAR(self->vm, pong) < pings + 100 ||
			GUEST_VAR(self->vm, lapic_ticks[0]) < ticks[0] + 3 ||
			GUEST_VAR(self->vm, lapic_ticks[1]) < ticks[1] + 3) && time(NULL) < deadline)
			usleep(1000);
		k0 = GUEST_VAR(self->vm, kvmclock_ns);
		usleep(200 * 1000);
		k1 = GUEST_VAR(self->vm, kvmclock_ns);
		chains_stop(self);
		EXPECT_LE(pings + 100, GUEST_VAR(self->vm, pong))
			TH_LOG("IPIs stopped being answered at the failover");
		EXPECT_LT(k0, k1) TH_LOG("kvmclock does not advance after the takeover");
		EXPECT_EQ(0, GUEST_VAR(self->vm, pvti).version & 1);
		ASSERT_EQ(UCALL_SYNC, self->run[2].cmd);
		for (i = 0; i < 2; i++) {
			struct ucall *uc = &self->run[i].uc;
			struct kvm_lapic_state lapic;

			EXPECT_LE(ticks[i] + 3, GUEST_VAR(self->vm, lapic_ticks[i]))
				TH_LOG("vCPU %d's APIC timer stopped at the failover", i);
			ASSERT_EQ(0, ioctl(self->run[i].vcpu->fd, KVM_GET_LAPIC, &lapic));
			EXPECT_EQ(APIC_LVTT_PERIODIC | TIMER_VECTOR,
				  *(uint32_t *)(lapic.regs + 0x320)) TH_LOG("vCPU %d's LVTT", i);
			EXPECT_EQ(TIMER_COUNT, *(uint32_t *)(lapic.regs + 0x380));

			ASSERT_EQ(UCALL_SYNC, self->run[i].cmd);
			EXPECT_EQ(sse_expected(seed_of(i), uc->args[0]), uc->args[1])
				TH_LOG("vCPU %d after %lu rounds", i, uc->args[0]);
			EXPECT_EQ(seed_of(i), uc->args[2]) TH_LOG("vCPU %d's MSR", i);
		}
		return;
	}
	chains_start(self);
	ASSERT_EQ(0, FTNL(self->out, "pair", "st", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("st: linked");
	EVENT("st: synced");
	ASSERT_TRUE(ftnl_counter_reaches("st", "\"epochs\":", 10, WAIT_S)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, IP(self->out, "link", "set", "eth0", "down")) TH_LOG("%s", self->out);
	EVENT("st: peer lost (silence)");
	chains_stop(self);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(sse_expected(seed_of(i), self->run[i].uc.args[0]),
			  self->run[i].uc.args[1]) TH_LOG("vCPU %d unprotected", i);
	sleep(FAILOVER_MS / 1000 + 5);	/* a takes over before the link is back */
}

/* ---- an AP that never started ---------------------------------------------- */

#define AP_PORT		"7917"

/*
 * An AP waiting for its INIT/SIPI, as a real guest's are until the OS
 * starts them (or for good, with maxcpus= below the vCPU count): its VMM
 * keeps it in KVM_RUN, where KVM blocks it holding its vcpu->mutex, and
 * enters again at once whenever KVM returns (-EAGAIN), as QEMU does.
 */
struct unstarted {
	struct vcpu *vcpu;
	pthread_t thread;
	volatile bool stop, done;
	int err;		/* an errno KVM_RUN should never give */
};

static void on_usr1(int sig)
{
}

static void *run_unstarted(void *arg)
{
	struct unstarted *u = arg;

	while (!u->stop) {
		if (ioctl(u->vcpu->fd, KVM_RUN, 0) && errno != EAGAIN && errno != EINTR) {
			u->err = errno;
			break;
		}
	}
	u->done = true;
	return NULL;
}

static void unstarted_start(struct unstarted *u)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */

	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&u->thread, NULL, run_unstarted, u);
}

/* Out of a blocked KVM_RUN by a signal, sent until it is out. */
static void unstarted_stop(struct unstarted *u)
{
	if (!u->thread)
		return;
	u->stop = true;
	while (!u->done) {
		pthread_kill(u->thread, SIGUSR1);
		usleep(10 * 1000);
	}
	pthread_join(u->thread, NULL);
	u->thread = 0;
}

FIXTURE(ap) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *bsp;
	struct unstarted ap;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(ap)
{
	struct kvm_ft_register r = { .name = "ap", .flags = KVM_FT_F_NO_DEVICE_STATE };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vm_irqchip(self->vm);
	self->bsp = vcpu_add(self->vm, 0, guest_churn, 0, 0);
	self->ap.vcpu = vcpu_add(self->vm, 1, guest_churn, 0, 0);
	ASSERT_EQ(0, ioctl(self->ap.vcpu->fd, KVM_SET_MP_STATE, &mp));
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(ap)
{
	unstarted_stop(&self->ap);
	pair_teardown(&self->mon, "ap");
	vm_destroy(self->vm);
}

/*
 * Every epoch holds the AP too: the engine parks it as it enters KVM_RUN
 * (it never reaches the run loop's hook), so epochs come and none times
 * out; the backup's memory then equals the primary's.
 */
TEST_F(ap, unstarted_ap_is_held)
{
	struct runner r = { 0 };
	uint32_t crc = 0;

	if (!strcmp(self->role, "a")) {
		ASSERT_EQ(0, FTNL(self->out, "listen", "ap", "0.0.0.0", AP_PORT, TEST_KEY))
			TH_LOG("%s", self->out);
		EVENT("ap: linked");
		EVENT("ap: peer lost (closed)");
		EXPECT_LE(12, ftnl_counter("ap", "\"epochs\":")) TH_LOG("%s", ftnl_last());
		EXPECT_TRUE(take_values(CRC_PORT, &crc, 1, WAIT_S));
		EXPECT_EQ(crc, memory_crc(self->vm));
		return;
	}

	runner_start(&r, self->bsp);
	unstarted_start(&self->ap);
	ASSERT_EQ(0, FTNL(self->out, "pair", "ap", self->peer, AP_PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("ap: linked");
	EVENT("ap: synced");
	ASSERT_TRUE(ftnl_counter_reaches("ap", "\"epochs\":", 10, WAIT_S)) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, ftnl_last_counter("\"park_timeouts\":")) TH_LOG("%s", ftnl_last());
	runner_stop(&r, 20);
	ASSERT_TRUE(r.done);
	ASSERT_TRUE(ftnl_epochs_settle("ap", WAIT_S)) TH_LOG("%s", ftnl_last());
	EXPECT_EQ(0, FTNL(self->out, "stop", "ap")) TH_LOG("%s", self->out);
	unstarted_stop(&self->ap);
	EXPECT_EQ(0, self->ap.err) TH_LOG("KVM_RUN of the AP: %s", strerror(self->ap.err));
	crc = memory_crc(self->vm);
	EXPECT_TRUE(give_values(self->peer, CRC_PORT, &crc, 1, WAIT_S));
}

TEST_HARNESS_MAIN
