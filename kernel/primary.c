// SPDX-License-Identifier: GPL-2.0
/*
 * The primary's side of a pair.  Its link thread (kvm_ft_tx/NAME) connects,
 * retrying once a second while the backup does not answer, says HELLO with
 * the VM's shape, starts the sender and then takes the backup's frames:
 * acknowledgements of epochs, and heartbeats while idle.  The sender
 * (kvm_ft_ep/NAME) first copies the whole of guest memory to the backup
 * as epoch 1 while the VM runs (the sync), then sends an epoch at every
 * tick of the epoch engine (epoch.c), holding back while inflight_max
 * epochs await their acknowledgement.
 *
 * When the backup is lost (an error, a bad frame, silence beyond the
 * failover timeout, or an epoch that could not be taken), the VM runs on
 * unprotected, and the kernel log says so once.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "delta.h"
#include "device_delta.h"
#include "epoch.h"
#include "netlink.h"
#include "output.h"
#include "primary.h"
#include "sysfs.h"
#include "transfer.h"
#include "vcpu.h"
#include "vcpu_delta.h"
#include "vm.h"
#include "wire.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define PAGES_HDR	sizeof(struct kvm_ft_wire_pages)
#define SYNC_PASSES	5	/* of the sync: all memory, then what changed */
#define SYNC_ENOUGH	256	/* pages left for epoch 2 to copy while held */
#define VM_GONE		(-1)	/* the VM's memory is gone with its process */
#define STOPPED		(-2)	/* told to stop before the backup was linked */
#define EARLY_PAUSES	9	/* an early epoch is at least this many pauses long */
#define FRAME_MAX	(HDR_LEN + PAGES_HDR + \
			 KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE))
static_assert(FRAME_MAX >= HDR_LEN + sizeof(struct kvm_ft_wire_vcpu) + KVM_FT_WIRE_VCPU_MAX);
static_assert(FRAME_MAX >= HDR_LEN + sizeof(struct kvm_ft_wire_vcpu_delta) +
			   KVM_FT_WIRE_VCPU_DELTA_MAX);
static_assert(FRAME_MAX >= HDR_LEN + sizeof(struct kvm_ft_wire_device_delta) +
			   KVM_FT_WIRE_DEVICE_DELTA_MAX);

struct kvm_ft_primary {
	struct kvm_ft_vm *vm;
	struct kvm_ft_link link;
	union kvm_ft_addr addr;
	bool keyed;			/* else insecure, as the VM was set at PAIR */
	u8 key[KVM_FT_KEY_LEN];
	u32 features;			/* KVM_FT_WIRE_FEAT_*: both sides speak them */

	struct task_struct *sender;
	wait_queue_head_t wq;		/* the sender: ticks, acks, abort */
	bool abort;			/* the link is going: the sender stops */
	struct mutex epoch_lock;	/* held by the sender through an epoch */
	int sender_err;			/* why the sender gave up; 0: it did not */
	u64 sent, acked;		/* epochs */
	u8 *frame;			/* the sender's frame buffer, FRAME_MAX */
	u64 kept[KVM_FT_WIRE_MAX_PAGES];	/* the sender's: a frame's pages */
	u64 zero[KVM_FT_WIRE_MAX_PAGES];	/* and those of them all zero */
	struct kvm_ft_delta *delta;	/* the sender's, if deltas are on */
	struct kvm_ft_vcpu_bases vcpus;	/* the sender's, if VCPU_DELTA is on */
	struct kvm_ft_device_base dev_base;	/* the sender's, if DEVICE_DELTA is on */
	u64 snap_ns, snap_pages;	/* the sender's: the last snapshot */
	struct completion unlinked;	/* the link thread is done with the link */
};

static bool sender_done(struct kvm_ft_primary *p)
{
	return READ_ONCE(p->abort) || kthread_should_stop();
}

/* Make the sender give up whatever it waits for: a tick, an ACK, the VMM. */
static void stop_sender(struct kvm_ft_primary *p)
{
	WRITE_ONCE(p->abort, true);
	wake_up(&p->wq);
	wake_up(&p->vm->dev.wq);
}

/* The frame in p->frame, its payload of @len bytes in place after the header. */
static int send_frame(struct kvm_ft_primary *p, u8 type, u64 epoch, u32 len)
{
	kvm_ft_wire_put_hdr(p->frame, type, epoch, len);
	atomic64_add(HDR_LEN + len, &p->vm->stats.bytes_tx);
	return kvm_ft_link_send(&p->link, p->frame, p->frame + HDR_LEN);
}

