// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kvm_ft": what administrators (ftnl) use.  The
 * commands and attributes are documented in uapi/linux/kvm_ft.h.  Every
 * command needs CAP_NET_ADMIN; the family lives in the initial network
 * namespace only, since the VMs it shows are not per namespace.
 */
#include <net/addrconf.h>
#include <net/genetlink.h>
#include <linux/kvm_ft.h>

#include "backup.h"
#include "netlink.h"
#include "primary.h"
#include "resume.h"
#include "seal.h"
#include "vm.h"

static struct genl_family family;

static struct netlink_range_validation epoch_us_range = {
	.min = KVM_FT_EPOCH_US_MIN,
	.max = KVM_FT_EPOCH_US_MAX,
};

/*
 * Each command's attributes, and only those: the core refuses any other
 * (strict validation: NLA_UNSPEC entries) and says which in the extended
 * ack.  Every policy spans all attributes, so that info->attrs does too:
 * a handler may look at any (start_link() reads KEY for PAIR and START).
 */
#define NAME_POLICY \
	[KVM_FT_A_VM_NAME] = { .type = NLA_NUL_STRING, .len = KVM_FT_NAME_LEN - 1 }
#define KEYING_POLICY \
	[KVM_FT_A_KEY] = NLA_POLICY_EXACT_LEN(KVM_FT_KEY_LEN), \
	[KVM_FT_A_INSECURE] = { .type = NLA_FLAG }

static const struct nla_policy name_policy[KVM_FT_A_MAX + 1] = {
	NAME_POLICY,
};

static const struct nla_policy set_policy[KVM_FT_A_MAX + 1] = {
	NAME_POLICY,
	KEYING_POLICY,
	[KVM_FT_A_VM_EPOCH_US] = NLA_POLICY_FULL_RANGE(NLA_U32, &epoch_us_range),
};

