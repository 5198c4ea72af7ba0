/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vCPU's state as the engine takes and loads it: the structures of
 * KVM's vCPU ioctls, from the uapi <linux/kvm.h> alone, so that the wire
 * codec (wire.c) encodes it in user space too.  On the wire it is encoded
 * field by field (kvm_ft_wire_put_vcpu()), never as this structure.
 */
#ifndef KVM_FT_VCPU_STATE_H
#define KVM_FT_VCPU_STATE_H

#include <linux/kvm.h>
#include <linux/types.h>

/* MSRs a vCPU state can carry: KVM's list, the MTRRs, 32 MCE banks. */
#define KVM_FT_NR_MSRS		384

/*
 * A vCPU's architectural state, as the KVM_GET_* vCPU ioctls give it.
 */
struct kvm_ft_arch_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;		/* if has_lapic */
	struct kvm_msr_entry msrs[KVM_FT_NR_MSRS];
	__u32 nr_msrs;
	__u32 mp_state;
	__u32 has_lapic;
	__u32 reserved;
};

#endif /* KVM_FT_VCPU_STATE_H */