/* The first sealed frame: the VM's shape, for the backup to check its own by. */
static int send_hello(struct kvm_ft_primary *p)
{
	struct kvm_ft_vm *vm = p->vm;
	u32 len;

	len = kvm_ft_wire_put_hello(p->frame + HDR_LEN, kvm_ft_vm_mem_bytes(vm) >> PAGE_SHIFT,
				    kvm_ft_vm_nr_vcpus(vm),
				    kvm_ft_device_used(vm) ? KVM_FT_WIRE_HELLO_F_DEVICE : 0,
				    vm->name, kvm_ft_device_machine(vm));
	return send_frame(p, KVM_FT_WIRE_HELLO, 0, len);
}

/*
 * How page @i of a chunk goes: as zeros (ZERO frames), as a delta (its
 * entry appended to the DELTA frame being built, @*dlen bytes long), or
 * whole (false).  Sender thread.
 */
static bool not_whole(struct kvm_ft_primary *p, u64 gfn, const void *content,
		      u32 *nzero, u32 *ndelta, u32 *dlen)
{
	u8 *entries = p->delta ? p->delta->frame + HDR_LEN + PAGES_HDR : NULL;
	u32 len;

	if ((p->features & KVM_FT_WIRE_FEAT_ZERO) && !memchr_inv(content, 0, PAGE_SIZE)) {
		p->zero[(*nzero)++] = gfn;
		if (p->delta)
			kvm_ft_delta_forget(p->delta, gfn);
		return true;
	}
	if (!p->delta)
		return false;
	len = kvm_ft_delta_make(p->delta, gfn, content, entries + *dlen);
	if (!len)
		return false;
	*dlen += len;
	(*ndelta)++;
	return true;
}

static int send_delta(struct kvm_ft_primary *p, u64 epoch, u32 count, u32 len)
{
	u8 *frame = p->delta->frame;

	len += kvm_ft_wire_put_delta_hdr(frame + HDR_LEN, count);
	kvm_ft_wire_put_hdr(frame, KVM_FT_WIRE_DELTA, epoch, len);
	atomic64_add(HDR_LEN + len, &p->vm->stats.bytes_tx);
	atomic64_add(count, &p->vm->stats.delta_pages);
	return kvm_ft_link_send(&p->link, frame, frame + HDR_LEN);
}

/*
 * The PAGES frame of @count frames @gfns in p->frame, their contents in
 * place after the numbers: the pages all zero go as a ZERO frame (their
 * numbers only) and those a delta sends in fewer bytes as a DELTA frame,
 * if the backup takes those; the rest, moved down over the gaps, as
 * PAGES.  Sender thread.
 */
static int send_chunk(struct kvm_ft_primary *p, u64 epoch, u32 count, const u64 *gfns)
{
	u8 *pages = p->frame + HDR_LEN, *content = pages + PAGES_HDR + count * 8, *to;
	DECLARE_BITMAP(gone, KVM_FT_WIRE_MAX_PAGES);
	u32 i, kept = 0, zero = 0, delta = 0, dlen = 0;

	if (!(p->features & KVM_FT_WIRE_FEAT_ZERO) && !p->delta)
		return send_frame(p, KVM_FT_WIRE_PAGES, epoch,
				  kvm_ft_wire_put_pages(pages, count, gfns));
	bitmap_zero(gone, KVM_FT_WIRE_MAX_PAGES);
	for (i = 0; i < count; i++) {
		if (not_whole(p, gfns[i], content + i * PAGE_SIZE, &zero, &delta, &dlen))
			__set_bit(i, gone);
		else
			p->kept[kept++] = gfns[i];
	}
	if (kept < count && kept) {
		/* Down, in order, behind the shorter list of numbers: no overlap ahead. */
		to = pages + PAGES_HDR + kept * 8;
		for_each_clear_bit(i, gone, count) {
			memmove(to, content + i * PAGE_SIZE, PAGE_SIZE);
			to += PAGE_SIZE;
		}
	}
	if (kept && send_frame(p, KVM_FT_WIRE_PAGES, epoch,
			       kvm_ft_wire_put_pages(pages, kept, p->kept)))
		return -EIO;
	if (delta && send_delta(p, epoch, delta, dlen))
		return -EIO;
	if (!zero)
		return 0;
	atomic64_add(zero, &p->vm->stats.zero_pages);
	return send_frame(p, KVM_FT_WIRE_ZERO, epoch, kvm_ft_wire_put_zero(pages, zero, p->zero));
}

/*
 * PAGES (and ZERO) frames for @n frames @gfns: their contents from @data
 * (a snapshot) or, if NULL, read from the running guest (the sync).
 */
