// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of VMs under the engine: the VM ioctls by which a VMM
 * registers its VM (under a unique name, as primary or backup) and the hook
 * by which KVM tells the engine that a VM is going away.
 *
 * struct kvm cannot carry a pointer to our state (its definition comes with
 * the kernel's headers), so VMs are found by their struct kvm in a list: a
 * host runs few protected VMs, and no lookup is on a hot path.
 *
 * Lock order of the engine, outermost first; a thread holding one takes
 * only locks below it (Documentation/design.rst, "Threads and locks"):
 *
 *   vm->lock             control of one VM (netlink, device setup, unregister);
 *                        held while its link threads are started and stopped,
 *                        so those threads never take it
 *   RTNL                 a VM's taps (output.c), their notifier
 *   kvm->lock            only to fix the vCPU count (kvm_ft_vm_fix_vcpus())
 *   p->epoch_lock        a primary's epoch, snapshot to sent (sender thread)
 *   b->apply_lock        a backup's epoch applied, or its checkpoint frozen
 *   vcpu->mutex          only by mutex_trylock(), while holding vCPUs
 *   d->lock              the VMM's device state (device.c)
 *   kvm->slots_lock      the dirty harvest; KVM's memslot changes
 *   kvm->srcu            read side, for every walk of the memslots
 *   link->lock, link->send_lock    a link's socket, its frames (each sealed
 *                        under send_lock: its counter is the nonce)
 *   kvm->mmu_lock        write side, a memslot's dirty bits at a time
 *   e->lock, c->lock     spinlocks of the engine, of its copies after resume
 *   r->lock, out->lock   (cow.c), of a backup's vCPUs, of a VM's held output
 *   vm->info_lock        (taken in softirq too), and of its peer's name and
 *                        link address, innermost, never held across a sleep
 *
 * kvm_ft_vms_lock, the registry's, is taken with none of these held and
 * takes none of them but kvm->srcu and vm->info_lock: it is held only to
 * read or change the list, never across a wait.
 */
#include <linux/ctype.h>
#include <linux/kvm_host.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "backup.h"
#include "dirty.h"
#include "kvm_ft.h"
#include "primary.h"
#include "resume.h"
#include "sysfs.h"
#include "transfer.h"
#include "vm.h"
#include "wire.h"

LIST_HEAD(kvm_ft_vms);
DEFINE_MUTEX(kvm_ft_vms_lock);
unsigned int kvm_ft_vms_gen;		/* under kvm_ft_vms_lock */

/* Under kvm_ft_vms_lock, or under RCU (then pinned with its ref). */
static struct kvm_ft_vm *find_by_kvm(struct kvm *kvm)
{
	struct kvm_ft_vm *vm;

	list_for_each_entry_rcu(vm, &kvm_ft_vms, node, lockdep_is_held(&kvm_ft_vms_lock))
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

struct kvm_ft_vm *kvm_ft_vm_find(const char *name)
{
	struct kvm_ft_vm *vm;

	lockdep_assert_held(&kvm_ft_vms_lock);
	list_for_each_entry(vm, &kvm_ft_vms, node)
		if (!strcmp(vm->name, name))
			return vm;
	return NULL;
}

static void vm_free(struct kref *ref);

/* Lock a VM found with a reference; NULL (and the reference put) if gone. */
static struct kvm_ft_vm *lock_held_vm(struct kvm_ft_vm *vm)
{
	might_sleep();
	mutex_lock(&vm->lock);
	if (!vm->gone)
		return vm;
	mutex_unlock(&vm->lock);
	kref_put(&vm->ref, vm_free);
	return NULL;
}

/* Netlink handlers, in the caller's context. */
struct kvm_ft_vm *kvm_ft_vm_get_locked(const char *name)
{
	struct kvm_ft_vm *vm;

