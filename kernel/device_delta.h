/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_DEVICE_DELTA_H
#define KVM_FT_DEVICE_DELTA_H

#include <linux/types.h>

#include "wire.h"

/*
 * The device state of a connection's last DEVICE or DEVICE_DELTA frame
 * and that frame's epoch: the sender's, to make the next DEVICE_DELTA
 * against; the receiver's, to apply it to.  One connection's, one
 * thread's (the sender, or the backup's receiver): no lock.
 */
struct kvm_ft_device_base {
	u8 *blob;		/* @size bytes, room for @cap */
	u32 size, cap;
	u64 epoch;		/* 0: none (send whole, refuse a delta) */
};

void kvm_ft_device_base_free(struct kvm_ft_device_base *d);

/* A new connection: no base. */
static inline void kvm_ft_device_base_reset(struct kvm_ft_device_base *d)
{
	d->epoch = 0;
}

/*
 * Sender: @blob of @size bytes goes in epoch @epoch: the DEVICE_DELTA
 * payload put at @out (room for its header and
 * KVM_FT_WIRE_DEVICE_DELTA_MAX bytes of runs) and its length; 0: send it
 * whole.  Either way it is the base of the next, if there is memory.
 */
u32 kvm_ft_device_delta_make(struct kvm_ft_device_base *d, const void *blob, u32 size,
			     u64 epoch, void *out);
/* Receiver: a DEVICE frame's blob, valid, is the next delta's base: OK or NOMEM. */
int kvm_ft_device_base_keep(struct kvm_ft_device_base *d, const struct kvm_ft_wire_msg *m);
/*
 * Receiver: DEVICE_DELTA @m applied to the base; the blob it makes, a
 * copy of the new base, in *@blob (the caller's to free): OK, or why not
 * (DELTA: not made against that base; NOMEM).
 */
int kvm_ft_device_delta_take(struct kvm_ft_device_base *d, const struct kvm_ft_wire_msg *m,
			     void **blob);

#endif /* KVM_FT_DEVICE_DELTA_H */
