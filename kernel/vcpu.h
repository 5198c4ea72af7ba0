/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_VCPU_H
#define KVM_FT_VCPU_H

#include "kvm_ft.h"

struct kvm_vcpu;

/* Why @kvm's vCPUs cannot be carried (for the administrator); NULL if they can. */
const char *kvm_ft_vcpu_unfit(struct kvm *kvm);
/* A vCPU's state for an epoch; the vCPU must be loaded nowhere. */
int kvm_ft_vcpu_save(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st);
/* Is @st, from the wire, a state this engine would have sent? */
bool kvm_ft_vcpu_valid(const struct kvm_ft_arch_vcpu *st);
/* Load @st into @vcpu (a backup's, at failover). */
int kvm_ft_vcpu_load(struct kvm_vcpu *vcpu, struct kvm_ft_arch_vcpu *st);

#endif /* KVM_FT_VCPU_H */
