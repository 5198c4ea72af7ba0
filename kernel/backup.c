// SPDX-License-Identifier: GPL-2.0
/*
 * The backup's receive path.  A kernel thread accepts one primary at a
 * time (heartbeats and the failover timeout as in transfer.c) and reads its
 * frames: each is checked whole by the wire codec
 * (wire.c) before anything of it is used, an epoch is staged until its
 * EPOCH_END has arrived and checked, then applied to the VM's memory, then
 * acknowledged.  Any refusal ends the connection, is counted by kind and
 * logged (rate-limited), and drops what was staged: a partial or corrupt
 * epoch is never applied.  Guest frames are checked against the VM's user
 * memslots, so nothing outside them is ever written; staging is keyed by
 * frame number, so it never holds more than the VM's memory.
 *
 * An epoch is applied before it is acknowledged: what the primary lets out
 * to the world once acknowledged is then always covered by the backup's
 * memory.  The memory, the vCPU registers and the device state are one
 * checkpoint once an epoch carrying every vCPU (and, for a VM with device
 * state, its blob) has been applied (the sync, epoch 1, carries none; an
 * epoch whose blob the primary's VMM gave too late carries no blob).  After
 * a takeover, the blob is the VMM's to fetch (device.c).  With a checkpoint, losing the primary (not a clean close) makes
 * the backup take over: its vCPUs get the checkpoint's registers and the VM
 * turns ACTIVE for its VMM to run.  `ftnl failover` does the same at will.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/memcontrol.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/sock.h>

#include "backup.h"
#include "epoch.h"
#include "netlink.h"
#include "resume.h"
#include "sysfs.h"
#include "vcpu.h"
#include "vcpu_delta.h"
#include "device_delta.h"
#include "transfer.h"
#include "vm.h"
#include "wire.h"

#define HDR_LEN		sizeof(struct kvm_ft_wire_hdr)
#define CLEAN_CLOSE	(-1)	/* the primary closed between epochs */
#define VMM_GONE	(-2)	/* our VMM exited: its VM is about to go too */
#define BUSY_MAX	16	/* refusals under way; more are closed unanswered */

struct kvm_ft_backup {
	struct kvm_ft_vm *vm;
	struct kvm_ft_link link;	/* the primary's connection */
	struct socket *listen;
	bool keyed;			/* else insecure, as the VM was set at LISTEN */
	u8 key[KVM_FT_KEY_LEN];
	struct workqueue_struct *busy;	/* tells other primaries so (refuse()) */
	atomic_t refusing;		/* connections on it: at most BUSY_MAX */
	unsigned long next_look;	/* jiffies: for another connection */
	void *buf;			/* payloads but DEVICE */
	struct kvm_ft_device_base dev_base;	/* the blob DEVICE_DELTA applies to */
	struct xarray staged;		/* gfn -> struct page *, this epoch */
	void *staged_device, *device;	/* this epoch's blob, the checkpoint's */
	u32 staged_device_len, device_len;
	bool staged_verify;		/* this epoch came with a VERIFY ... */
	u32 staged_crc;			/* ... of this checksum */

	u32 nr_vcpus;
	struct kvm_ft_arch_vcpu *staged_vcpus, *vcpus;	/* this epoch's, the checkpoint's */
	struct kvm_ft_vcpu_bases bases;	/* the states VCPU_DELTA applies to */
	unsigned long *staged_seen;	/* vCPUs this epoch carried */
	struct mutex apply_lock;	/* the checkpoint, against a failover */
	bool consistent;		/* memory and vcpus are one checkpoint */
	bool frozen;			/* taken over: nothing more is applied */
	u64 checkpoint;			/* the epoch of that checkpoint */
};

static void count_error(struct kvm_ft_vm *vm, int err)
{
	atomic64_inc(&vm->stats.errors[err]);
	pr_warn_ratelimited("%s: stream from the primary refused: %s\n",
			    vm->name, kvm_ft_wire_strerror(err));
}

/*
 * The VMM's address of @gfn, if a stream may write it: a frame of one of
 * the VMM's memslots, read-only ones included (read-only to the guest, the
 * VMM's mapping is written as the primary's VMM wrote it).  Caller holds
 * kvm->srcu.
 */
static unsigned long gfn_to_writable_hva(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);

	if (!slot || slot->id >= KVM_USER_MEM_SLOTS || slot->flags & KVM_MEMSLOT_INVALID)
		return KVM_HVA_ERR_BAD;
	/* Not gfn_to_hva_memslot(): it refuses a read-only slot for writing. */
	return __gfn_to_hva_memslot(slot, gfn);
}

