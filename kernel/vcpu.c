// SPDX-License-Identifier: GPL-2.0
/*
 * What an epoch carries of each vCPU: everything QEMU migrates of an x86
 * vCPU but the nested-virtualization state, taken and put back by two
 * small functions in x86.c (kernel/patches/0005).  The MSRs are this
 * list, in the order they are put back (the TSC before what depends on
 * it); one the vCPU does not have is left out, and a stream that names
 * any other MSR is refused.
 */
#include <linux/kvm_host.h>
#include <asm/msr-index.h>
#include <asm/kvm_para.h>

#include "vcpu.h"

static const u32 msrs[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_CR_PAT, MSR_IA32_MISC_ENABLE, MSR_TSC_AUX, MSR_IA32_SPEC_CTRL,
	MSR_AMD64_VIRT_SPEC_CTRL, MSR_IA32_XSS,
	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_ASYNC_PF_EN,
	MSR_KVM_ASYNC_PF_INT, MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN,
	MSR_KVM_POLL_CONTROL,
};

int kvm_ft_vcpu_save(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st)
{
	u32 i;

	BUILD_BUG_ON(ARRAY_SIZE(msrs) > KVM_FT_NR_MSRS);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < ARRAY_SIZE(msrs); i++)
		st->msrs[i].index = msrs[i];
	st->nr_msrs = ARRAY_SIZE(msrs);
	return kvm_ft_arch_vcpu_get(vcpu, st);
}

/* Only MSRs of the list, in its order, each at most once. */
static bool msrs_valid(const struct kvm_ft_arch_vcpu *st)
{
	u32 i, k = 0;

	if (st->nr_msrs > ARRAY_SIZE(msrs))
		return false;
	for (i = 0; i < st->nr_msrs; i++) {
		while (k < ARRAY_SIZE(msrs) && msrs[k] != st->msrs[i].index)
			k++;
		if (k++ == ARRAY_SIZE(msrs) || st->msrs[i].reserved)
			return false;
	}
	return true;
}

bool kvm_ft_vcpu_valid(const struct kvm_ft_arch_vcpu *st)
{
	return msrs_valid(st) && st->has_lapic <= 1 && !st->reserved &&
	       st->mp_state <= KVM_MP_STATE_AP_RESET_HOLD;
}

int kvm_ft_vcpu_load(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st)
{
	int ret = kvm_ft_vcpu_valid(st) ? kvm_ft_arch_vcpu_set(vcpu, st) : -EINVAL;

	return ret > 0 ? -EINVAL : ret;		/* a refused MSR is 1 */
}