static const struct nla_policy link_policy[KVM_FT_A_MAX + 1] = {
	NAME_POLICY,
	KEYING_POLICY,
	[KVM_FT_A_ADDR]	= { .type = NLA_BE32 },
	[KVM_FT_A_ADDR6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[KVM_FT_A_PORT]	= NLA_POLICY_MIN(NLA_U16, 1),
	[KVM_FT_A_VM_OWNER_UID] = { .type = NLA_U32 },
};

/* Every row of KVM_FT_STATS(), in its order, as VM_STATS. */
static int put_stats(struct sk_buff *skb, struct kvm_ft_stats *st)
{
	struct nlattr *nest = nla_nest_start(skb, KVM_FT_A_VM_STATS);

	if (!nest)
		return -EMSGSIZE;
#define KVM_FT_STAT_PUT(NAME, name, unit, kind, side, what)			\
	if (nla_put_u64_64bit(skb, KVM_FT_STAT_##NAME, atomic64_read(&st->name),	\
			      KVM_FT_STAT_PAD))						\
		return -EMSGSIZE;
	KVM_FT_STATS(KVM_FT_STAT_PUT)
#undef KVM_FT_STAT_PUT
	nla_nest_end(skb, nest);
	return 0;
}

/* One VM_ERROR per kind of refusal, counted or not: scripts see them all. */
static int put_errors(struct sk_buff *skb, struct kvm_ft_stats *st)
{
	struct nlattr *nest;
	int i;

	for (i = KVM_FT_WIRE_OK + 1; i < KVM_FT_WIRE_E_MAX; i++) {
		nest = nla_nest_start(skb, KVM_FT_A_VM_ERROR);
		if (!nest || nla_put_u32(skb, KVM_FT_ERROR_A_KIND, i) ||
		    nla_put_u64_64bit(skb, KVM_FT_ERROR_A_COUNT, atomic64_read(&st->errors[i]),
				      KVM_FT_ERROR_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	return 0;
}

static int put_hist(struct sk_buff *skb, int attr, atomic64_t *hist)
{
	struct nlattr *nest = nla_nest_start(skb, attr);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < KVM_FT_HIST_BUCKETS; i++)
		if (nla_put_u64_64bit(skb, KVM_FT_HIST_A_BUCKET, atomic64_read(&hist[i]),
				      KVM_FT_HIST_A_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The taps the VM's output is held on. */
static int put_out_devs(struct sk_buff *skb, struct kvm_ft_vm *vm)
{
	int i;

	for (i = 0; i < KVM_FT_OUTPUT_DEVS; i++) {
		int ifindex = READ_ONCE(vm->out.devs[i].ifindex);

		if (ifindex && nla_put_u32(skb, KVM_FT_A_VM_OUT_DEV, ifindex))
			return -EMSGSIZE;
	}
	return 0;
}

/* Milliseconds since @at (boot-time ns), as @attr; nothing if @at is 0. */
static int put_age(struct sk_buff *skb, int attr, atomic64_t *at)
{
	u64 then = atomic64_read(at), now = ktime_get_boottime_ns();

	if (!then)
		return 0;
	return nla_put_u64_64bit(skb, attr, div_u64(now > then ? now - then : 0, NSEC_PER_MSEC),
				 KVM_FT_A_PAD);
}

static int put_counts(struct sk_buff *skb, struct kvm_ft_vm *vm)
{
	struct kvm_ft_stats *st = &vm->stats;

	return put_stats(skb, st) ?: put_errors(skb, st) ?:
	       put_hist(skb, KVM_FT_A_VM_PAUSE_HIST, st->pause_hist) ?:
	       put_hist(skb, KVM_FT_A_VM_OUT_HOLD_HIST, st->out_hold_hist) ?:
	       put_hist(skb, KVM_FT_A_VM_EPOCH_HIST, st->epoch_hist) ?:
	       put_out_devs(skb, vm) ?:
	       put_age(skb, KVM_FT_A_VM_COMMIT_AGE_MS, &st->commit_at) ?:
	       put_age(skb, KVM_FT_A_VM_LINK_AGE_MS, &st->link_up_at);
}

/*
 * How the VM's link is keyed, never the key: its fingerprint, or that the
 * administrator said insecure; and the peer VM the last handshake named.
 * Racy against a SET (vm->lock is not held): a snapshot, like the rest.
 */
static int put_keying(struct sk_buff *skb, struct kvm_ft_vm *vm)
{
	char peer[KVM_FT_NAME_LEN];

	kvm_ft_vm_get_info(vm, peer, NULL);
	if ((READ_ONCE(vm->keyed) && nla_put_u32(skb, KVM_FT_A_KEY_FPR, kvm_ft_key_fpr(vm->key))) ||
	    (READ_ONCE(vm->insecure) && nla_put_flag(skb, KVM_FT_A_INSECURE)) ||
	    (peer[0] && nla_put_string(skb, KVM_FT_A_PEER_NAME, peer)))
		return -EMSGSIZE;
	return 0;
}

/* Where the VM's last LISTEN or PAIR went, if it did. */
static int put_link_addr(struct sk_buff *skb, struct kvm_ft_vm *vm)
{
	union kvm_ft_addr a;

	kvm_ft_vm_get_info(vm, NULL, &a);
	switch (a.sa.sa_family) {
	case AF_INET:
		return nla_put_be32(skb, KVM_FT_A_ADDR, a.v4.sin_addr.s_addr) ?:
		       nla_put_u16(skb, KVM_FT_A_PORT, ntohs(a.v4.sin_port));
	case AF_INET6:
		return nla_put_in6_addr(skb, KVM_FT_A_ADDR6, &a.v6.sin6_addr) ?:
		       nla_put_u16(skb, KVM_FT_A_PORT, ntohs(a.v6.sin6_port));
	}
	return 0;
}

/* One VM's GET_VM message; @cb: a part of a dump, NULL for a doit's reply. */
static int put_vm(struct sk_buff *skb, struct kvm_ft_vm *vm, struct netlink_callback *cb,
		  u32 portid, u32 seq, int flags)
{
	void *hdr = genlmsg_put(skb, portid, seq, &family, flags, KVM_FT_CMD_GET_VM);

	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (nla_put_string(skb, KVM_FT_A_VM_NAME, vm->name) ||
	    nla_put_u32(skb, KVM_FT_A_VM_ROLE, vm->role) ||
	    nla_put_u32(skb, KVM_FT_A_VM_STATE, READ_ONCE(vm->state)) ||
	    nla_put_u32(skb, KVM_FT_A_VM_EPOCH_US, vm->epoch_us) ||
	    nla_put_u32(skb, KVM_FT_A_VM_NR_VCPUS, kvm_ft_vm_nr_vcpus(vm)) ||
	    nla_put_u64_64bit(skb, KVM_FT_A_VM_MEM_BYTES, kvm_ft_vm_mem_bytes(vm),
			      KVM_FT_A_PAD) ||
	    nla_put_u32(skb, KVM_FT_A_VM_VMM_PID, vm->vmm_pid) ||
	    nla_put_u32(skb, KVM_FT_A_VM_OWNER_UID, from_kuid(&init_user_ns, vm->owner)) ||
	    put_link_addr(skb, vm) || put_keying(skb, vm) || put_counts(skb, vm)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static struct kvm_ft_vm *no_such_vm(struct genl_info *info)
{
	NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KVM_FT_A_VM_NAME], "no VM of that name");
	return ERR_PTR(-ENOENT);
}

/*
 * The VM named by the request, with kvm_ft_vms_lock held: ERR_PTR(-EINVAL)
 * if the request names none, ERR_PTR(-ENOENT) if no VM has the name.
 */
static struct kvm_ft_vm *lookup(struct genl_info *info)
{
	struct kvm_ft_vm *vm;

	lockdep_assert_held(&kvm_ft_vms_lock);
	if (GENL_REQ_ATTR_CHECK(info, KVM_FT_A_VM_NAME))
		return ERR_PTR(-EINVAL);
	vm = kvm_ft_vm_find(nla_data(info->attrs[KVM_FT_A_VM_NAME]));
	return vm ?: no_such_vm(info);
}

static int get_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct kvm_ft_vm *vm;
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&kvm_ft_vms_lock);
	vm = lookup(info);
	ret = IS_ERR(vm) ? PTR_ERR(vm) : put_vm(msg, vm, NULL, info->snd_portid, info->snd_seq, 0);
	mutex_unlock(&kvm_ft_vms_lock);

	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/*
 * cb->args[0]: how many VMs earlier parts of the dump have sent.  A VM
 * registered or unregistered between two parts shifts the list under
 * that count: the part after says so (NLM_F_DUMP_INTR), and ftnl asks
 * again.
 */
static int get_vm_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kvm_ft_vm *vm;
	long i = 0;

	mutex_lock(&kvm_ft_vms_lock);
	cb->seq = kvm_ft_vms_gen << 1 | 1;	/* 0 would mean "not checked" */
	list_for_each_entry(vm, &kvm_ft_vms, node) {
		if (i++ < cb->args[0])
			continue;
		if (put_vm(skb, vm, cb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   NLM_F_MULTI)) {
			/* A VM that fits no empty part would end the dump early, unsaid. */
			WARN_ON_ONCE(!skb->len);
			break;
		}
		cb->args[0] = i;
	}
	mutex_unlock(&kvm_ft_vms_lock);
	return skb->len;
}

/*
 * Do @act to the VM the request names, under that VM's lock only: an act
 * may wait for the network or for threads, which holds up no other VM.
 */
static int act_on_vm(struct genl_info *info,
		     int (*act)(struct kvm_ft_vm *vm, struct genl_info *info))
{
	struct kvm_ft_vm *vm;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KVM_FT_A_VM_NAME))
		return -EINVAL;
	vm = kvm_ft_vm_get_locked(nla_data(info->attrs[KVM_FT_A_VM_NAME]));
	if (!vm)
		return PTR_ERR(no_such_vm(info));
	ret = act(vm, info);
	kvm_ft_vm_unlock_put(vm);
	return ret;
}

/*
 * A key, or insecure, if the request gives one: it holds for the VM's
 * next links (a link copies it when it starts).  Under vm->lock.
 */
static int take_keying(struct kvm_ft_vm *vm, struct genl_info *info)
{
	struct nlattr *key = info->attrs[KVM_FT_A_KEY];
	bool insecure = nla_get_flag(info->attrs[KVM_FT_A_INSECURE]);

	lockdep_assert_held(&vm->lock);
	if (key && insecure) {
		GENL_SET_ERR_MSG(info, "a key or insecure, not both");
		return -EINVAL;
	}
	if (key) {
		memcpy(vm->key, nla_data(key), KVM_FT_KEY_LEN);
		WRITE_ONCE(vm->keyed, true);
		WRITE_ONCE(vm->insecure, false);
	} else if (insecure) {
		WRITE_ONCE(vm->keyed, false);
		memzero_explicit(vm->key, sizeof(vm->key));
		WRITE_ONCE(vm->insecure, true);
	}
	return 0;
}

static int set_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	int ret = take_keying(vm, info);

	if (!ret && info->attrs[KVM_FT_A_VM_EPOCH_US])
		WRITE_ONCE(vm->epoch_us, nla_get_u32(info->attrs[KVM_FT_A_VM_EPOCH_US]));
	return ret;
}

/* The link can be keyed, or the administrator said insecure.  Under vm->lock. */
static int keying_ready(struct kvm_ft_vm *vm, struct genl_info *info)
{
	if (vm->insecure) {
		pr_warn("%s: linked insecurely, as told: no key, no authentication, no encryption\n",
			vm->name);
		return 0;
	}
	if (!vm->keyed) {
		GENL_SET_ERR_MSG(info, "no key: give one ('key FILE'; ftnl genkey makes one), "
				       "or say 'insecure'");
		return -ENOKEY;
	}
	if (kvm_ft_seal_check()) {
		GENL_SET_ERR_MSG(info, "the kernel lacks ChaCha20-Poly1305 or HMAC-SHA256 (chacha20poly1305, hmac)");
		return -ENOPKG;
	}
	return 0;
}

static int set_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, set_vm);
}

