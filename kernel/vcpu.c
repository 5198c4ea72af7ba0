// SPDX-License-Identifier: GPL-2.0
/*
 * What an epoch carries of each vCPU: everything QEMU migrates of an x86
 * vCPU but the nested-virtualization and Hyper-V state (VMs that use those
 * are refused), taken and put back by two small functions in x86.c
 * (kernel/patches/0005).
 *
 * The MSRs, in the order they are put back: first those others depend on
 * (the TSC before what counts from it), then the list KVM reports to user
 * space (KVM_GET_MSR_INDEX_LIST: PAT, PMU, XFD, DEBUGCTL, spec-ctrl and
 * what else KVM saves on this host), then what QEMU adds to that list by
 * hand: the MTRRs and the MCE banks.  One the vCPU does not have is left
 * out of a state; a stream that names an MSR outside the list, or out of
 * its order, is refused.  The list is built once, at the first pairing or
 * listening (KVM's list is filled in when kvm-amd or kvm-intel loads).
 */
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/mtrr.h>

#include "../cpuid.h"
#include "vcpu.h"

#define MCE_BANKS	32		/* KVM_MAX_MCE_BANKS in x86.c */

static const u32 first[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_CR_PAT, MSR_IA32_MISC_ENABLE, MSR_TSC_AUX, MSR_IA32_SPEC_CTRL,
	MSR_AMD64_VIRT_SPEC_CTRL, MSR_IA32_XSS,
	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_ASYNC_PF_EN,
	MSR_KVM_ASYNC_PF_INT, MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN,
	MSR_KVM_POLL_CONTROL,
};

static const u32 mtrrs[] = {
	MSR_MTRRdefType, MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000,
	MSR_MTRRfix16K_A0000, MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000,
	MSR_MTRRfix4K_D0000, MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000,
	MSR_MTRRfix4K_E8000, MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
};

static DEFINE_MUTEX(list_lock);		/* building the list, once */
static bool list_built;			/* then read without the lock */
static bool list_overflow;		/* more MSRs than a state carries */
static u32 msrs[KVM_FT_NR_MSRS];
static u32 nr_msrs;

/* Hyper-V's: even reading one sets up Hyper-V state on the vCPU. */
static bool hyperv_msr(u32 index)
{
	return index >= 0x40000000 && index < 0x40000200;
}

static void add(u32 index)
{
	u32 i;

	if (hyperv_msr(index))
		return;
	for (i = 0; i < nr_msrs; i++)
		if (msrs[i] == index)
			return;
	if (nr_msrs == KVM_FT_NR_MSRS)
		list_overflow = true;
	else
		msrs[nr_msrs++] = index;
}

/* Under list_lock, from a netlink handler (pair, listen) or a vCPU ioctl. */
static void build_list(void)
{
	u32 *kvm_list, n, i;

	lockdep_assert_held(&list_lock);
	for (i = 0; i < ARRAY_SIZE(first); i++)
		add(first[i]);
	kvm_list = kcalloc(KVM_FT_NR_MSRS, sizeof(*kvm_list), GFP_KERNEL);
	if (!kvm_list) {
		list_overflow = true;		/* refuse rather than carry less */
		return;
	}
	n = kvm_ft_arch_msr_index_list(kvm_list, KVM_FT_NR_MSRS);
	if (n > KVM_FT_NR_MSRS)
		list_overflow = true;
	for (i = 0; i < min(n, KVM_FT_NR_MSRS); i++)
		add(kvm_list[i]);
	kfree(kvm_list);
	for (i = 0; i < ARRAY_SIZE(mtrrs); i++)
		add(mtrrs[i]);
	for (i = 0; i < KVM_NR_VAR_MTRR; i++) {
		add(MTRRphysBase_MSR(i));
		add(MTRRphysMask_MSR(i));
	}
	add(MSR_IA32_MCG_STATUS);
	add(MSR_IA32_MCG_CTL);
	add(MSR_IA32_MCG_EXT_CTL);
	for (i = 0; i < MCE_BANKS; i++) {
		add(MSR_IA32_MCx_CTL(i));
		add(MSR_IA32_MCx_STATUS(i));
		add(MSR_IA32_MCx_ADDR(i));
		add(MSR_IA32_MCx_MISC(i));
	}
	pr_info("vCPU state carries %u MSRs%s\n", nr_msrs,
		list_overflow ? " (too many: pairing is refused)" : "");
}

