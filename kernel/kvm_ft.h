/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Cuju engine as KVM sees it: the only header that KVM's own files
 * include (see kernel/patches/).  Keep it to hook declarations.
 */
#ifndef KVM_FT_H
#define KVM_FT_H

#include <linux/compiler_types.h>

struct kvm;

/* kvm.ko's module init and exit. */
int kvm_ft_init(void);
void kvm_ft_exit(void);

/* Our VM ioctls (type KVM_FT_IO); -ENOTTY for any other. */
long kvm_ft_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
/* @kvm is being destroyed: the engine lets go of it. */
void kvm_ft_vm_destroy(struct kvm *kvm);

#endif /* KVM_FT_H */