static int gfn_valid(void *ctx, __u64 gfn)
{
	struct kvm_ft_backup *b = ctx;

	return !kvm_is_error_hva(gfn_to_writable_hva(b->vm->kvm, gfn));
}

/*
 * Free what was staged.  An epoch can be all of a large VM's memory, and
 * freeing it takes a while: @alive, the link to the primary, if it is to
 * keep hearing from us meanwhile (NULL once the link is done).
 */
static void drop_staged(struct kvm_ft_backup *b, struct kvm_ft_link *alive)
{
	struct page *page;
	unsigned long gfn;
	u64 n = 0;

	xa_for_each(&b->staged, gfn, page) {
		xa_erase(&b->staged, gfn);
		__free_page(page);
		if (!(++n % 1024)) {
			if (alive)
				kvm_ft_link_beat(alive);
			cond_resched();
		}
	}
	kvfree(b->staged_device);
	b->staged_device = NULL;
	b->staged_device_len = 0;
	b->staged_verify = false;
	if (b->staged_seen)		/* NULL if backup_start() failed early */
		bitmap_zero(b->staged_seen, b->nr_vcpus);
}

static int stage_vcpu(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	int err;

	if (m->vcpu.index >= b->nr_vcpus)
		return KVM_FT_WIRE_E_VCPU;
	err = kvm_ft_wire_get_vcpu(m->vcpu.state, m->vcpu.size,
				   &b->staged_vcpus[m->vcpu.index]);
	if (err)
		return err;
	if (!kvm_ft_vcpu_valid(&b->staged_vcpus[m->vcpu.index]))
		return KVM_FT_WIRE_E_VCPU;
	kvm_ft_vcpu_base_keep(&b->bases, m);
	__set_bit(m->vcpu.index, b->staged_seen);
	return KVM_FT_WIRE_OK;
}

/*
 * A DEVICE frame's blob (@payload, ours now) is this epoch's, and the base
 * of the next DEVICE_DELTA if the stream has them (@rx's features).
 */
static int stage_device(struct kvm_ft_backup *b, const struct kvm_ft_wire_rx *rx,
			const struct kvm_ft_wire_msg *m, void *payload)
{
	b->staged_device = payload;
	b->staged_device_len = m->len;
	if (rx->features & KVM_FT_WIRE_FEAT_DEVICE_DELTA)
		return kvm_ft_device_base_keep(&b->dev_base, m);
	return KVM_FT_WIRE_OK;
}

/* A DEVICE_DELTA frame's: the last blob, changed by its runs. */
static int stage_device_delta(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	void *blob;
	int err;

	err = kvm_ft_device_delta_take(&b->dev_base, m, &blob);
	if (err)
		return err;
	b->staged_device = blob;
	b->staged_device_len = m->device_delta.size;
	atomic64_inc(&b->vm->stats.device_deltas);
	return KVM_FT_WIRE_OK;
}

static int stage_vcpu_delta(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	u32 i = m->vcpu_delta.index;
	int err;

	if (i >= b->nr_vcpus)
		return KVM_FT_WIRE_E_VCPU;
	err = kvm_ft_vcpu_delta_take(&b->bases, m, &b->staged_vcpus[i]);
	if (err)
		return err;
	atomic64_inc(&b->vm->stats.vcpu_deltas);
	__set_bit(i, b->staged_seen);
	return KVM_FT_WIRE_OK;
}

/* This epoch's page for @gfn; @fresh: it was not staged yet.  NULL: no memory. */
static struct page *staged_page(struct kvm_ft_backup *b, unsigned long gfn, bool *fresh)
{
	struct page *page = xa_load(&b->staged, gfn);

	*fresh = !page;
	if (page)
		return page;
	page = alloc_page(GFP_KERNEL_ACCOUNT);
	if (page && xa_err(xa_store(&b->staged, gfn, page, GFP_KERNEL_ACCOUNT))) {
		__free_page(page);
		page = NULL;
	}
	return page;
}

/* PAGES or ZERO (m->pages.data NULL): each page staged, whole. */
static int stage_pages(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	bool fresh;
	u32 i;

	for (i = 0; i < m->pages.count; i++) {
		struct page *page = staged_page(b, kvm_ft_wire_gfn(m, i), &fresh);

		if (!page)
			return -ENOMEM;
		if (m->pages.data)
			memcpy(page_address(page), m->pages.data + i * PAGE_SIZE, PAGE_SIZE);
		else
			clear_page(page_address(page));
	}
	if (!m->pages.data)
		atomic64_add(m->pages.count, &b->vm->stats.zero_pages);
	return 0;
}