static int send_pages(struct kvm_ft_primary *p, struct kvm_ft_epoch *e, u64 epoch,
		      const u64 *gfns, u64 n, const void *data, atomic64_t *done)
{
	u8 *pages = p->frame + HDR_LEN;
	u64 i = 0;
	u32 count;

	while (i < n) {
		u8 *content;

		count = min_t(u64, n - i, KVM_FT_WIRE_MAX_PAGES);
		/* The contents follow the count gfns directly. */
		content = pages + PAGES_HDR + count * 8;
		if (!data && sender_done(p))
			return -EINTR;		/* a stop need not wait for the sync */
		if (data)
			memcpy(content, data + i * PAGE_SIZE, count * PAGE_SIZE);
		else if (kvm_ft_epoch_read(e, gfns + i, count, content))
			return KVM_FT_WIRE_E_SNAPSHOT;
		if (send_chunk(p, epoch, count, gfns + i))
			return KVM_FT_WIRE_E_IO;
		i += count;
		atomic64_add(count, &p->vm->stats.pages);
		if (done)
			atomic64_add(count, done);
		cond_resched();
	}
	return 0;
}

/*
 * The device blob as its differences from the last one sent, if
 * DEVICE_DELTA is on and they are few (device_delta.c).  Else whole: too
 * big for the frame buffer, it goes from where it is, sealed in place.
 * Nothing reads it after this epoch: the VMM's next PUT, the next
 * epoch's, writes it anew (device.c).
 */
static int send_device(struct kvm_ft_primary *p, u64 epoch, const void *blob, u32 len)
{
	u8 hdr[HDR_LEN];
	u32 dlen;

	if (p->features & KVM_FT_WIRE_FEAT_DEVICE_DELTA) {
		dlen = kvm_ft_device_delta_make(&p->dev_base, blob, len, epoch, p->frame + HDR_LEN);
		if (dlen) {
			atomic64_inc(&p->vm->stats.device_deltas);
			return send_frame(p, KVM_FT_WIRE_DEVICE_DELTA, epoch, dlen) ?
			       KVM_FT_WIRE_E_IO : 0;
		}
	}
	kvm_ft_wire_put_hdr(hdr, KVM_FT_WIRE_DEVICE, epoch, len);
	atomic64_add(HDR_LEN + len, &p->vm->stats.bytes_tx);
	return kvm_ft_link_send(&p->link, hdr, (void *)blob) ? KVM_FT_WIRE_E_IO : 0;
}

static int send_verify(struct kvm_ft_primary *p, u64 epoch, u32 crc)
{
	u32 len = kvm_ft_wire_put_verify(p->frame + HDR_LEN, crc);

	return send_frame(p, KVM_FT_WIRE_VERIFY, epoch, len) ? KVM_FT_WIRE_E_IO : 0;
}

static int send_end(struct kvm_ft_primary *p, u64 epoch, u64 nr_pages, u32 nr_vcpus,
		    u32 device_len)
{
	u32 len = kvm_ft_wire_put_end(p->frame + HDR_LEN, nr_pages, nr_vcpus, device_len);

	return send_frame(p, KVM_FT_WIRE_EPOCH_END, epoch, len) ? KVM_FT_WIRE_E_IO : 0;
}

static int begin_epoch(struct kvm_ft_primary *p)
{
	WRITE_ONCE(p->sent, p->sent + 1);	/* before its ACK can arrive */
	atomic64_set(&p->vm->stats.cur_epoch, p->sent);
	atomic64_inc(&p->vm->stats.inflight);
	return send_frame(p, KVM_FT_WIRE_EPOCH_BEGIN, p->sent, 0) ? KVM_FT_WIRE_E_IO : 0;
}

/* Why an epoch could not be taken, as a kind (or VM_GONE). */
static int snapshot_error(int err)
{
	switch (err) {
	case -ESRCH:
		return VM_GONE;
	case -EXDEV:
		return KVM_FT_WIRE_E_LAYOUT;
	}
	return KVM_FT_WIRE_E_SNAPSHOT;
}

/*
 * Epoch 1: all of guest memory, read while the VM runs; then, in the same
 * epoch, what it wrote meanwhile, again and again while that shrinks, so
 * that the first held epoch (2) has little left to copy.
 */
static int sync_memory(struct kvm_ft_primary *p, struct kvm_ft_epoch *e)
{
	struct kvm_ft_stats *st = &p->vm->stats;
	bool last_pass = false;
	u64 sent = 0, before;
	int pass, ret;

	if (kvm_ft_dirty_all(e->kvm, &e->dirty))
		return KVM_FT_WIRE_E_SNAPSHOT;
	atomic64_set(&st->sync_total, e->dirty.nr);
	atomic64_set(&st->sync_done, 0);
	ret = begin_epoch(p);
	/* Every harvest is sent: what is written after the last one is epoch 2's. */
	for (pass = 1; !ret; pass++) {
		ret = send_pages(p, e, p->sent, e->dirty.gfns, e->dirty.nr, NULL,
				 &st->sync_done);
		sent += e->dirty.nr;
		if (ret || last_pass)
			break;
		before = e->dirty.nr;
		ret = kvm_ft_dirty_harvest(e->kvm, &e->dirty);
		if (ret) {
			ret = snapshot_error(ret);
			break;
		}
		atomic64_add(e->dirty.nr, &st->sync_total);
		last_pass = e->dirty.nr <= SYNC_ENOUGH || e->dirty.nr >= before ||
			    pass + 1 == SYNC_PASSES;
	}
	return ret ? ret : send_end(p, p->sent, sent, 0, 0);
}

