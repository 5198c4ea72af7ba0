// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU states as their differences.  An epoch carries every vCPU's state,
 * about 10 KiB each encoded (most of it the XSAVE area, the MSRs and the
 * local APIC), of which an epoch changes little: the registers, a timer,
 * the TSC.  After a connection's first epoch with vCPUs, a vCPU's state
 * goes as the runs of bytes that changed since the state of its previous
 * frame (VCPU_DELTA, Documentation/wire-protocol.rst), or whole when the
 * encoding changed length or too much changed.
 *
 * Both sides keep each vCPU's last state with the epoch that carried it.
 * The stream is ordered and every frame of it checked (sealed or
 * checksummed), so the epoch names the base without doubt: a delta whose
 * base epoch or size is not the receiver's is refused (E_DELTA), and the
 * state it makes is decoded and checked as a whole one is
 * (kvm_ft_wire_get_vcpu(), kvm_ft_vcpu_valid()).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vcpu.h"
#include "vcpu_delta.h"

static u8 *base(struct kvm_ft_vcpu_bases *v, u32 i)
{
	return v->states + (size_t)i * KVM_FT_WIRE_VCPU_MAX;
}

int kvm_ft_vcpu_bases_init(struct kvm_ft_vcpu_bases *v, u32 nr)
{
	v->nr = nr;
	v->states = kvmalloc_array(nr + 1, KVM_FT_WIRE_VCPU_MAX, GFP_KERNEL_ACCOUNT);
	v->sizes = kvcalloc(max(nr, 1U), sizeof(*v->sizes), GFP_KERNEL_ACCOUNT);
	v->epochs = kvcalloc(max(nr, 1U), sizeof(*v->epochs), GFP_KERNEL_ACCOUNT);
	if (v->states && v->sizes && v->epochs)
		return 0;
	kvm_ft_vcpu_bases_free(v);
	return -ENOMEM;
}

void kvm_ft_vcpu_bases_free(struct kvm_ft_vcpu_bases *v)
{
	kvfree(v->states);
	kvfree(v->sizes);
	kvfree(v->epochs);
	memset(v, 0, sizeof(*v));
}

void kvm_ft_vcpu_bases_reset(struct kvm_ft_vcpu_bases *v)
{
	if (v->epochs)
		memset(v->epochs, 0, v->nr * sizeof(*v->epochs));
}

static void keep(struct kvm_ft_vcpu_bases *v, u32 i, const void *state, u32 size, u64 epoch)
{
	memcpy(base(v, i), state, size);
	v->sizes[i] = size;
	v->epochs[i] = epoch;
}

u32 kvm_ft_vcpu_delta_make(struct kvm_ft_vcpu_bases *v, u32 i, u32 size, u64 epoch, void *out)
{
	u8 *runs = (u8 *)out + sizeof(struct kvm_ft_wire_vcpu_delta);
	const u8 *state = kvm_ft_vcpu_scratch(v);
	u32 len = KVM_FT_WIRE_VCPU_DELTA_MAX + 1;
	u64 was = v->epochs[i];

	if (was && v->sizes[i] == size)
		len = kvm_ft_wire_vcpu_runs(base(v, i), state, size, runs);
	if (len > KVM_FT_WIRE_VCPU_DELTA_MAX) {
		keep(v, i, state, size, epoch);
		return 0;
	}
	/* The base becomes the state by the runs: a few bytes, not 10 KiB. */
	kvm_ft_wire_put_runs(base(v, i), runs, len);
	v->epochs[i] = epoch;
	return kvm_ft_wire_put_vcpu_delta(out, i, size, was, len);
}

void kvm_ft_vcpu_base_keep(struct kvm_ft_vcpu_bases *v, const struct kvm_ft_wire_msg *m)
{
	if (m->vcpu.size <= KVM_FT_WIRE_VCPU_MAX)
		keep(v, m->vcpu.index, m->vcpu.state, m->vcpu.size, m->epoch);
	else
		v->epochs[m->vcpu.index] = 0;	/* no base: a delta on it is refused */
}

int kvm_ft_vcpu_delta_take(struct kvm_ft_vcpu_bases *v, const struct kvm_ft_wire_msg *m,
			   struct kvm_ft_arch_vcpu *st)
{
	u32 i = m->vcpu_delta.index;
	int err;

	if (i >= v->nr)
		return KVM_FT_WIRE_E_VCPU;
	err = kvm_ft_wire_vcpu_delta_apply(base(v, i), v->sizes[i], v->epochs[i], m);
	if (err)
		return err;
	v->epochs[i] = m->epoch;
	err = kvm_ft_wire_get_vcpu(base(v, i), v->sizes[i], st);
	if (err)
		return err;
	return kvm_ft_vcpu_valid(st) ? KVM_FT_WIRE_OK : KVM_FT_WIRE_E_VCPU;
}