static int stop_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	kvm_ft_vm_stop(vm, false);
	return 0;
}

static int stop_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, stop_vm);
}

/*
 * LISTEN, PAIR and START: a VM of @role, idle (or lost its peer), starts a
 * link to @addr:@port, which START uses again later.  Under vm->lock.
 */
static int start_link(struct genl_info *info, struct kvm_ft_vm *vm, u32 role,
		      const union kvm_ft_addr *addr)
{
	u32 state = READ_ONCE(vm->state);
	int ret;

	lockdep_assert_held(&vm->lock);
	if (vm->role != role) {
		if (role == KVM_FT_ROLE_BACKUP)
			GENL_SET_ERR_MSG(info, "only a backup VM listens");
		else
			GENL_SET_ERR_MSG(info, "only a primary VM pairs");
		return -EINVAL;
	}
	if (state != KVM_FT_STATE_IDLE && state != KVM_FT_STATE_UNPROTECTED) {
		GENL_SET_ERR_MSG(info, "the VM is not idle");
		return -EBUSY;
	}
	if (role == KVM_FT_ROLE_PRIMARY && kvm_ft_resume_pending(vm->kvm)) {
		GENL_SET_ERR_MSG(info, "the VM took over and its vCPUs have not all run since");
		return -EBUSY;
	}
	if (role == KVM_FT_ROLE_PRIMARY && kvm_ft_primary_unfit(vm)) {
		/* A static string: the extended ack keeps the pointer. */
		if (info->extack)
			info->extack->_msg = kvm_ft_primary_unfit(vm);
		return -EINVAL;
	}
	ret = take_keying(vm, info) ?: keying_ready(vm, info);
	if (ret)
		return ret;
	kvm_ft_vm_stop(vm, false);		/* what is left of a lost link */
	if (role == KVM_FT_ROLE_BACKUP)
		ret = kvm_ft_backup_start(vm, addr);
	else
		ret = kvm_ft_primary_start(vm, addr);
	if (!ret)
		kvm_ft_vm_set_link_addr(vm, addr);
	return ret;
}

