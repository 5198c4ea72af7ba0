/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Cuju engine as KVM sees it: the only header that KVM's own files
 * include (see kernel/patches/).  Keep it to hook declarations.
 */
#ifndef KVM_FT_H
#define KVM_FT_H

#include <linux/compiler_types.h>

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
/* From the top of vcpu_run()'s loop: 1 to go on, <= 0 to leave KVM_RUN. */
int kvm_ft_vcpu_park(struct kvm_vcpu *vcpu);

#endif /* KVM_FT_H */
