/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_EPOCH_H
#define KVM_FT_EPOCH_H

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "cow.h"
#include "device.h"
#include "dirty.h"
#include "kvm_ft.h"

struct kvm;
struct kvm_vcpu;

/* One epoch of a VM, taken while none of its vCPUs ran. */
struct kvm_ft_snapshot {
	u64 nr_pages;
	const u64 *gfns;			/* nr_pages frames ... */
	const void *pages;			/* ... and their contents */
	u32 nr_vcpus;
	const struct kvm_ft_arch_vcpu *vcpus;	/* by vCPU index */
	const void *device;			/* the VMM's device state ... */
	u32 device_len;				/* ... 0: none this epoch */
	bool device_late;			/* it did not come in time */
	bool verify;				/* in: take mem_crc too */
	u32 mem_crc;				/* all memory, for VERIFY */
	u64 pause_ns;				/* how long the vCPUs were held */
	u64 early_pages;			/* copied after resume by a writer */
};

/* The epoch engine of one primary VM; used by its link's threads only. */
struct kvm_ft_epoch {
	struct kvm *kvm;
	u32 nr_vcpus;			/* fixed while paired */
	const u32 *epoch_us;		/* the VM's period, read at each tick */
	const bool *abort;		/* give up waiting when set */
	wait_queue_head_t *tick_wq;	/* woken at each tick */
	/* Told with every vCPU held, before anything is taken; NULL: none. */
	void (*held)(void *ctx);
	void *held_ctx;
	struct kvm_ft_device *device;	/* asked at each snapshot; NULL: none */

	spinlock_t lock;		/* parking .. in_park */
	bool parking;
	bool taking;			/* every vCPU held: their states are taken */
	unsigned long gen;		/* bumped by each release */
	unsigned long *parked;		/* vCPUs holding themselves in park() */
	u32 nr_parked;
	u32 nr_saved;			/* parked vCPUs that saved their state */
	int save_err;			/* the first of their errors */
	u32 in_park;			/* vCPU threads inside kvm_ft_vcpu_park() */
	unsigned long *locked;		/* idle vCPUs whose mutex we hold */
	wait_queue_head_t wq;		/* the engine: ticks, parked vCPUs, acks */
	wait_queue_head_t release;	/* parked vCPUs */

	struct hrtimer timer;
	bool tick;

	struct kvm_ft_dirty dirty;
	void *pages;			/* the copies of dirty frames */
	u64 pages_cap;
	struct kvm_ft_cow cow;		/* those still to copy after resume */
	u64 early;			/* of them, copied by a writer */
	struct kvm_ft_arch_vcpu *vcpus;
};

struct kvm_ft_epoch *kvm_ft_epoch_create(struct kvm *kvm, const u32 *epoch_us,
					 const bool *abort, wait_queue_head_t *tick_wq,
					 struct kvm_ft_device *device);
void kvm_ft_epoch_destroy(struct kvm_ft_epoch *e);
/*
 * Start the period and forget what was written so far (the sync follows),
 * the VMM's marks first (a device request in a hold, its state dropped).
 */
int kvm_ft_epoch_start(struct kvm_ft_epoch *e);
/*
 * Hold every vCPU, take what changed since the last snapshot (and, if
 * @s->verify, a checksum of all memory), let go.  -ETIME: a vCPU could not
 * be held within the failover timeout (no epoch taken).
 */
int kvm_ft_epoch_snapshot(struct kvm_ft_epoch *e, struct kvm_ft_snapshot *s);
/* Read @n guest frames into @dst, from the engine's thread. */
int kvm_ft_epoch_read(struct kvm_ft_epoch *e, const u64 *gfns, u64 n, void *dst);

#endif /* KVM_FT_EPOCH_H */