/*
 * A DELTA page's base: this epoch's page if staged already, else the
 * guest's memory as the last epoch left it (nothing writes it between
 * epochs: its vCPUs do not run).  Under kthread_use_mm() and kvm->srcu.
 */
static int delta_base(struct kvm_ft_backup *b, struct page *page, bool fresh, u64 gfn)
{
	unsigned long hva = gfn_to_writable_hva(b->vm->kvm, gfn);

	if (!fresh)
		return KVM_FT_WIRE_OK;
	if (kvm_is_error_hva(hva) ||
	    copy_from_user(page_address(page), (void __user *)hva, PAGE_SIZE))
		return KVM_FT_WIRE_E_GFN;
	return KVM_FT_WIRE_OK;
}

/*
 * DELTA: each page staged as its delta makes it of the backup's copy,
 * only if that copy is the page the delta was made against (E_DELTA:
 * refused, and with it the epoch).  Not in the sync (the codec refuses).
 */
static int stage_delta(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	struct kvm *kvm = b->vm->kvm;
	struct kvm_ft_wire_delta_page d;
	int idx, ret = KVM_FT_WIRE_OK;
	u32 i, pos = 0;
	bool fresh;

	if (!mmget_not_zero(kvm->mm))
		return VMM_GONE;
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; !ret && i < m->delta.count; i++) {
		struct page *page;

		pos = kvm_ft_wire_delta_get(m, pos, &d);
		page = staged_page(b, d.gfn, &fresh);
		ret = page ? delta_base(b, page, fresh, d.gfn) : KVM_FT_WIRE_E_NOMEM;
		if (!ret)
			ret = kvm_ft_wire_delta_apply(page_address(page), &d);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	if (!ret)
		atomic64_add(m->delta.count, &b->vm->stats.delta_pages);
	else if (ret == KVM_FT_WIRE_E_DELTA)
		pr_err("%s: epoch %llu: the delta of page %llu does not fit this backup's copy\n",
		       b->vm->name, m->epoch, d.gfn);
	return ret;
}

/*
 * Whether memory and vCPUs are one checkpoint (b->checkpoint's), and the
 * VM's checkpoint gauge with it: what ftnl shows a failover would resume
 * from.  Under apply_lock.
 */
static void set_consistent(struct kvm_ft_backup *b, bool consistent)
{
	lockdep_assert_held(&b->apply_lock);
	b->consistent = consistent;
	atomic64_set(&b->vm->stats.checkpoint, consistent ? b->checkpoint : 0);
}

/*
 * The sync (epoch 1) is all of memory and no checkpoint: its pages are
 * written as they arrive rather than staged, so that the backup neither
 * holds a second copy of the VM's memory nor stops reading its socket for
 * as long as applying all of it takes (the primary's sends would time out
 * meanwhile).  What they overwrite is no checkpoint from then on.  ZERO's
 * (m->pages.data NULL) are cleared.
 */