/*
 * Names are not secret: any user of /dev/kvm may register one.  Linking a
 * VM hands it the primary's memory (LISTEN) or sends its memory away
 * (PAIR), so another user's VM is linked only when the caller says whose
 * it expects it to be.  Netlink handler, in the caller's context.
 */
static int owner_confirmed(struct kvm_ft_vm *vm, struct genl_info *info)
{
	struct nlattr *a = info->attrs[KVM_FT_A_VM_OWNER_UID];

	if (uid_eq(current_euid(), vm->owner) ||
	    (a && nla_get_u32(a) == from_kuid(&init_user_ns, vm->owner)))
		return 0;
	GENL_SET_ERR_MSG(info, "the VM was registered by another user (ftnl show names it): "
			       "confirm with 'owner UID'");
	return -EACCES;
}

/*
 * LISTEN's and PAIR's address: ADDR (IPv4) or ADDR6, not both, and PORT.
 * A link-local IPv6 address would need an interface too: refused.
 */
static int link_addr(struct genl_info *info, union kvm_ft_addr *a)
{
	struct nlattr *v4 = info->attrs[KVM_FT_A_ADDR], *v6 = info->attrs[KVM_FT_A_ADDR6];
	u16 port;

	if (GENL_REQ_ATTR_CHECK(info, KVM_FT_A_PORT))
		return -EINVAL;
	if (!v4 == !v6) {
		GENL_SET_ERR_MSG(info, "an IPv4 or an IPv6 address, one of them");
		return -EINVAL;
	}
	port = nla_get_u16(info->attrs[KVM_FT_A_PORT]);
	memset(a, 0, sizeof(*a));
	if (v4) {
		a->v4.sin_family = AF_INET;
		a->v4.sin_addr.s_addr = nla_get_be32(v4);
		a->v4.sin_port = htons(port);
		return 0;
	}
	a->v6.sin6_family = AF_INET6;
	a->v6.sin6_addr = nla_get_in6_addr(v6);
	a->v6.sin6_port = htons(port);
	if (ipv6_addr_type(&a->v6.sin6_addr) & IPV6_ADDR_LINKLOCAL) {
		NL_SET_ERR_MSG_ATTR(info->extack, v6,
				    "a link-local IPv6 address: give a global or unique-local one");
		return -EINVAL;
	}
	return 0;
}

