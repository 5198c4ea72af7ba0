// SPDX-License-Identifier: GPL-2.0
/*
 * Device state as its differences.  A VMM's device state goes with every
 * epoch (device.c), QEMU's some 75 KiB for a small guest, of which an
 * epoch changes a few hundred bytes: a queue's indices, a timer, an
 * interrupt line.  After the connection's first blob, a blob goes as the
 * runs of bytes that changed since the blob of the stream's previous
 * DEVICE or DEVICE_DELTA frame (DEVICE_DELTA,
 * Documentation/wire-protocol.rst), or whole when its size changed, when
 * the runs would be more than half of it, or when no base could be kept.
 *
 * As for vCPU states (vcpu_delta.c): both sides keep the last blob with
 * the epoch that carried it; the stream is ordered and every frame of it
 * checked, so a delta whose base epoch or size is not the receiver's is
 * refused (E_DELTA), never applied.  An epoch without a blob (its VMM
 * answered late) leaves the base as it was: the next delta names that
 * older epoch.  The blob stays opaque: the VMM checks what it loads.
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "device_delta.h"

void kvm_ft_device_base_free(struct kvm_ft_device_base *d)
{
	kvfree(d->blob);
	memset(d, 0, sizeof(*d));
}

/* @blob is the base from now on; false (and none) if there is no memory for it. */
static bool keep(struct kvm_ft_device_base *d, const void *blob, u32 size, u64 epoch)
{
	if (size > d->cap) {
		kvfree(d->blob);
		d->cap = 0;
		d->epoch = 0;
		d->blob = kvmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!d->blob)
			return false;
		d->cap = size;
	}
	memcpy(d->blob, blob, size);
	d->size = size;
	d->epoch = epoch;
	return true;
}

u32 kvm_ft_device_delta_make(struct kvm_ft_device_base *d, const void *blob, u32 size,
			     u64 epoch, void *out)
{
	u8 *runs = (u8 *)out + sizeof(struct kvm_ft_wire_device_delta);
	u32 max = min_t(u32, size / 2, KVM_FT_WIRE_DEVICE_DELTA_MAX);
	u32 len = max + 1;
	u64 was = d->epoch;

	if (was && d->size == size)
		len = kvm_ft_wire_device_runs(d->blob, blob, size, runs, max);
	if (len > max) {
		keep(d, blob, size, epoch);
		return 0;
	}
	/* The base becomes the blob by the runs: a few bytes, not the blob. */
	kvm_ft_wire_put_device_runs(d->blob, runs, len);
	d->epoch = epoch;
	return kvm_ft_wire_put_device_delta(out, size, was, len);
}

/*
 * The sender learns nothing of the receiver's memory: a base the receiver
 * could not keep would have it refuse the next delta as made against
 * another base, so the link ends here, for want of memory.
 */
int kvm_ft_device_base_keep(struct kvm_ft_device_base *d, const struct kvm_ft_wire_msg *m)
{
	return keep(d, m->device.data, m->len, m->epoch) ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_NOMEM;
}

int kvm_ft_device_delta_take(struct kvm_ft_device_base *d, const struct kvm_ft_wire_msg *m,
			     void **blob)
{
	void *copy;
	int err;

	if (!d->epoch)
		return KVM_FT_WIRE_E_DELTA;	/* no base: nothing to allocate for */
	/* The copy first: a delta is applied whole or not at all. */
	copy = kvmalloc(d->size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!copy)
		return KVM_FT_WIRE_E_NOMEM;
	err = kvm_ft_wire_device_delta_apply(d->blob, d->size, d->epoch, m);
	if (err) {
		kvfree(copy);
		return err;
	}
	d->epoch = m->epoch;
	memcpy(copy, d->blob, d->size);
	*blob = copy;
	return KVM_FT_WIRE_OK;
}