/*
 * vCPU @i's state @st in the epoch being sent: as its differences from
 * the state its last frame carried (vcpu_delta.c) if VCPU_DELTA is on and
 * they are few, else whole.  Sender thread.
 */
static int send_vcpu(struct kvm_ft_primary *p, u32 i, const struct kvm_ft_arch_vcpu *st)
{
	u8 *v = p->frame + HDR_LEN, *state = v + sizeof(struct kvm_ft_wire_vcpu);
	u8 type = KVM_FT_WIRE_VCPU;
	u32 size, len = 0;

	if (p->vcpus.states) {
		size = kvm_ft_wire_put_vcpu(kvm_ft_vcpu_scratch(&p->vcpus), st);
		len = kvm_ft_vcpu_delta_make(&p->vcpus, i, size, p->sent, v);
		if (len) {
			type = KVM_FT_WIRE_VCPU_DELTA;
			atomic64_inc(&p->vm->stats.vcpu_deltas);
		} else
			memcpy(state, kvm_ft_vcpu_scratch(&p->vcpus), size);
	} else {
		size = kvm_ft_wire_put_vcpu(state, st);
	}
	if (!len)
		len = kvm_ft_wire_put_vcpu_hdr(v, i, size);
	return send_frame(p, type, p->sent, len) ? KVM_FT_WIRE_E_IO : 0;
}

static int send_snapshot(struct kvm_ft_primary *p, const struct kvm_ft_snapshot *s)
{
	u32 i;
	int ret;

	kvm_ft_link_cork(&p->link, true);
	ret = begin_epoch(p);
	if (!ret)
		ret = send_pages(p, NULL, p->sent, s->gfns, s->nr_pages, s->pages, NULL);
	for (i = 0; !ret && i < s->nr_vcpus; i++)
		ret = send_vcpu(p, i, &s->vcpus[i]);
	if (!ret && s->device_len)
		ret = send_device(p, p->sent, s->device, s->device_len);
	if (!ret && s->verify)
		ret = send_verify(p, p->sent, s->mem_crc);
	if (!ret)
		ret = send_end(p, p->sent, s->nr_pages, s->nr_vcpus, s->device_len);
	kvm_ft_link_cork(&p->link, false);		/* out it goes */
	return ret;
}

/* The epoch that ends at the snapshot begun at @now: how long it was, what it carried. */
static void count_epoch(struct kvm_ft_primary *p, u64 now, u64 nr_pages)
{
	if (p->snap_ns)
		atomic64_inc(&p->vm->stats.epoch_hist[kvm_ft_hist_bucket((now - p->snap_ns) /
									  NSEC_PER_USEC)]);
	p->snap_ns = now;
	p->snap_pages = nr_pages;
}

static void count_pause(struct kvm_ft_stats *st, u64 ns, u64 nr_pages)
{
	if (nr_pages > atomic64_read(&st->epoch_pages_max))	/* one writer */
		atomic64_set(&st->epoch_pages_max, nr_pages);
	atomic64_set(&st->pause_last_ns, ns);
	atomic64_add(ns, &st->pause_total_ns);
	if (ns > atomic64_read(&st->pause_max_ns))	/* one writer: no race */
		atomic64_set(&st->pause_max_ns, ns);
	atomic64_inc(&st->pause_hist[kvm_ft_hist_bucket(ns / NSEC_PER_USEC)]);
}

static void count_device(struct kvm_ft_vm *vm, const struct kvm_ft_snapshot *s)
{
	if (s->device_late) {
		atomic64_inc(&vm->stats.device_timeouts);
		pr_warn_ratelimited("%s: the VMM's device state came too late: epoch sent without\n",
				    vm->name);
	} else if (s->device) {
		atomic64_set(&vm->stats.device_len, s->device_len);
	}
}