static int listen_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	union kvm_ft_addr a;
	int ret = owner_confirmed(vm, info) ?: link_addr(info, &a);

	if (ret)
		return ret;
	return start_link(info, vm, KVM_FT_ROLE_BACKUP, &a);
}

static int pair_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	union kvm_ft_addr a;
	int ret = owner_confirmed(vm, info) ?: link_addr(info, &a);

	if (ret)
		return ret;
	return start_link(info, vm, KVM_FT_ROLE_PRIMARY, &a);
}

static int listen_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, listen_vm);
}

static int pair_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, pair_vm);
}

/*
 * START: pair or listen again, where the VM last did.  No owner check of
 * its own: the address was given by a PAIR or LISTEN that passed one, and
 * this registration's (link_addr is AF_UNSPEC until then).
 */
static int start_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	union kvm_ft_addr a;

	lockdep_assert_held(&vm->lock);		/* no other writer of link_addr */
	a = vm->link_addr;
	if (a.sa.sa_family == AF_UNSPEC) {
		GENL_SET_ERR_MSG(info, "no address yet: pair or listen first");
		return -EDESTADDRREQ;
	}
	return start_link(info, vm, vm->role, &a);
}

static int start_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, start_vm);
}

static int failover_vm(struct kvm_ft_vm *vm, struct genl_info *info)
{
	int ret;

	if (READ_ONCE(vm->state) == KVM_FT_STATE_ACTIVE) {
		GENL_SET_ERR_MSG(info, "the VM took over already");
		return -EALREADY;
	}
	if (vm->role != KVM_FT_ROLE_BACKUP || !vm->backup) {
		GENL_SET_ERR_MSG(info, "only a listening backup VM fails over");
		return -EINVAL;
	}
	ret = kvm_ft_backup_failover(vm);
	if (ret == -EAGAIN)
		GENL_SET_ERR_MSG(info, "no consistent checkpoint yet");
	else if (ret == -EALREADY)
		GENL_SET_ERR_MSG(info, "the VM took over already");
	return ret;
}

