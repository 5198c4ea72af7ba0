// SPDX-License-Identifier: GPL-2.0
/*
 * The primary's whole test host dies: not a polite stop, not a cut link,
 * but its QEMU process killed by the runner (SIGKILL) in the middle of a
 * long guest computation.
 *
 *   host a: VM "kill" (backup)     host b: VM "kill" (primary)
 *   takes over on silence,         runs the computation through many
 *   finishes the computation,      epochs, then prints "# cuju: kill me"
 *   checks it against a native     and waits; the runner kills its QEMU
 *   run of the same code
 *
 * The computation mixes a register chain with reads and writes of guest
 * memory, so that a checkpoint whose memory and registers disagree, or a
 * lost page, changes its result.  Run only in a session of its own (the
 * runner's --kill): host b never finishes.
 */
#include <linux/kvm_ft.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define PORT		"7907"
#define WAIT_S		300
/*
 * Roomy: an emulated test host can stop running for seconds (the debug
 * kernel's clocksource watchdog saw 2 s here), and at 3 s a slower
 * machine's backup once took over from a primary that was alive.
 */
#define FAILOVER_MS	10000
#define ROUNDS		(1UL << 40)	/* more than any run gets through */
#define MORE_TICKS	64		/* on the backup, before it is stopped */
#define NWORDS		(64 * 512)	/* 64 pages of words */
#define KILL_ME		"# cuju: kill me"

static uint64_t area[NWORDS] __attribute__((aligned(4096)));
static volatile uint64_t kill_progress;

/*
 * @rounds steps of a hash chain that reads and writes @mem; the guest
 * asks its VMM every 65536 steps (@tick) whether to stop there, and says
 * how far it got in *@done; the host runs it natively for that many.
 */
static uint64_t compute(uint64_t *mem, uint64_t rounds, volatile uint64_t *progress, bool tick,
			uint64_t *done)
{
	uint64_t h = 0xcbf29ce484222325UL, i;

	for (i = 0; i < rounds; i++) {
		h ^= mem[(i * 7919) % NWORDS] + i;
		h *= 0x100000001b3UL;
		mem[(h >> 17) % NWORDS] = h;
		if (!(i & 0xffff)) {
			*progress = i;
			if (tick) {
				if (guest_ask_stop()) {
					i++;
					break;
				}
			}
		}
	}
	*done = i;
	return h;
}

static void guest_compute(void)
{
	uint64_t done, h = compute(area, ROUNDS, &kill_progress, true, &done);

	ucall(UCALL_SYNC, h, done, 0);
}

FIXTURE(kill) {
	const char *role, *peer;
	struct vm *vm;
	struct vcpu *vcpu;
	struct guest_thread run;
	struct monitor mon;
	char out[4096];
};

FIXTURE_SETUP(kill)
{
	struct kvm_ft_register r = { .name = "kill", .flags = KVM_FT_F_NO_DEVICE_STATE };

	self->role = getenv("CUJU_ROLE");
	self->peer = getenv("CUJU_PEER");
	ASSERT_NE(NULL, self->role) TH_LOG("run by the test runner on two hosts");
	knob_set("failover_timeout_ms", FAILOVER_MS);
	r.role = strcmp(self->role, "a") ? KVM_FT_ROLE_PRIMARY : KVM_FT_ROLE_BACKUP;
	self->vm = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	self->vcpu = vcpu_add(self->vm, 0, guest_compute, 0, 0);
	ASSERT_EQ(0, ioctl(self->vm->fd, KVM_FT_REGISTER, &r));
	ASSERT_TRUE(monitor_start(&self->mon));
}

FIXTURE_TEARDOWN(kill)
{
	guest_thread_stop(&self->run);
	pair_teardown(&self->mon, "kill");
	vm_destroy(self->vm);
}

#define EVENT(want) ASSERT_TRUE(monitor_next(&self->mon, want, WAIT_S)) \
	TH_LOG("expected event '%s', got '%s'", want, self->mon.event)

/*
 * Host a: the primary falls silent (its host is gone); the backup takes
 * over by itself, and the computation ends exactly as natively.
 */
static void backup_side(struct __test_metadata *_metadata, FIXTURE_DATA(kill) *self)
{
	static uint64_t native[NWORDS];
	static volatile uint64_t scratch;
	uint64_t from, done;
	time_t deadline;

	ASSERT_EQ(0, FTNL(self->out, "listen", "kill", "0.0.0.0", PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("kill: linked");
	EVENT("kill: peer lost (silence)");
	EVENT("kill: failover started at epoch");
	EVENT("kill: took over at epoch");
	from = GUEST_VAR(self->vm, kill_progress);
	EXPECT_LT(0, from) TH_LOG("the checkpoint has the computation under way");
	guest_thread_start(&self->run, self->vcpu);
	deadline = time(NULL) + WAIT_S;
	while (GUEST_VAR(self->vm, kill_progress) < from + MORE_TICKS * 0x10000 &&
	       time(NULL) < deadline)
		usleep(10 * 1000);
	ASSERT_EQ(UCALL_SYNC, guest_thread_stop(&self->run));
	done = self->run.uc.args[1];
	EXPECT_LT(from, done) TH_LOG("it went on from the checkpoint");
	EXPECT_EQ(compute(native, done, &scratch, false, &done), self->run.uc.args[0])
		TH_LOG("resumed from step %lu, stopped at %lu", from, done);
	EXPECT_EQ(0, memcmp(native, GUEST_VAR(self->vm, area), sizeof(native)));
}

TEST_F_TIMEOUT(kill, primary_host_killed, 2 * WAIT_S)
{
	uint64_t progress;

	if (!strcmp(self->role, "a")) {
		backup_side(_metadata, self);
		return;
	}
	guest_thread_start(&self->run, self->vcpu);
	ASSERT_EQ(0, FTNL(self->out, "pair", "kill", self->peer, PORT, TEST_KEY)) TH_LOG("%s", self->out);
	EVENT("kill: linked");
	EVENT("kill: synced");
	ASSERT_TRUE(ftnl_counter_reaches("kill", "\"epochs\":", 20, WAIT_S)) TH_LOG("%s", ftnl_last());
	progress = GUEST_VAR(self->vm, kill_progress);
	ASSERT_LT(0, progress) TH_LOG("the guest must be under way when its host dies");
	printf("%s (guest at step %lu)\n", KILL_ME, progress);
	fflush(stdout);
	sleep(WAIT_S);
	ASSERT_TRUE(false) TH_LOG("the runner did not kill this host");
}

TEST_HARNESS_MAIN