/* Take and send an epoch whole: a stop waits for it (see kvm_ft_primary_stop()). */
static int one_epoch(struct kvm_ft_primary *p, struct kvm_ft_epoch *e)
{
	struct kvm_ft_snapshot s;
	u64 begun;
	int ret;

	mutex_lock(&p->epoch_lock);
	if (sender_done(p)) {		/* a stop took the lock first */
		mutex_unlock(&p->epoch_lock);
		return 0;
	}
	s.verify = READ_ONCE(kvm_ft_defaults.verify_memory) &&
		   (p->features & KVM_FT_WIRE_FEAT_VERIFY);
	begun = ktime_get_ns();
	ret = kvm_ft_epoch_snapshot(e, &s);
	if (ret == -ETIME) {
		/* No epoch this tick: what it would have had goes in the next. */
		atomic64_inc(&p->vm->stats.park_timeouts);
		pr_warn_ratelimited("%s: a vCPU could not be held for %u ms: epoch not taken\n",
				    p->vm->name, READ_ONCE(kvm_ft_defaults.failover_timeout_ms));
		ret = 0;
	} else if (!ret) {
		count_epoch(p, begun, s.nr_pages);
		count_pause(&p->vm->stats, s.pause_ns, s.nr_pages);
		atomic64_add(s.early_pages, &p->vm->stats.early_copies);
		count_device(p->vm, &s);
		ret = send_snapshot(p, &s);
	} else if (!sender_done(p)) {
		ret = snapshot_error(ret);
	}
	mutex_unlock(&p->epoch_lock);
	return sender_done(p) && ret == KVM_FT_WIRE_E_SNAPSHOT ? 0 : ret;
}

/* Every vCPU held for a snapshot: the guest's output is the next epoch's. */
static void output_next(void *vm)
{
	kvm_ft_output_next(vm);
}

/*
 * How old an epoch must be to end early for output: epoch_min_us, and
 * EARLY_PAUSES times the last pause, so that early ends pause the guest
 * at most a tenth of its time.  A VM whose every pause is long (QEMU's
 * device capture under emulation takes milliseconds) ended its epochs at
 * each ACK and spent its time paused (Documentation/bench.rst).
 */
static u64 early_age_us(struct kvm_ft_primary *p, u32 min)
{
	u64 pause_us = div_u64(atomic64_read(&p->vm->stats.pause_last_ns), NSEC_PER_USEC);

	return max_t(u64, min, EARLY_PAUSES * pause_us);
}

/*
 * Is an epoch due at this tick?  Every tick is, unless epochs follow the
 * output (epoch_min_us, epoch_max_us; the tick then comes every
 * epoch_min_us): an epoch ends early, once early_age_us() old, when the
 * guest's output waits for it and the link is idle (its ACK then comes a
 * transfer and a round trip later, rather than half an epoch more); it
 * stretches, up to epoch_max_us, while nothing waits and the last epoch
 * carried little (fewer pauses for a guest that says nothing).
 */
static bool epoch_due(struct kvm_ft_primary *p)
{
	u64 age = div_u64(ktime_get_ns() - p->snap_ns, NSEC_PER_USEC);
	u32 us = READ_ONCE(p->vm->epoch_us);
	u32 min = READ_ONCE(kvm_ft_defaults.epoch_min_us);
	u32 max = READ_ONCE(kvm_ft_defaults.epoch_max_us);
	u32 tick = min && min < us ? min : us;	/* as epoch.c's period() */
	bool waiting = kvm_ft_output_waiting(p->vm);

	if (!p->snap_ns || (!min && !max))
		return true;
	if (min && waiting && p->sent == READ_ONCE(p->acked) && age >= early_age_us(p, min))
		return true;
	/* Half a tick early is on time: the ticks do not wait for snapshots. */
	if (age + tick / 2 < us)
		return false;
	return !(max > us && !waiting && p->snap_pages <= KVM_FT_EPOCH_STRETCH_PAGES &&
		 age + tick / 2 < max);
}

/* One epoch per due tick, while fewer than inflight_max await their ACK. */
static int run_epochs(struct kvm_ft_primary *p, struct kvm_ft_epoch *e)
{
	struct kvm_ft_stats *st = &p->vm->stats;
	int ret;

	for (;;) {
		wait_event_interruptible(p->wq, READ_ONCE(e->tick) || sender_done(p));
		if (sender_done(p))
			return 0;
		WRITE_ONCE(e->tick, false);
		if (!epoch_due(p))
			continue;
		if (p->sent - READ_ONCE(p->acked) >= READ_ONCE(kvm_ft_defaults.inflight_max)) {
			/* The VM runs on; this epoch just grows until the backup catches up. */
			atomic64_inc(&st->stalls);
			wait_event_interruptible(p->wq, sender_done(p) ||
				p->sent - READ_ONCE(p->acked) <
				READ_ONCE(kvm_ft_defaults.inflight_max));
			if (sender_done(p))
				return 0;
		}
		ret = one_epoch(p, e);
		if (ret)
			return ret;
	}
}

/* After the sync, which sends all of memory whole: copies from then on. */
static void start_deltas(struct kvm_ft_primary *p)
{
	unsigned int max_mb = READ_ONCE(kvm_ft_defaults.delta_max_mb);

	if ((p->features & KVM_FT_WIRE_FEAT_VCPU_DELTA) &&
	    kvm_ft_vcpu_bases_init(&p->vcpus, kvm_ft_vm_nr_vcpus(p->vm)))
		pr_warn("%s: no memory for vCPU deltas: vCPU states go whole\n", p->vm->name);
	if (!(p->features & KVM_FT_WIRE_FEAT_DELTA) || !max_mb)
		return;
	p->delta = kvm_ft_delta_create(max_mb);
	if (!p->delta)
		pr_warn("%s: no memory for deltas: pages go whole\n", p->vm->name);
}

