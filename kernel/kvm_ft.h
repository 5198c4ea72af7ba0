/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Cuju engine as KVM sees it: the only header that KVM's own files
 * include (see kernel/patches/).  Keep it to hook declarations.
 */
#ifndef KVM_FT_H
#define KVM_FT_H

int kvm_ft_init(void);
void kvm_ft_exit(void);

#endif /* KVM_FT_H */
