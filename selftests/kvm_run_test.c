// SPDX-License-Identifier: GPL-2.0
/*
 * A guest runs under our kvm.ko and leaves a known result in its memory and
 * in its registers.
 *
 *   host                          guest (64-bit, identity-mapped)
 *   vcpu_add(guest_compute, n) -> xorshift64 n times, stores the result,
 *                                 RAX = result, RBX = ~result, HLT
 *   KVM_EXIT_HLT, check memory, registers, RIP
 */
#include <linux/kvm_ft.h>
#include <sys/stat.h>

#include "test.h"
#include "ucall.h"
#include "vmm.h"

#define ROUNDS	1000000UL

static volatile uint64_t guest_result;

static uint64_t xorshift64(uint64_t x, uint64_t rounds)
{
	while (rounds--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/* The address of the HLT, so that the host can check where the guest stopped. */
extern const char guest_hlt[];

static void guest_compute(uint64_t seed, uint64_t rounds)
{
	uint64_t r = xorshift64(seed, rounds);

	guest_result = r;
	asm volatile("guest_hlt: hlt" : : "a"(r), "b"(~r) : "memory");
}

static void guest_sync_twice(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
}

TEST(engine_is_ours)
{
	struct stat st;

	/* Debian's own kvm.ko has no engine: the directory proves it is ours. */
	ASSERT_EQ(0, stat(KVM_FT_SYSFS_DIR, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

TEST(guest_leaves_result)
{
	uint64_t seed = 0x9e3779b97f4a7c15UL;
	uint64_t want = xorshift64(seed, ROUNDS);
	struct kvm_regs regs;
	struct vcpu *vcpu;
	struct vm *vm;

	vm = vm_create();
	vcpu = vcpu_add(vm, 0, guest_compute, seed, ROUNDS);
	ASSERT_EQ(0, GUEST_VAR(vm, guest_result));

	ASSERT_EQ(KVM_EXIT_HLT, vcpu_run(vcpu));
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(want, GUEST_VAR(vm, guest_result));
	EXPECT_EQ(want, regs.rax);
	EXPECT_EQ(~want, regs.rbx);
	/* RIP is past the one-byte HLT. */
	EXPECT_EQ((uint64_t)guest_hlt + 1, regs.rip);
	/* The host's own copy of the global was never touched. */
	EXPECT_EQ(0, guest_result);
	vm_destroy(vm);
}

TEST(ucalls_round_trip)
{
	struct ucall uc;
	struct vcpu *vcpu;
	struct vm *vm;

	vm = vm_create();
	vcpu = vcpu_add(vm, 0, guest_sync_twice, 0, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(1, uc.args[0]);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(2, uc.args[0]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_destroy(vm);
}

TEST_HARNESS_MAIN