static void stop_deltas(struct kvm_ft_primary *p)
{
	kvm_ft_delta_destroy(p->delta);
	p->delta = NULL;
	kvm_ft_vcpu_bases_free(&p->vcpus);
	kvm_ft_device_base_free(&p->dev_base);
}

static int sender_thread(void *arg)
{
	struct kvm_ft_primary *p = arg;
	struct kvm_ft_vm *vm = p->vm;
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(vm->kvm->mm);
	struct mem_cgroup *old = set_active_memcg(memcg);	/* epoch buffers are the VM's */
	struct kvm_ft_epoch *e;
	int ret;

	e = kvm_ft_epoch_create(vm->kvm, &vm->epoch_us, &p->abort, &p->wq,
				kvm_ft_device_used(vm) ? &vm->dev : NULL);
	ret = IS_ERR(e) ? KVM_FT_WIRE_E_SNAPSHOT : kvm_ft_epoch_start(e);
	if (!IS_ERR(e)) {
		/* What the guest sends after the first snapshot waits for its epoch. */
		e->held = output_next;
		e->held_ctx = vm;
		kvm_ft_output_protect(vm);
		if (ret)
			ret = KVM_FT_WIRE_E_SNAPSHOT;
		if (!ret)
			ret = sync_memory(p, e);
		if (!ret) {
			pr_info("%s: memory synced to the backup (%lld pages)\n", vm->name,
				atomic64_read(&vm->stats.sync_total));
			kvm_ft_netlink_event(vm, KVM_FT_EV_SYNCED, 0);
			start_deltas(p);
			ret = run_epochs(p, e);
			stop_deltas(p);
		}
		kvm_ft_epoch_destroy(e);
	}
	if (ret == VM_GONE && !sender_done(p)) {
		/* Its VMM died (its memory is gone): the backup is to go on. */
		pr_warn("%s: the VM's process is gone: the backup takes over\n", vm->name);
		kvm_ft_output_drop(vm);
		WRITE_ONCE(p->sender_err, KVM_FT_WIRE_E_SNAPSHOT);
		kvm_ft_link_reset(&p->link);
	} else if (ret && !sender_done(p)) {
		/*
		 * Between epochs: a FIN, and the link thread reads the ACKs still
		 * due until the backup closes, which it takes for a clean end (a
		 * reset, from unread ACKs, would make it take over).
		 */
		WRITE_ONCE(p->sender_err, ret);
		kvm_ft_link_end_write(&p->link);
	}
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return kvm_ft_link_park();
}

static int take_ack(struct kvm_ft_primary *p, u64 epoch)
{
	struct kvm_ft_stats *st = &p->vm->stats;

	if (epoch != p->acked + 1 || epoch > READ_ONCE(p->sent))
		return KVM_FT_WIRE_E_EPOCH;
	WRITE_ONCE(p->acked, epoch);
	kvm_ft_vm_committed(p->vm, epoch);
	atomic64_dec(&st->inflight);
	wake_up(&p->wq);
	/* Epoch 1, the sync, is no checkpoint: what the VM did meanwhile waits for 2. */
	if (epoch > 1)
		kvm_ft_output_commit(p->vm, epoch);
	return 0;
}

/* Take the backup's frames until the link fails; return why, as a kind. */
static int converse(struct kvm_ft_primary *p)
{
	struct kvm_ft_wire_msg m;
	u8 hdr[HDR_LEN];
	int ret;

	for (;;) {
		ret = kvm_ft_link_recv(&p->link, hdr, HDR_LEN);
		if (ret)
			return kvm_ft_link_error_kind(&p->link, ret);
		/* A backup sends acknowledgements and heartbeats, nothing else. */
		ret = kvm_ft_wire_decode_hdr(hdr, &m);
		if (!ret && m.len)
			ret = KVM_FT_WIRE_E_ORDER;	/* none has a payload */
		if (ret)
			return ret;
		ret = kvm_ft_link_open(&p->link, hdr, NULL, 0);
		if (ret)
			return kvm_ft_link_error_kind(&p->link, ret);
		ret = kvm_ft_wire_decode_reply(hdr, kvm_ft_link_sealed(&p->link), &m);
		if (ret)
			return ret;
		if (m.type == KVM_FT_WIRE_ACK) {
			ret = take_ack(p, m.epoch);
			if (ret)
				return ret;
		} else {
			atomic64_inc(&p->vm->stats.heartbeats);
		}
	}
}