	mutex_lock(&kvm_ft_vms_lock);
	vm = kvm_ft_vm_find(name);
	if (vm)
		kref_get(&vm->ref);
	mutex_unlock(&kvm_ft_vms_lock);
	return vm ? lock_held_vm(vm) : NULL;
}

void kvm_ft_vm_unlock_put(struct kvm_ft_vm *vm)
{
	mutex_unlock(&vm->lock);
	kref_put(&vm->ref, vm_free);
}

void kvm_ft_vm_set_state(struct kvm_ft_vm *vm, u32 state)
{
	u32 old = READ_ONCE(vm->state);

	if (old == state)
		return;
	WRITE_ONCE(vm->state, state);
	pr_debug("%s: state %u -> %u\n", vm->name, old, state);
	if (state == KVM_FT_STATE_CONNECTED || state == KVM_FT_STATE_RECEIVING)
		atomic64_set(&vm->stats.link_up_at, ktime_get_boottime_ns());
	else
		atomic64_set(&vm->stats.link_up_at, 0);
}

/* From the link thread that took @epoch's acknowledgement or applied it. */
void kvm_ft_vm_committed(struct kvm_ft_vm *vm, u64 epoch)
{
	atomic64_inc(&vm->stats.epochs);
	atomic64_set(&vm->stats.last_epoch, epoch);
	atomic64_set(&vm->stats.commit_at, ktime_get_boottime_ns());
}

void kvm_ft_vm_set_peer(struct kvm_ft_vm *vm, const char *name)
{
	spin_lock(&vm->info_lock);
	strscpy(vm->peer, name, sizeof(vm->peer));
	spin_unlock(&vm->info_lock);
}

void kvm_ft_vm_set_link_addr(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr)
{
	lockdep_assert_held(&vm->lock);
	spin_lock(&vm->info_lock);
	vm->link_addr = *addr;
	spin_unlock(&vm->info_lock);
}

void kvm_ft_vm_get_info(struct kvm_ft_vm *vm, char *name, union kvm_ft_addr *addr)
{
	spin_lock(&vm->info_lock);
	if (name)
		memcpy(name, vm->peer, sizeof(vm->peer));
	if (addr)
		*addr = vm->link_addr;
	spin_unlock(&vm->info_lock);
}

/* Guest memory the VMM gave the VM: user memslots of address space 0. */
u64 kvm_ft_vm_mem_bytes(struct kvm_ft_vm *vm)
{
	struct kvm *kvm = vm->kvm;
	struct kvm_memory_slot *slot;
	struct kvm_memslots *slots;
	u64 pages = 0;
	int idx, bkt;

	idx = srcu_read_lock(&kvm->srcu);
	slots = kvm_memslots(kvm);
	kvm_for_each_memslot(slot, bkt, slots)
		if (slot->id < KVM_USER_MEM_SLOTS)
			pages += slot->npages;
	srcu_read_unlock(&kvm->srcu, idx);
	return pages << PAGE_SHIFT;
}

u32 kvm_ft_vm_nr_vcpus(struct kvm_ft_vm *vm)
{
	return atomic_read(&vm->kvm->online_vcpus);
}

/*
 * kvm->lock is the lock under which KVM_CREATE_VCPU counts a vCPU it
 * begins to create (created_vcpus) and one it has made (online_vcpus), and
 * under which it asks kvm_ft_vcpu_precreate(): a count fixed here is the
 * count of every vCPU there will be until the unfix.
 */
int kvm_ft_vm_fix_vcpus(struct kvm_ft_vm *vm)
{
	struct kvm *kvm = vm->kvm;
	int ret = 0;

	lockdep_assert_held(&vm->lock);
	mutex_lock(&kvm->lock);
	if (kvm->created_vcpus != atomic_read(&kvm->online_vcpus))
		ret = -EBUSY;
	else
		vm->vcpus_fixed++;
	mutex_unlock(&kvm->lock);
	return ret;
}

void kvm_ft_vm_unfix_vcpus(struct kvm_ft_vm *vm)
{
	lockdep_assert_held(&vm->lock);
	mutex_lock(&vm->kvm->lock);
	if (!WARN_ON_ONCE(!vm->vcpus_fixed))
		vm->vcpus_fixed--;
	mutex_unlock(&vm->kvm->lock);
}

/* KVM_CREATE_VCPU's, in its caller's context, under kvm->lock. */
int kvm_ft_vcpu_precreate(struct kvm *kvm)
{
	struct kvm_ft_vm *vm;
	int ret;

	lockdep_assert_held(&kvm->lock);
	rcu_read_lock();
	vm = find_by_kvm(kvm);
	ret = vm && vm->vcpus_fixed ? -EBUSY : 0;
	rcu_read_unlock();
	return ret;
}

void kvm_ft_vm_stop(struct kvm_ft_vm *vm, bool crash)
{
	lockdep_assert_held(&vm->lock);
	might_sleep();
	/* What a dead VM held is not to go out: its backup resumes before it. */
	if (crash)
		kvm_ft_output_drop(vm);
	kvm_ft_backup_stop(vm);
	kvm_ft_primary_stop(vm, crash);
}

/* 1 to KVM_FT_NAME_LEN - 1 characters of [A-Za-z0-9._-], NUL-terminated. */
static bool name_valid(const char *name)
{
	size_t len = strnlen(name, KVM_FT_NAME_LEN);
	size_t i;

	if (!len || len == KVM_FT_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static bool register_valid(const struct kvm_ft_register *r)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(r->reserved); i++)
		if (r->reserved[i])
			return false;
	return name_valid(r->name) && !(r->flags & ~KVM_FT_F_ALL) &&
	       (r->role == KVM_FT_ROLE_PRIMARY || r->role == KVM_FT_ROLE_BACKUP);
}

static int vm_register(struct kvm *kvm, void __user *argp)
{
	struct kvm_ft_register r;
	struct kvm_ft_vm *vm;
	int ret = 0;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (!register_valid(&r))
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	spin_lock_init(&vm->info_lock);
	vm->kvm = kvm;
	strscpy(vm->name, r.name, sizeof(vm->name));
	vm->role = r.role;
	vm->flags = r.flags;
	vm->state = KVM_FT_STATE_IDLE;
	vm->epoch_us = READ_ONCE(kvm_ft_defaults.epoch_us);
	vm->vmm_pid = task_tgid_nr(current);
	vm->owner = current_euid();
	kvm_ft_device_init(&vm->dev);
	kvm_ft_output_init(&vm->out);

	mutex_lock(&kvm_ft_vms_lock);
	if (find_by_kvm(kvm))
		ret = -EBUSY;
	else if (kvm_ft_vm_find(vm->name))
		ret = -EEXIST;
	else
		list_add_tail_rcu(&vm->node, &kvm_ft_vms);
	if (!ret)
		kvm_ft_vms_gen++;
	mutex_unlock(&kvm_ft_vms_lock);

	if (ret) {
		kfree(vm);
		return ret;
	}
	pr_info("%s: registered as %s by pid %d, uid %u\n", vm->name,
		vm->role == KVM_FT_ROLE_PRIMARY ? "primary" : "backup", vm->vmm_pid,
		from_kuid(&init_user_ns, vm->owner));
	return 0;
}

static void vm_free(struct kref *ref)
{
	struct kvm_ft_vm *vm = container_of(ref, struct kvm_ft_vm, ref);

	kvm_ft_device_free(&vm->dev);
	memzero_explicit(vm->key, sizeof(vm->key));
	kfree_rcu(vm, rcu);
}

bool kvm_ft_vm_tryget(struct kvm_ft_vm *vm)
{
	return kref_get_unless_zero(&vm->ref);
}

void kvm_ft_vm_put(struct kvm_ft_vm *vm)
{
	kref_put(&vm->ref, vm_free);
}

/*
 * Take @kvm's VM out of the registry; false if it was not in it.  @crash:
 * the VM is destroyed while still registered, i.e. its VMM died.  From the
 * VMM's ioctl, or from VM destruction: a netlink action that found the VM
 * first ends before (vm->lock), one that finds it after sees it gone.
 */
static bool vm_unregister(struct kvm *kvm, bool crash)
{
	struct kvm_ft_vm *vm;

	mutex_lock(&kvm_ft_vms_lock);
	vm = find_by_kvm(kvm);
	if (vm) {
		list_del_rcu(&vm->node);
		kvm_ft_vms_gen++;
	}
	mutex_unlock(&kvm_ft_vms_lock);

	if (!vm)
		return false;
	mutex_lock(&vm->lock);
	vm->gone = true;
	kvm_ft_vm_stop(vm, crash);
	kvm_ft_output_free(vm);
	mutex_unlock(&vm->lock);
	pr_info("%s: unregistered\n", vm->name);
	kref_put(&vm->ref, vm_free);	/* an ioctl or netlink may still hold it */
	return true;
}

/* Is [gfn, gfn + n) all in user memslots?  Caller holds kvm->srcu. */
static bool range_in_memslots(struct kvm *kvm, gfn_t gfn, u64 n)
{
	RCU_LOCKDEP_WARN(!srcu_read_lock_held(&kvm->srcu), "memslots without kvm->srcu");
	while (n) {
		struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);
		u64 left;

		if (!slot || slot->id >= KVM_USER_MEM_SLOTS)
			return false;
		left = min(n, slot->base_gfn + slot->npages - gfn);
		gfn += left;
		n -= left;
	}
	return true;
}