static int write_sync_pages(struct kvm_ft_backup *b, const struct kvm_ft_wire_msg *m)
{
	struct kvm *kvm = b->vm->kvm;
	int idx, ret = 0;
	u32 i;

	mutex_lock(&b->apply_lock);
	if (b->frozen) {
		ret = -ESTALE;		/* a failover by hand took the old checkpoint */
		goto out;
	}
	set_consistent(b, false);
	if (!mmget_not_zero(kvm->mm)) {
		ret = -ESRCH;
		goto out;
	}
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	for (i = 0; !ret && i < m->pages.count; i++) {
		unsigned long hva = gfn_to_writable_hva(kvm, kvm_ft_wire_gfn(m, i));

		if (kvm_is_error_hva(hva))
			ret = -EFAULT;
		else if (m->pages.data)
			ret = copy_to_user((void __user *)hva, m->pages.data + i * PAGE_SIZE,
					   PAGE_SIZE) ? -EFAULT : 0;
		else
			ret = clear_user((void __user *)hva, PAGE_SIZE) ? -EFAULT : 0;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	if (!ret)
		atomic64_add(m->pages.count, &b->vm->stats.pages);
	if (!ret && !m->pages.data)
		atomic64_add(m->pages.count, &b->vm->stats.zero_pages);
out:
	mutex_unlock(&b->apply_lock);
	return ret;
}

/*
 * Write the staged pages into the VM, through the VMM's own mappings.  Not
 * kvm_write_guest(): it marks pages dirty, which KVM allows only from a
 * running vCPU, and a backup VM's memory is not dirty-tracked anyway.
 */
static int apply_pages(struct kvm_ft_backup *b)
{
	struct kvm *kvm = b->vm->kvm;
	struct page *page;
	unsigned long gfn;
	int idx, ret = 0;
	u64 n = 0;

	if (!mmget_not_zero(kvm->mm))
		return -ESRCH;
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	xa_for_each(&b->staged, gfn, page) {
		unsigned long hva = gfn_to_writable_hva(kvm, gfn);

		if (kvm_is_error_hva(hva) ||
		    copy_to_user((void __user *)hva, page_address(page), PAGE_SIZE)) {
			ret = -EFAULT;
			break;
		}
		/* The sync is the whole of memory: stay alive to the primary. */
		if (!(++n % 1024)) {
			kvm_ft_link_beat(&b->link);
			cond_resched();
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	atomic64_add(n, &b->vm->stats.pages);
	return ret;
}

/* Apply the staged epoch to memory and, if it has all vCPUs, the checkpoint. */
static int apply_epoch(struct kvm_ft_backup *b, u64 epoch)
{
	int ret = 0;

	mutex_lock(&b->apply_lock);
	if (b->frozen) {
		ret = -ESTALE;
	} else {
		/* From the first page written until the epoch is whole, no checkpoint. */
		set_consistent(b, false);
		ret = apply_pages(b);
	}
	if (!ret && bitmap_full(b->staged_seen, b->nr_vcpus) &&
	    (b->staged_device || !kvm_ft_device_used(b->vm))) {
		memcpy(b->vcpus, b->staged_vcpus, b->nr_vcpus * sizeof(*b->vcpus));
		swap(b->device, b->staged_device);
		b->device_len = b->staged_device_len;
		b->checkpoint = epoch;
		set_consistent(b, true);
	}
	mutex_unlock(&b->apply_lock);
	return ret;
}

/*
 * verify_memory: the applied epoch left memory as the primary's was.  If
 * not, this backup holds no checkpoint worth resuming from.
 */
static int verify_epoch(struct kvm_ft_backup *b, u64 epoch)
{
	u32 crc;
	int ret = kvm_ft_vm_mem_crc(b->vm->kvm, &crc, &b->link);

	if (ret == -ESRCH)
		return VMM_GONE;
	if (!ret && crc == b->staged_crc) {
		atomic64_inc(&b->vm->stats.verified);
		return KVM_FT_WIRE_OK;
	}
	mutex_lock(&b->apply_lock);
	set_consistent(b, false);
	mutex_unlock(&b->apply_lock);
	pr_err("%s: memory after epoch %llu differs from the primary's\n", b->vm->name, epoch);
	return KVM_FT_WIRE_E_VERIFY;
}

/* An error writing guest memory, as a refusal kind (or VMM_GONE). */
static int apply_error(int err)
{
	switch (err) {
	case 0:
		return KVM_FT_WIRE_OK;
	case -ESRCH:
		return VMM_GONE;		/* not the primary's doing */
	}
	return KVM_FT_WIRE_E_GFN;		/* a memslot went away under us */
}

/* The epoch is whole and checked: apply it, then acknowledge it. */
static int end_epoch(struct kvm_ft_backup *b, u64 epoch)
{
	int ret = apply_error(apply_epoch(b, epoch));

	if (ret)
		return ret;
	if (b->staged_verify) {
		ret = verify_epoch(b, epoch);
		if (ret)
			return ret;
	}
	if (kvm_ft_link_send_empty(&b->link, KVM_FT_WIRE_ACK, epoch))
		return KVM_FT_WIRE_E_IO;
	drop_staged(b, &b->link);
	kvm_ft_vm_committed(b->vm, epoch);
	return KVM_FT_WIRE_OK;
}

static int take_frame(struct kvm_ft_backup *b, struct kvm_ft_wire_rx *rx,
		      struct kvm_ft_wire_msg *m, u8 *hdr, void *payload)
{
	struct kvm *kvm = b->vm->kvm;
	int idx, err;

	err = kvm_ft_wire_decode(hdr, payload, kvm_ft_link_sealed(&b->link), m);
	if (err)
		return err;
	idx = srcu_read_lock(&kvm->srcu);		/* for gfn_valid() */
	err = kvm_ft_wire_rx(rx, m);
	srcu_read_unlock(&kvm->srcu, idx);
	if (err)
		return err;

	switch (m->type) {
	case KVM_FT_WIRE_EPOCH_BEGIN:
		atomic64_set(&b->vm->stats.cur_epoch, m->epoch);
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_PAGES:
	case KVM_FT_WIRE_ZERO:
		if (m->epoch == 1)
			return apply_error(write_sync_pages(b, m));
		return stage_pages(b, m) ? KVM_FT_WIRE_E_NOMEM : KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_DELTA:
		return stage_delta(b, m);
	case KVM_FT_WIRE_VCPU:
		return stage_vcpu(b, m);
	case KVM_FT_WIRE_VCPU_DELTA:
		return stage_vcpu_delta(b, m);
	case KVM_FT_WIRE_DEVICE:
		return stage_device(b, rx, m, payload);
	case KVM_FT_WIRE_DEVICE_DELTA:
		return stage_device_delta(b, m);
	case KVM_FT_WIRE_VERIFY:
		b->staged_verify = true;
		b->staged_crc = m->verify.crc;
		return KVM_FT_WIRE_OK;
	case KVM_FT_WIRE_EPOCH_END:
		return end_epoch(b, m->epoch);
	case KVM_FT_WIRE_HEARTBEAT:
		atomic64_inc(&b->vm->stats.heartbeats);
		return KVM_FT_WIRE_OK;
	}
	return KVM_FT_WIRE_OK;
}

/* A receive error as a refusal kind, or CLEAN_CLOSE: the end between epochs. */
static int recv_error(struct kvm_ft_backup *b, int ret, bool in_frame,
		      struct kvm_ft_wire_rx *rx)
{
	if (ret == -ENODATA && !in_frame && !rx->in_epoch)
		return CLEAN_CLOSE;
	return kvm_ft_link_error_kind(&b->link, ret);
}

/*
 * Another primary while one is linked: tell it so (a REPLY that says
 * busy), let it close first, and let go.  Bounded: a few seconds at most
 * for one that neither reads nor closes.  On b->busy, one at a time.
 */
struct refusal {
	struct work_struct work;
	struct socket *sock;
	atomic_t *refusing;
};

static void refuse(struct work_struct *work)
{
	struct refusal *r = container_of(work, struct refusal, work);
	unsigned long end = jiffies + 3 * HZ;
	u8 frame[KVM_FT_WIRE_HS_FRAME];
	struct kvec iov = { .iov_base = frame };
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };

	r->sock->sk->sk_sndtimeo = HZ;
	r->sock->sk->sk_rcvtimeo = HZ;
	iov.iov_len = kvm_ft_wire_hs_refusal(frame, KVM_FT_WIRE_E_BUSY);
	if (kernel_sendmsg(r->sock, &msg, &iov, 1, iov.iov_len) == iov.iov_len) {
		kernel_sock_shutdown(r->sock, SHUT_WR);
		/* Its INIT read, so that our close is no reset; then its FIN. */
		iov.iov_len = sizeof(frame);
		while (time_before(jiffies, end) &&
		       kernel_recvmsg(r->sock, &msg, &iov, 1, iov.iov_len, 0) > 0)
			;
	}
	sock_release(r->sock);
	atomic_dec(r->refusing);
	kfree(r);
}

/* Between two frames of the linked primary, now and then: any other connection? */
static void refuse_others(struct kvm_ft_backup *b)
{
	struct refusal *r;
	struct socket *conn;

	if (time_before(jiffies, b->next_look))
		return;
	b->next_look = jiffies + HZ / 10;
	while (!kernel_accept(b->listen, &conn, O_NONBLOCK)) {
		atomic64_inc(&b->vm->stats.errors[KVM_FT_WIRE_E_BUSY]);
		pr_info_ratelimited("%s: another primary connected while one is linked: refused\n",
				    b->vm->name);
		/* A flood of them is not answered: each would hold a socket for seconds. */
		r = atomic_read(&b->refusing) < BUSY_MAX ? kmalloc(sizeof(*r), GFP_KERNEL) : NULL;
		if (!r) {
			sock_release(conn);
			continue;
		}
		r->sock = conn;
		r->refusing = &b->refusing;
		atomic_inc(&b->refusing);
		INIT_WORK(&r->work, refuse);
		queue_work(b->busy, &r->work);
	}
}

/* Read and act on one frame; a wire error, CLEAN_CLOSE, or OK. */
static int next_frame(struct kvm_ft_backup *b, struct kvm_ft_wire_rx *rx)
{
	struct kvm_ft_wire_msg m;
	u8 hdr[HDR_LEN];
	void *payload;
	int ret, err;

	refuse_others(b);
	ret = kvm_ft_link_recv(&b->link, hdr, HDR_LEN);
	if (ret)
		return recv_error(b, ret, false, rx);
	/* The header alone bounds the payload, before a byte of it is read. */
	err = kvm_ft_wire_decode_hdr(hdr, &m);
	if (err)
		return err;

	payload = b->buf;
	if (m.type == KVM_FT_WIRE_DEVICE) {
		payload = kvmalloc(m.len, GFP_KERNEL_ACCOUNT);
		if (!payload)
			return KVM_FT_WIRE_E_NOMEM;
	}
	ret = m.len ? kvm_ft_link_recv(&b->link, payload, m.len) : 0;
	if (!ret)
		ret = kvm_ft_link_open(&b->link, hdr, payload, m.len);
	if (ret)
		err = recv_error(b, ret, true, rx);
	else
		err = take_frame(b, rx, &m, hdr, payload);
	if (payload != b->buf && payload != b->staged_device)
		kvfree(payload);
	if (!err)
		atomic64_add(HDR_LEN + m.len, &b->vm->stats.bytes_rx);
	return err;
}

/* Stop applying epochs if there is a checkpoint to resume from; true if so. */
static bool freeze(struct kvm_ft_backup *b)
{
	bool ok;

	mutex_lock(&b->apply_lock);
	ok = b->consistent && !b->frozen;
	if (ok)
		b->frozen = true;
	mutex_unlock(&b->apply_lock);
	return ok;
}

/*
 * Take over from the frozen checkpoint: the vCPUs load its state in their
 * own threads on their next KVM_RUN (resume.c); the VM is then ACTIVE, and
 * its VMM gets the device state (device.c).  From the backup thread or a
 * netlink handler.
 */
static void take_over(struct kvm_ft_backup *b)
{
	struct kvm_ft_vm *vm = b->vm;

	kvm_ft_netlink_event(vm, KVM_FT_EV_FAILOVER_BEGIN, b->checkpoint);
	kvm_ft_resume_load(vm->kvm, b->vcpus, b->nr_vcpus);
	kvm_ft_vm_set_state(vm, KVM_FT_STATE_ACTIVE);
	kvm_ft_device_resume(&vm->dev, b->device, b->device_len, b->checkpoint);
	b->device = NULL;		/* the VMM's now */
	pr_info("%s: took over from the primary at epoch %llu\n", vm->name, b->checkpoint);
	kvm_ft_netlink_event(vm, KVM_FT_EV_FAILOVER, b->checkpoint);
}

/* The primary is gone, not done: its link broke rather than we refused it. */
static bool primary_lost(int err)
{
	return err == KVM_FT_WIRE_E_SILENCE || err == KVM_FT_WIRE_E_TRUNCATED ||
	       err == KVM_FT_WIRE_E_IO;
}

/*
 * A primary proved itself (the handshake): whatever checkpoint an earlier
 * one left (it closed cleanly, or was lost with auto_failover off) is not
 * this one's VM, which may have run on unprotected since: taken over, it
 * would resurrect an older state than the clients saw (and a primary lets
 * its output go unheld until its first checkpoint).  Backup thread.
 */
static void linked_to_primary(struct kvm_ft_backup *b)
{
	mutex_lock(&b->apply_lock);
	set_consistent(b, false);
	mutex_unlock(&b->apply_lock);
	kvm_ft_vm_set_state(b->vm, KVM_FT_STATE_RECEIVING);
	kvm_ft_netlink_event(b->vm, KVM_FT_EV_LINKED, 0);
}

/*
 * The primary's INIT, our REPLY (a refusal says why), its CONFIRM (see
 * wire.c), all within kvm_ft_link_handshake_ms(): then its frames are
 * sealed with this connection's keys, or, for a pair set insecure,
 * checksummed.  OK, or why not, as a kind.  Backup thread.
 */
static int shake_hands(struct kvm_ft_backup *b, struct kvm_ft_wire_hs *hs,
		       struct kvm_ft_wire_rx *rx)
{
	u8 *in = b->buf, *out = b->buf + KVM_FT_WIRE_HS_FRAME;
	u32 len;
	int err, status;

	err = kvm_ft_link_hs_begin(hs, b->keyed, b->key, b->vm->name) ?:
	      kvm_ft_link_recv_clear(&b->link, in, KVM_FT_WIRE_HS_FRAME);
	if (err)
		return err;
	status = kvm_ft_wire_hs_reply(hs, in, in + HDR_LEN, out, &len);
	err = kvm_ft_link_send_clear(&b->link, out, len) ?: status ?:
	      kvm_ft_link_recv_clear(&b->link, in, KVM_FT_WIRE_HS_FRAME) ?:
	      kvm_ft_wire_hs_done(hs, in, in + HDR_LEN) ?:
	      kvm_ft_link_secure(&b->link, hs, false);
	if (err)
		return err;
	rx->features = hs->common;
	kvm_ft_vm_set_peer(b->vm, hs->peer);
	return KVM_FT_WIRE_OK;
}

/* Did the connection prove itself a primary of ours?  If not, it changes nothing. */
static bool handshake(struct kvm_ft_backup *b, struct kvm_ft_wire_rx *rx)
{
	struct kvm_ft_wire_hs *hs = kzalloc(sizeof(*hs), GFP_KERNEL);
	int err = hs ? shake_hands(b, hs, rx) : KVM_FT_WIRE_E_NOMEM;

	if (hs)
		kvm_ft_wire_hs_wipe(hs);
	kfree(hs);
	if (!err || READ_ONCE(b->link.stopping))
		return !err;
	/* A connection closed unheard (a primary's connect that gave up) is no refusal. */
	if (err == KVM_FT_WIRE_E_TRUNCATED && !b->link.heard)
		pr_info_ratelimited("%s: a connection closed before its handshake\n", b->vm->name);
	else
		count_error(b->vm, err);
	return false;
}

static void serve(struct kvm_ft_backup *b)
{
	struct kvm_ft_vm *vm = b->vm;
	struct kvm_ft_wire_rx rx = {
		.mem_pages = kvm_ft_vm_mem_bytes(vm) >> PAGE_SHIFT,
		.nr_vcpus = b->nr_vcpus,	/* as at LISTEN, which sized the staging */
		.flags = kvm_ft_device_used(vm) ? KVM_FT_WIRE_HELLO_F_DEVICE : 0,
		.machine = kvm_ft_device_machine(vm),
		.gfn_valid = gfn_valid,
		.ctx = b,	/* each connection is a stream of its own, from epoch 1 */
	};
	int err;

	if (!handshake(b, &rx))
		return;
	kvm_ft_vcpu_bases_reset(&b->bases);
	kvm_ft_device_base_reset(&b->dev_base);
	linked_to_primary(b);
	do {
		err = next_frame(b, &rx);
	} while (err == KVM_FT_WIRE_OK);

	drop_staged(b, NULL);
	if (READ_ONCE(b->link.stopping) || READ_ONCE(b->frozen) || err == VMM_GONE)
		return;		/* stopped, a failover by hand under way, or ending */
	if (err != CLEAN_CLOSE)
		count_error(vm, err);
	kvm_ft_netlink_event(vm, KVM_FT_EV_PEER_LOST, err == CLEAN_CLOSE ? KVM_FT_WIRE_OK : err);
	/* Resume the VM from the checkpoint, and let no second primary in. */
	if (primary_lost(err) && READ_ONCE(kvm_ft_defaults.auto_failover) && freeze(b)) {
		take_over(b);
		kernel_sock_shutdown(b->listen, SHUT_RDWR);
		return;
	}
	if (!READ_ONCE(b->frozen))
		kvm_ft_vm_set_state(vm, KVM_FT_STATE_LISTENING);
}

static int backup_thread(void *arg)
{
	struct kvm_ft_backup *b = arg;
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(b->vm->kvm->mm);
	struct mem_cgroup *old = set_active_memcg(memcg);	/* staging is the VM's */
	struct socket *conn;

	while (!READ_ONCE(b->link.stopping) && !READ_ONCE(b->frozen)) {
		if (kernel_accept(b->listen, &conn, 0)) {
			if (!READ_ONCE(b->link.stopping))
				msleep(100);	/* e.g. out of memory: retry, gently */
			continue;
		}
		if (kvm_ft_link_attach(&b->link, conn))
			serve(b);
		else
			sock_release(conn);
		kvm_ft_link_detach(&b->link);
	}
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return kvm_ft_link_park();
}

static void backup_free(struct kvm_ft_backup *b)
{
	drop_staged(b, NULL);
	xa_destroy(&b->staged);
	kvm_ft_vcpu_bases_free(&b->bases);
	kvm_ft_device_base_free(&b->dev_base);
	kvfree(b->staged_vcpus);
	kvfree(b->vcpus);
	bitmap_free(b->staged_seen);
	kvfree(b->device);
	kvfree(b->buf);
	if (b->busy)
		destroy_workqueue(b->busy);	/* each refusal ends within seconds */
	if (b->listen)
		sock_release(b->listen);
	kfree_sensitive(b);
}

int kvm_ft_backup_start(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr)
{
	const size_t buf_len = sizeof(struct kvm_ft_wire_pages) +
			       KVM_FT_WIRE_MAX_PAGES * (8 + KVM_FT_WIRE_PAGE_SIZE);
	struct kvm_ft_backup *b;
	int ret;

	BUILD_BUG_ON(KVM_FT_WIRE_PAGE_SIZE != PAGE_SIZE);
	BUILD_BUG_ON(buf_len < sizeof(struct kvm_ft_wire_vcpu) + KVM_FT_WIRE_MAX_VCPU_STATE);
	BUILD_BUG_ON(buf_len < 2 * KVM_FT_WIRE_HS_FRAME);
	BUILD_BUG_ON(buf_len < sizeof(struct kvm_ft_wire_device_delta) +
			       KVM_FT_WIRE_DEVICE_DELTA_MAX);
	lockdep_assert_held(&vm->lock);
	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->keyed = vm->keyed;
	memcpy(b->key, vm->key, KVM_FT_KEY_LEN);
	kvm_ft_link_init(&b->link);
	xa_init(&b->staged);
	mutex_init(&b->apply_lock);
	ret = kvm_ft_vm_fix_vcpus(vm);
	if (ret) {
		backup_free(b);
		return ret;
	}
	b->nr_vcpus = kvm_ft_vm_nr_vcpus(vm);
	b->staged_vcpus = kvcalloc(max(b->nr_vcpus, 1U), sizeof(*b->vcpus), GFP_KERNEL_ACCOUNT);
	b->vcpus = kvcalloc(max(b->nr_vcpus, 1U), sizeof(*b->vcpus), GFP_KERNEL_ACCOUNT);
	b->staged_seen = bitmap_zalloc(max(b->nr_vcpus, 1U), GFP_KERNEL_ACCOUNT);
	b->buf = kvmalloc(buf_len, GFP_KERNEL_ACCOUNT);
	b->busy = alloc_ordered_workqueue("kvm_ft_busy/%s", 0, vm->name);
	ret = b->buf && b->staged_vcpus && b->vcpus && b->staged_seen && b->busy ?
	      kvm_ft_vcpu_bases_init(&b->bases, b->nr_vcpus) : -ENOMEM;
	if (!ret)
		ret = kvm_ft_sock_listen(addr, &b->listen);
	if (!ret)
		ret = kvm_ft_resume_hold(vm->kvm, b->nr_vcpus);
	if (ret)
		goto err;
	b->link.thread = kthread_run(backup_thread, b, "kvm_ft_rx/%s", vm->name);
	if (IS_ERR(b->link.thread)) {
		ret = PTR_ERR(b->link.thread);
		kvm_ft_resume_unhold(vm->kvm);
		goto err;
	}
	vm->backup = b;
	kvm_ft_vm_set_state(vm, KVM_FT_STATE_LISTENING);
	pr_info("%s: listening for the primary on %pISpc\n", vm->name, &addr->sa);
	return 0;
err:
	backup_free(b);
	kvm_ft_vm_unfix_vcpus(vm);
	return ret;
}

void kvm_ft_backup_stop(struct kvm_ft_vm *vm)
{
	struct kvm_ft_backup *b = vm->backup;

	lockdep_assert_held(&vm->lock);
	if (!b)
		return;
	kvm_ft_link_stop(&b->link, b->listen);

	vm->backup = NULL;
	backup_free(b);
	kvm_ft_vm_unfix_vcpus(vm);
	if (READ_ONCE(vm->state) != KVM_FT_STATE_ACTIVE) {	/* that VM runs on */
		kvm_ft_resume_unhold(vm->kvm);
		kvm_ft_vm_set_state(vm, KVM_FT_STATE_IDLE);
	}
}

int kvm_ft_backup_failover(struct kvm_ft_vm *vm)
{
	struct kvm_ft_backup *b = vm->backup;

	lockdep_assert_held(&vm->lock);
	if (READ_ONCE(vm->state) == KVM_FT_STATE_ACTIVE)
		return -EALREADY;
	if (!freeze(b))
		return -EAGAIN;
	kvm_ft_link_stop(&b->link, b->listen);
	take_over(b);
	return 0;
}
