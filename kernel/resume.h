/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_RESUME_H
#define KVM_FT_RESUME_H

#include <linux/types.h>

#include "kvm_ft.h"

struct kvm;
struct kvm_vcpu;

/*
 * A listening backup's vCPUs are held from now on (netlink handler, at
 * LISTEN): each that enters KVM_RUN sleeps until a takeover or
 * kvm_ft_resume_unhold().  -EBUSY if the VM has a takeover's states yet to
 * load for another number of vCPUs.
 */
int kvm_ft_resume_hold(struct kvm *kvm, u32 nr_vcpus);
/* The backup stopped without taking over: its vCPUs may run (link stop). */
void kvm_ft_resume_unhold(struct kvm *kvm);
/*
 * Take over: each vCPU loads @vcpus[its index] in its own thread on its
 * next KVM_RUN, and the held ones wake to do it (backup thread, netlink).
 */
void kvm_ft_resume_load(struct kvm *kvm, const struct kvm_ft_arch_vcpu *vcpus, u32 n);
/* From kvm_ft_vcpu_park() for a VM without an epoch engine. */
int kvm_ft_resume_vcpu(struct kvm_vcpu *vcpu);
/*
 * Has a vCPU of @kvm a takeover's state yet to load?  A VM that took over
 * and was registered again as a primary pairs only once none has: the
 * epoch engine would hold such a vCPU in its place and take the state
 * it runs on no longer (netlink handler).
 */
bool kvm_ft_resume_pending(struct kvm *kvm);
/* @kvm is being destroyed: no vCPU ioctl can run any more. */
void kvm_ft_resume_destroy(struct kvm *kvm);

#endif /* KVM_FT_RESUME_H */