/* Fold [gpa, gpa + size) into *@crc, through @page; caller holds kvm->srcu. */
static int crc_range(struct kvm *kvm, u64 gpa, u64 size, void *page, u32 *crc,
		     struct kvm_ft_link *link)
{
	u64 off;
	int ret;

	for (off = 0; off < size; off += PAGE_SIZE) {
		ret = kvm_read_guest(kvm, gpa + off, page, PAGE_SIZE);
		if (ret)
			return ret;
		*crc = kvm_ft_crc32c(*crc, page, PAGE_SIZE);
		/* All of memory takes a while: stay alive to the peer. */
		if (link && !((off >> PAGE_SHIFT) % 1024))
			kvm_ft_link_beat(link);
		cond_resched();
	}
	return 0;
}

/*
 * In guest-physical order, so that two VMs whose memslots split the same
 * memory differently (QEMU's aliases) fold it alike.
 */
int kvm_ft_vm_mem_crc(struct kvm *kvm, u32 *out, struct kvm_ft_link *link)
{
	struct kvm_memslot_iter iter;
	struct kvm_memory_slot *slot;
	u32 crc = ~0U;
	int idx, ret = 0;
	void *page;

	page = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!page)
		return -ENOMEM;
	if (!mmget_not_zero(kvm->mm)) {
		free_page((unsigned long)page);
		return -ESRCH;
	}
	kthread_use_mm(kvm->mm);
	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot_in_gfn_range(&iter, kvm_memslots(kvm), 0, ~0ULL) {
		slot = iter.slot;
		if (slot->id < KVM_USER_MEM_SLOTS)
			ret = crc_range(kvm, gfn_to_gpa(slot->base_gfn),
					slot->npages << PAGE_SHIFT, page, &crc, link);
		if (ret)
			break;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	kthread_unuse_mm(kvm->mm);
	mmput(kvm->mm);
	free_page((unsigned long)page);
	*out = ~crc;
	return ret;
}