/* Whether a refusal may clear by itself: the backup busy, or not itself yet. */
static bool transient(int err)
{
	return err == KVM_FT_WIRE_E_BUSY || err == KVM_FT_WIRE_E_IO ||
	       err == KVM_FT_WIRE_E_TRUNCATED || err == KVM_FT_WIRE_E_HANDSHAKE;
}

/*
 * INIT, the backup's REPLY, our CONFIRM (see wire.c): then every frame is
 * sealed with this connection's keys, or, for a pair set insecure,
 * checksummed.  OK, or why not, as a kind.  Link thread.
 */
static int shake_hands(struct kvm_ft_primary *p, struct kvm_ft_wire_hs *hs)
{
	u8 *in = p->frame, *out = p->frame + KVM_FT_WIRE_HS_FRAME;
	u32 len;
	int err;

	err = kvm_ft_link_hs_begin(hs, p->keyed, p->key, p->vm->name);
	if (err)
		return err;
	len = kvm_ft_wire_hs_init(hs, out);
	err = kvm_ft_link_send_clear(&p->link, out, len) ?:
	      kvm_ft_link_recv_clear(&p->link, in, KVM_FT_WIRE_HS_FRAME) ?:
	      kvm_ft_wire_hs_confirm(hs, in, in + HDR_LEN, out, &len) ?:
	      kvm_ft_link_send_clear(&p->link, out, len) ?:
	      kvm_ft_wire_hs_proven(hs) ?:
	      kvm_ft_link_secure(&p->link, hs, true);
	if (err)
		return err;
	p->features = hs->common;
	kvm_ft_vm_set_peer(p->vm, hs->peer);
	return KVM_FT_WIRE_OK;
}

/*
 * Connect and shake hands, retrying once a second while the backup does
 * not answer or is busy: OK, STOPPED if told to stop meanwhile, or the
 * backup's refusal for good (a kind).
 */
static int connect_backup(struct kvm_ft_primary *p)
{
	struct kvm_ft_wire_hs *hs = kzalloc(sizeof(*hs), GFP_KERNEL);
	struct socket *sock;
	int err = STOPPED;

	if (!hs)
		return KVM_FT_WIRE_E_NOMEM;
	while (!READ_ONCE(p->link.stopping)) {
		if (!kvm_ft_sock_connect(&p->addr, READ_ONCE(kvm_ft_defaults.failover_timeout_ms),
					 &sock)) {
			if (!kvm_ft_link_attach(&p->link, sock)) {
				sock_release(sock);
				break;
			}
			err = shake_hands(p, hs);
			kvm_ft_wire_hs_wipe(hs);
			if (!err || !transient(err) || READ_ONCE(p->link.stopping))
				break;
			if (err == KVM_FT_WIRE_E_BUSY)
				pr_info_ratelimited("%s: the backup is linked to another primary: retrying\n",
						    p->vm->name);
			else
				pr_info_ratelimited("%s: no handshake with the backup (%s): retrying\n",
						    p->vm->name, kvm_ft_wire_strerror(err));
			kvm_ft_link_detach(&p->link);
			err = STOPPED;
		}
		msleep_interruptible(1000);
	}
	kfree_sensitive(hs);
	return READ_ONCE(p->link.stopping) ? STOPPED : err;
}

/* The linked part: HELLO, the sender, the backup's frames; why it ended. */
static int serve(struct kvm_ft_primary *p)
{
	struct kvm_ft_vm *vm = p->vm;
	int why;

	if (send_hello(p))
		return KVM_FT_WIRE_E_IO;
	atomic64_set(&vm->stats.inflight, 0);
	p->sender = kthread_run(sender_thread, p, "kvm_ft_ep/%s", vm->name);
	if (IS_ERR(p->sender)) {
		p->sender = NULL;
		return KVM_FT_WIRE_E_SNAPSHOT;
	}
	why = converse(p);
	stop_sender(p);
	kthread_stop(p->sender);
	p->sender = NULL;
	return READ_ONCE(p->sender_err) ?: why;
}

/* The backup refused us for good (or stopping): nothing is protected. */
static void refused(struct kvm_ft_primary *p, int why)
{
	struct kvm_ft_vm *vm = p->vm;

	kvm_ft_link_detach(&p->link);
	if (why == STOPPED)
		return;
	atomic64_inc(&vm->stats.errors[why]);
	kvm_ft_vm_set_state(vm, KVM_FT_STATE_UNPROTECTED);
	pr_warn("%s: no pair with the backup at %pISpc: %s\n", vm->name, &p->addr.sa,
		kvm_ft_wire_strerror(why));
	kvm_ft_netlink_event(vm, KVM_FT_EV_PEER_LOST, why);
}