static int failover_doit(struct sk_buff *skb, struct genl_info *info)
{
	return act_on_vm(info, failover_vm);
}

static const struct genl_multicast_group mcgrps[] = {
	{ .name = KVM_FT_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

/*
 * From the link threads (which never take vm->lock: a stopper holds it
 * while waiting for them) and netlink handlers: vm->name is fixed for the
 * VM's life.
 */
void kvm_ft_netlink_event(struct kvm_ft_vm *vm, u32 event, u64 arg)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;

	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &family, 0, KVM_FT_CMD_EVENT);
	if (!hdr || nla_put_string(skb, KVM_FT_A_VM_NAME, vm->name) ||
	    nla_put_u32(skb, KVM_FT_A_EVENT, event) ||
	    (event == KVM_FT_EV_PEER_LOST && nla_put_u32(skb, KVM_FT_A_EVENT_REASON, arg)) ||
	    ((event == KVM_FT_EV_FAILOVER_BEGIN || event == KVM_FT_EV_FAILOVER ||
	      event == KVM_FT_EV_COMMITTED) &&
	     nla_put_u64_64bit(skb, KVM_FT_A_EVENT_EPOCH, arg, KVM_FT_A_PAD))) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&family, skb, 0, 0, GFP_KERNEL);	/* -ESRCH: no listener */
}

#define OP(_cmd, _doit, _policy) {					\
	.cmd = _cmd, .doit = _doit, .flags = GENL_ADMIN_PERM,			\
	.policy = _policy, .maxattr = ARRAY_SIZE(_policy) - 1,		\
}

static const struct genl_ops ops[] = {
	{
		.cmd = KVM_FT_CMD_GET_VM,
		.doit = get_vm_doit,
		.dumpit = get_vm_dumpit,
		.flags = GENL_ADMIN_PERM,
		.policy = name_policy,
		.maxattr = ARRAY_SIZE(name_policy) - 1,
	},
	OP(KVM_FT_CMD_SET_VM, set_vm_doit, set_policy),
	OP(KVM_FT_CMD_LISTEN, listen_doit, link_policy),
	OP(KVM_FT_CMD_STOP, stop_doit, name_policy),
	OP(KVM_FT_CMD_PAIR, pair_doit, link_policy),
	OP(KVM_FT_CMD_FAILOVER, failover_doit, name_policy),
	OP(KVM_FT_CMD_START, start_doit, name_policy),
};

static struct genl_family family __ro_after_init = {
	.name = KVM_FT_GENL_NAME,
	.version = KVM_FT_GENL_VERSION,
	.maxattr = KVM_FT_A_MAX,
	.module = THIS_MODULE,
	.ops = ops,
	.n_ops = ARRAY_SIZE(ops),
	.mcgrps = mcgrps,
	.n_mcgrps = ARRAY_SIZE(mcgrps),
};

int kvm_ft_netlink_init(void)
{
	return genl_register_family(&family);
}

void kvm_ft_netlink_exit(void)
{
	genl_unregister_family(&family);
}
