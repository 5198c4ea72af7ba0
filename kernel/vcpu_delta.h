/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_VCPU_DELTA_H
#define KVM_FT_VCPU_DELTA_H

#include <linux/types.h>

#include "wire.h"

/*
 * Each vCPU's state as its last VCPU or VCPU_DELTA frame carried it
 * (encoded, as on the wire), and that frame's epoch: the sender's, to
 * make the next VCPU_DELTA against; the receiver's, to apply it to.  One
 * connection's: epochs restart with the next.  One thread's, no lock.
 */
struct kvm_ft_vcpu_bases {
	u8 *states;		/* nr + 1 x KVM_FT_WIRE_VCPU_MAX: the last, the sender's scratch */
	u32 *sizes;
	u64 *epochs;		/* 0: none (send whole, refuse a delta) */
	u32 nr;
};

int kvm_ft_vcpu_bases_init(struct kvm_ft_vcpu_bases *v, u32 nr);
void kvm_ft_vcpu_bases_free(struct kvm_ft_vcpu_bases *v);
/* A new connection: no base for any vCPU. */
void kvm_ft_vcpu_bases_reset(struct kvm_ft_vcpu_bases *v);

/* Where the sender encodes a state (kvm_ft_wire_put_vcpu()) for kvm_ft_vcpu_delta_make(). */
static inline u8 *kvm_ft_vcpu_scratch(struct kvm_ft_vcpu_bases *v)
{
	return v->states + (size_t)v->nr * KVM_FT_WIRE_VCPU_MAX;
}

/*
 * Sender: vCPU @i's state of @size bytes, encoded at the scratch, goes in
 * epoch @epoch: the VCPU_DELTA payload put at @out (room for its header
 * and KVM_FT_WIRE_VCPU_DELTA_MAX bytes of runs) and its length; 0: send
 * it whole.  Either way it is the base of the next.
 */
u32 kvm_ft_vcpu_delta_make(struct kvm_ft_vcpu_bases *v, u32 i, u32 size, u64 epoch, void *out);
/* Receiver: a VCPU frame's state, decoded and valid, is vCPU @index's base. */
void kvm_ft_vcpu_base_keep(struct kvm_ft_vcpu_bases *v, const struct kvm_ft_wire_msg *m);
/*
 * Receiver: VCPU_DELTA @m applied to its vCPU's base, decoded into @st:
 * OK, or why not (DELTA: not made against that base; VCPU, LEN, ...).
 */
int kvm_ft_vcpu_delta_take(struct kvm_ft_vcpu_bases *v, const struct kvm_ft_wire_msg *m,
			   struct kvm_ft_arch_vcpu *st);

#endif /* KVM_FT_VCPU_DELTA_H */
