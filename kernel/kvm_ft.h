/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Cuju engine as KVM sees it: the only header that KVM's own files
 * include (see kernel/patches/).  Keep it to hook declarations.
 */
#ifndef KVM_FT_H
#define KVM_FT_H

#include <linux/atomic.h>
#include <linux/compiler_types.h>
#include <linux/kvm.h>
#include <linux/kvm_types.h>

struct kvm;
struct kvm_vcpu;

/* kvm.ko's module init and exit. */
int kvm_ft_init(void);
void kvm_ft_exit(void);

/* Our VM ioctls (type KVM_FT_IO); -ENOTTY for any other. */
long kvm_ft_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
/* @kvm is being destroyed: the engine lets go of it. */
void kvm_ft_vm_destroy(struct kvm *kvm);

/*
 * The epoch engine wants the vCPU held (see kernel/epoch.c).  x86 in 6.1
 * uses arch requests up to 31 and allows up to 55.
 */
#define KVM_REQ_FT_PARK		KVM_ARCH_REQ(48)
/*
 * From kvm_ft_vcpu_hold() in x86.c, in the vCPU's thread, loaded nowhere,
 * its FPU state in memory, outside kvm->srcu; @entry: at the start of
 * KVM_RUN, else at the top of vcpu_run()'s loop.  1 to go on, <= 0 to
 * leave KVM_RUN.
 */
int kvm_ft_vcpu_park(struct kvm_vcpu *vcpu, bool entry);

/*
 * Does the engine harvest @kvm's dirty log (a primary replicating)?  Then
 * the VMM's KVM_GET/CLEAR_DIRTY_LOG are refused (patch 0006).  Caller
 * holds kvm->slots_lock.
 */
bool kvm_ft_dirty_log_owned(struct kvm *kvm);

/*
 * May a vCPU be added to @kvm?  -EBUSY while the engine has its vCPU count
 * fixed (a pair or a listen: kernel/vm.c).  From kvm_arch_vcpu_precreate()
 * (patch 0007), under kvm->lock.
 */
int kvm_ft_vcpu_precreate(struct kvm *kvm);

/*
 * Frame @gfn of @kvm is about to be written, or mapped writable: by a
 * vCPU's page fault (TDP: the fault's address is the frame's), by KVM on
 * a vCPU's behalf, or by the VMM (KVM_FT_MARK_DIRTY).  While the epoch
 * just taken still has frames to copy (kernel/cow.c), the engine copies
 * it first.  Process context, the VM's mm or none; may sleep.  Hooks of
 * patch 0008; kvm_ft_cow_armed counts the VMs with copies pending.
 */
extern atomic_t kvm_ft_cow_armed;
void kvm_ft_cow_slow(struct kvm *kvm, gfn_t gfn);

static inline void kvm_ft_cow(struct kvm *kvm, gfn_t gfn)
{
	if (unlikely(atomic_read(&kvm_ft_cow_armed)))
		kvm_ft_cow_slow(kvm, gfn);
}

#include "vcpu_state.h"

/*
 * In x86.c (kernel/patches/0005): on a vCPU loaded nowhere, its FPU state
 * in memory; the caller holds kvm->srcu and runs with the VM's mm.
 */
int kvm_ft_arch_vcpu_get(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st);
int kvm_ft_arch_vcpu_set(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st);
/* KVM_GET_MSR_INDEX_LIST's MSRs, at most @max into @out; how many there are. */
u32 kvm_ft_arch_msr_index_list(u32 *out, u32 max);

#endif /* KVM_FT_H */
