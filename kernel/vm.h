/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_VM_H
#define KVM_FT_VM_H

#include <linux/kref.h>
#include <linux/kvm_ft.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "device.h"
#include "output.h"
#include "transfer.h"

struct kvm;
struct kvm_ft_backup;
struct kvm_ft_link;
struct kvm_ft_primary;

/*
 * What the engine counts per VM: every row of KVM_FT_STATS() (uapi: its
 * unit and meaning), and beside them what is not one number.  Written
 * by the link threads, the epoch thread and output's hooks; read
 * without locks by netlink (a snapshot).
 */
struct kvm_ft_stats {
#define KVM_FT_STAT_FIELD(NAME, name, unit, kind, side, what) atomic64_t name;
	KVM_FT_STATS(KVM_FT_STAT_FIELD)
#undef KVM_FT_STAT_FIELD
	atomic64_t errors[KVM_FT_WIRE_E_MAX];	/* refusals, by kind */
	atomic64_t pause_hist[KVM_FT_HIST_BUCKETS];
	atomic64_t out_hold_hist[KVM_FT_HIST_BUCKETS];
	atomic64_t epoch_hist[KVM_FT_HIST_BUCKETS];	/* from snapshot to snapshot */
	/* Boot-time ns (ktime_get_boottime_ns()), 0 for never or down. */
	atomic64_t commit_at;		/* the last epoch committed */
	atomic64_t link_up_at;		/* the link to the peer came up */
};

/* A VM registered with the engine by its VMM (KVM_FT_REGISTER). */
struct kvm_ft_vm {
	struct list_head node;		/* in kvm_ft_vms, under kvm_ft_vms_lock */
	struct kref ref;		/* the registry's, a netlink action's, an ioctl's */
	struct rcu_head rcu;		/* a device ioctl may be looking it up */
	/*
	 * Control of this VM: netlink actions (listen, pair, start, stop,
	 * failover, set), device setup, and its unregistration, which sets
	 * @gone.  Held across link starts and stops: those wait on the
	 * network and on threads, and hold up only this VM.
	 */
	struct mutex lock;
	bool gone;			/* unregistered: under @lock */
	struct kvm *kvm;
	char name[KVM_FT_NAME_LEN];
	u32 role;			/* enum kvm_ft_role */
	u32 flags;			/* KVM_FT_F_* */
	u32 state;			/* enum kvm_ft_state: kvm_ft_vm_set_state() */
	u32 epoch_us;
	pid_t vmm_pid;
	kuid_t owner;			/* who registered it (effective uid) */
	u32 vcpus_fixed;		/* pairs and listens under way: under kvm->lock */
	struct kvm_ft_backup *backup;	/* while listening (backup role) */
	struct kvm_ft_primary *primary;	/* while paired (primary role) */
	struct kvm_ft_stats stats;
	struct kvm_ft_device dev;	/* the VMM's device state */
	struct kvm_ft_output out;	/* its network output, held */
	unsigned long commit_event_at;	/* jiffies: no COMMITTED event before */
	/* Where the last LISTEN or PAIR went (AF_UNSPEC: never), for START. */
	union kvm_ft_addr link_addr;	/* under @lock and @info_lock */
	/*
	 * The pair's secret (set by netlink under @lock; a link copies it
	 * when it starts), or @insecure: the administrator said so.  Never
	 * both; neither: the VM cannot be linked.
	 */
	bool keyed, insecure;
	u8 key[KVM_FT_KEY_LEN];
	/* @link_addr and @peer, for netlink to read without @lock. */
	spinlock_t info_lock;
	char peer[KVM_FT_NAME_LEN];	/* the peer VM's name: kvm_ft_vm_set_peer() */
};

/*
 * Every registered VM.  The lock is held while the list is read (a VM
 * found, the VMs dumped) or changed, and never across a wait: who acts on
 * a VM takes a reference under it, then the VM's own lock (see vm.c for
 * the lock order).  Its VMM's device PUT and GET find it under RCU.
 */
extern struct list_head kvm_ft_vms;
extern struct mutex kvm_ft_vms_lock;
/* Changes with every change of the list: netlink dumps check it. */
extern unsigned int kvm_ft_vms_gen;

struct kvm_ft_vm *kvm_ft_vm_find(const char *name);
/*
 * The VM named @name with a reference and its lock held, or NULL if none
 * (or it is being unregistered).  Release with kvm_ft_vm_unlock_put().
 */
struct kvm_ft_vm *kvm_ft_vm_get_locked(const char *name);
void kvm_ft_vm_unlock_put(struct kvm_ft_vm *vm);
/* A reference on @vm, found under RCU; false if it is being freed. */
bool kvm_ft_vm_tryget(struct kvm_ft_vm *vm);
void kvm_ft_vm_put(struct kvm_ft_vm *vm);
/*
 * The one place vm->state changes.  From the VM's link threads (backup,
 * sender, link) and from netlink handlers under vm->lock; readers use
 * READ_ONCE() and take no lock: a state read is a snapshot.
 */
void kvm_ft_vm_set_state(struct kvm_ft_vm *vm, u32 state);
/* Epoch @epoch is committed: acknowledged (primary) or applied (backup). */
void kvm_ft_vm_committed(struct kvm_ft_vm *vm, u64 epoch);
/* The peer VM's name, as its last handshake said; from the link threads. */
void kvm_ft_vm_set_peer(struct kvm_ft_vm *vm, const char *name);
/*
 * A copy of it (empty: no handshake yet) and of the VM's link address, for
 * netlink; either may be NULL.
 */
void kvm_ft_vm_get_info(struct kvm_ft_vm *vm, char *name, union kvm_ft_addr *addr);
/* Where the VM's links go now: a netlink handler's, under vm->lock. */
void kvm_ft_vm_set_link_addr(struct kvm_ft_vm *vm, const union kvm_ft_addr *addr);
u64 kvm_ft_vm_mem_bytes(struct kvm_ft_vm *vm);
u32 kvm_ft_vm_nr_vcpus(struct kvm_ft_vm *vm);
/*
 * A pair or a listen sizes everything by the VM's vCPU count: from
 * kvm_ft_vm_fix_vcpus() to the matching kvm_ft_vm_unfix_vcpus(),
 * KVM_CREATE_VCPU fails with EBUSY (kernel/patches/0007).  The fix fails
 * with -EBUSY while a vCPU is being created.  Under vm->lock.
 */
int kvm_ft_vm_fix_vcpus(struct kvm_ft_vm *vm);
void kvm_ft_vm_unfix_vcpus(struct kvm_ft_vm *vm);
/*
 * CRC-32C of all guest memory (user memslots by id, each in page order),
 * from a kernel thread: the checksum of a VERIFY frame.  Heartbeats go on
 * @link meanwhile, if not NULL.
 */
int kvm_ft_vm_mem_crc(struct kvm *kvm, u32 *crc, struct kvm_ft_link *link);
/*
 * Stop whatever link the VM has: it is idle afterwards.  @crash: the VM is
 * being destroyed without having been unregistered (its VMM died).
 */
void kvm_ft_vm_stop(struct kvm_ft_vm *vm, bool crash);

#endif /* KVM_FT_VM_H */