/* KVM_FT_CHECKSUM: read through the VMM's mappings, a page at a time. */
static int vm_checksum(struct kvm *kvm, void __user *argp)
{
	struct kvm_ft_checksum c;
	u32 crc = ~0U;
	void *page;
	int idx, ret = 0;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.reserved || !c.size || !PAGE_ALIGNED(c.gpa) || !PAGE_ALIGNED(c.size) ||
	    c.gpa + c.size < c.gpa)
		return -EINVAL;
	page = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!page)
		return -ENOMEM;

	idx = srcu_read_lock(&kvm->srcu);
	if (!range_in_memslots(kvm, gpa_to_gfn(c.gpa), c.size >> PAGE_SHIFT))
		ret = -EINVAL;
	else
		ret = crc_range(kvm, c.gpa, c.size, page, &crc, NULL);
	srcu_read_unlock(&kvm->srcu, idx);
	free_page((unsigned long)page);
	if (ret)
		return ret;

	c.crc = ~crc;
	return copy_to_user(argp, &c, sizeof(c)) ? -EFAULT : 0;
}

/*
 * An ioctl on @kvm's VM under its lock: the device setup (set while no
 * link may start: the link reads what it sets), a tap given (let go of
 * at unregistration).
 */
static int vm_locked(struct kvm *kvm, int (*op)(struct kvm_ft_vm *, void __user *),
		     void __user *argp)
{
	struct kvm_ft_vm *vm;
	int ret;

	mutex_lock(&kvm_ft_vms_lock);
	vm = find_by_kvm(kvm);
	if (vm)
		kref_get(&vm->ref);
	mutex_unlock(&kvm_ft_vms_lock);
	if (!vm || !lock_held_vm(vm))
		return -ENOENT;
	ret = op(vm, argp);
	kvm_ft_vm_unlock_put(vm);
	return ret;
}