static int primary_thread(void *arg)
{
	struct kvm_ft_primary *p = arg;
	struct kvm_ft_vm *vm = p->vm;
	int why;

	why = connect_backup(p);
	if (!why) {
		kvm_ft_vm_set_state(vm, KVM_FT_STATE_CONNECTED);
		pr_info("%s: linked to the backup at %pISpc (VM %s, %s)\n", vm->name,
			&p->addr.sa, vm->peer, p->keyed ? "sealed" : "insecure");
		kvm_ft_netlink_event(vm, KVM_FT_EV_LINKED, 0);
		why = serve(p);
		kvm_ft_link_detach(&p->link);
		kvm_ft_output_unprotect(vm);	/* no-op if dropped: the VM died */
		atomic64_set(&vm->stats.inflight, 0);
		if (!READ_ONCE(p->link.stopping)) {
			atomic64_inc(&vm->stats.errors[why]);
			atomic64_inc(&vm->stats.peer_lost);
			kvm_ft_vm_set_state(vm, KVM_FT_STATE_UNPROTECTED);
			pr_warn("%s: backup lost (%s): running unprotected\n", vm->name,
				kvm_ft_wire_strerror(why));
			kvm_ft_netlink_event(vm, KVM_FT_EV_PEER_LOST, why);
		}
	} else {
		refused(p, why);
	}
	complete(&p->unlinked);
	return kvm_ft_link_park();
}

/* Why @vm cannot be protected as it is, for the administrator; NULL if it can. */
const char *kvm_ft_primary_unfit(struct kvm_ft_vm *vm)
{
	if (kvm_ft_device_used(vm) && !READ_ONCE(vm->dev.max_len))
		return "the VMM hands in device state but has not set it up (KVM_FT_DEVICE_SETUP)";
	if (!kvm_ft_vm_nr_vcpus(vm))
		return "the VM has no vCPU";
	return kvm_ft_vcpu_unfit(vm->kvm) ?: kvm_ft_dirty_unfit(vm->kvm);
}

int kvm_ft_primary_start(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr)
{
	struct kvm_ft_primary *p;

	int ret;

	lockdep_assert_held(&vm->lock);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->frame = kvmalloc(FRAME_MAX, GFP_KERNEL_ACCOUNT);
	ret = p->frame ? kvm_ft_vm_fix_vcpus(vm) : -ENOMEM;
	if (ret) {
		kvfree(p->frame);
		kfree(p);
		return ret;
	}
	p->vm = vm;
	p->addr = *addr;
	p->keyed = vm->keyed;
	memcpy(p->key, vm->key, KVM_FT_KEY_LEN);
	init_waitqueue_head(&p->wq);
	mutex_init(&p->epoch_lock);
	init_completion(&p->unlinked);
	kvm_ft_link_init(&p->link);
	/* No sync yet: the last link's must not read as this one's (ftnl pair --wait). */
	atomic64_set(&vm->stats.sync_done, 0);
	atomic64_set(&vm->stats.sync_total, 0);
	kvm_ft_vm_set_state(vm, KVM_FT_STATE_CONNECTING);
	p->link.thread = kthread_run(primary_thread, p, "kvm_ft_tx/%s", vm->name);
	if (IS_ERR(p->link.thread)) {
		ret = PTR_ERR(p->link.thread);
		kvm_ft_vm_unfix_vcpus(vm);
		kvm_ft_vm_set_state(vm, KVM_FT_STATE_IDLE);
		kvfree(p->frame);
		kfree_sensitive(p);
		return ret;
	}
	vm->primary = p;
	return 0;
}

/*
 * A clean end: the backup reads our FIN after the last epoch, sends what
 * ACKs it owes, and closes; we read them all, so that neither side sees a
 * reset (which a backup takes for a crash, and takes over).  Bounded by
 * the failover timeout, like any wait for the peer.
 */
static void finish_link(struct kvm_ft_primary *p)
{
	kvm_ft_link_finish(&p->link);
	wait_for_completion_timeout(&p->unlinked,
		msecs_to_jiffies(READ_ONCE(kvm_ft_defaults.failover_timeout_ms) + 1000));
}

void kvm_ft_primary_stop(struct kvm_ft_vm *vm, bool crash)
{
	struct kvm_ft_primary *p = vm->primary;

	lockdep_assert_held(&vm->lock);
	if (!p)
		return;
	if (crash && READ_ONCE(vm->state) == KVM_FT_STATE_CONNECTED) {
		pr_warn("%s: VM destroyed while protected: the backup takes over\n", vm->name);
		kvm_ft_link_reset(&p->link);
	}
	/* End the stream between epochs: the backup sees a clean close. */
	stop_sender(p);
	mutex_lock(&p->epoch_lock);
	mutex_unlock(&p->epoch_lock);
	if (!crash)
		finish_link(p);
	kvm_ft_link_stop(&p->link, NULL);
	vm->primary = NULL;
	kvfree(p->frame);
	kfree_sensitive(p);
	kvm_ft_vm_unfix_vcpus(vm);
	kvm_ft_vm_set_state(vm, KVM_FT_STATE_IDLE);
}