/* The list, built on first use; process context (may sleep). */
static bool list_ready(void)
{
	might_sleep();
	if (!smp_load_acquire(&list_built)) {
		mutex_lock(&list_lock);
		if (!list_built) {
			build_list();
			smp_store_release(&list_built, true);
		}
		mutex_unlock(&list_lock);
	}
	return !list_overflow;
}

/* Why @vcpu cannot be carried, or NULL; its CPUID entries cannot change meanwhile. */
static const char *cpuid_unfit(struct kvm_vcpu *vcpu)
{
	/* Its nested state (KVM_GET_NESTED_STATE) is not carried. */
	if (guest_cpuid_has(vcpu, X86_FEATURE_SVM) || guest_cpuid_has(vcpu, X86_FEATURE_VMX))
		return "a vCPU's CPUID exposes nested virtualisation (SVM or VMX), "
		       "whose state Cuju does not carry: hide it from the guest "
		       "(QEMU: -cpu ...,-svm,-vmx)";
	if (vcpu->arch.hyperv_enabled)
		return "a vCPU has Hyper-V enlightenments, whose state Cuju does "
		       "not carry: start the VM without hv-* CPU flags";
	return NULL;
}

/*
 * A netlink handler's, at pair and listen.  KVM_SET_CPUID2 replaces (and
 * frees) a vCPU's CPUID entries under its vcpu->mutex until the vCPU has
 * first entered the guest; after that it keeps them for good.  So the
 * entries are read under that mutex, taken by trylock only (the lock
 * order), or without it once the vCPU has run.  A vCPU that has not run
 * and is busy (an AP blocked in KVM_RUN until its SIPI) cannot be read
 * here: kvm_ft_vcpu_save() checks every vCPU again, held.
 */
const char *kvm_ft_vcpu_unfit(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	const char *why = NULL;
	unsigned long i;

	if (!list_ready())
		return "this host's KVM saves more MSRs than Cuju carries (KVM_FT_NR_MSRS)";
	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (mutex_trylock(&vcpu->mutex)) {
			why = cpuid_unfit(vcpu);
			mutex_unlock(&vcpu->mutex);
		} else if (READ_ONCE(vcpu->arch.last_vmentry_cpu) != -1) {
			why = cpuid_unfit(vcpu);
		}
		if (why)
			return why;
	}
	return NULL;
}

/* Every vCPU held (epoch.c): from a parked vCPU's own thread, or the sender's for one it locked. */
int kvm_ft_vcpu_save(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st)
{
	u32 i;

	const char *why = cpuid_unfit(vcpu);	/* held: its CPUID cannot change */

	if (why) {
		pr_warn_ratelimited("vCPU %d cannot be carried: %s\n", vcpu->vcpu_id, why);
		return -EOPNOTSUPP;
	}
	if (!list_ready())
		return -E2BIG;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < nr_msrs; i++)
		st->msrs[i].index = msrs[i];
	st->nr_msrs = nr_msrs;
	return kvm_ft_arch_vcpu_get(vcpu, st);
}

/* Only MSRs of the list, in its order, each at most once. */
static bool msrs_valid(const struct kvm_ft_arch_vcpu *st)
{
	u32 i, k = 0;

	if (!list_ready() || st->nr_msrs > nr_msrs)
		return false;
	for (i = 0; i < st->nr_msrs; i++) {
		while (k < nr_msrs && msrs[k] != st->msrs[i].index)
			k++;
		if (k++ == nr_msrs || st->msrs[i].reserved)
			return false;
	}
	return true;
}

/* The backup thread's, as a VCPU frame arrives; and a vCPU thread's. */
bool kvm_ft_vcpu_valid(const struct kvm_ft_arch_vcpu *st)
{
	return msrs_valid(st) && st->has_lapic <= 1 && !st->reserved &&
	       st->mp_state <= KVM_MP_STATE_AP_RESET_HOLD;
}

/* In @vcpu's own thread, at KVM_RUN after a takeover (resume.c). */
int kvm_ft_vcpu_load(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st)
{
	int ret = kvm_ft_vcpu_valid(st) ? kvm_ft_arch_vcpu_set(vcpu, st) : -EINVAL;

	return ret > 0 ? -EINVAL : ret;		/* a refused MSR is 1 */
}