/*
 * A PUT or GET on @kvm's VM, found under RCU and held by a reference, not
 * under a lock: a PUT waits for its VM's snapshot to end, which holds
 * p->epoch_lock, and a stop under vm->lock waits for that epoch.
 */
static int vm_device(struct kvm *kvm, int (*op)(struct kvm_ft_vm *, void __user *),
		     void __user *argp)
{
	struct kvm_ft_vm *vm;
	int ret;

	rcu_read_lock();
	vm = find_by_kvm(kvm);
	if (vm && !kref_get_unless_zero(&vm->ref))
		vm = NULL;			/* being unregistered */
	rcu_read_unlock();
	if (!vm)
		return -ENOENT;
	ret = op(vm, argp);
	kref_put(&vm->ref, vm_free);
	return ret;
}

/*
 * KVM_FT_MARK_DIRTY: any VM; its next harvest takes the pages.  Made
 * before the VMM writes them, it also has those the epoch just taken
 * still has to copy copied first (cow.c).
 */
static int vm_mark_dirty(struct kvm *kvm, void __user *argp)
{
	struct kvm_ft_range r;
	u64 gfn;
	int ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	ret = kvm_ft_dirty_mark(kvm, r.gpa, r.size);
	if (ret || !r.size || !atomic_read(&kvm_ft_cow_armed))
		return ret;	/* no copies pending anywhere: none to make first */
	/* A valid range: within memslots, so the loop is bounded by them. */
	for (gfn = r.gpa >> PAGE_SHIFT; gfn <= (r.gpa + r.size - 1) >> PAGE_SHIFT; gfn++) {
		kvm_ft_cow(kvm, gfn);
		if (!(gfn % 1024))
			cond_resched();
	}
	return 0;
}

long kvm_ft_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_FT_DEVICE_PUT:
		return vm_device(kvm, kvm_ft_device_put, argp);
	case KVM_FT_DEVICE_GET:
		return vm_device(kvm, kvm_ft_device_get, argp);
	case KVM_FT_DEVICE_SETUP:
		return vm_locked(kvm, kvm_ft_device_setup, argp);
	case KVM_FT_CHECKSUM:
		return vm_checksum(kvm, argp);
	case KVM_FT_MARK_DIRTY:
		return vm_mark_dirty(kvm, argp);
	case KVM_FT_OUTPUT_DEV:
		return vm_locked(kvm, kvm_ft_output_add_dev, argp);
	case KVM_FT_REGISTER:
		return vm_register(kvm, argp);
	case KVM_FT_UNREGISTER:
		return vm_unregister(kvm, false) ? 0 : -ENOENT;
	}
	return -ENOTTY;
}

void kvm_ft_vm_destroy(struct kvm *kvm)
{
	vm_unregister(kvm, true);
	kvm_ft_resume_destroy(kvm);
}
