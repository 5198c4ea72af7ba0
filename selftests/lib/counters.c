// SPDX-License-Identifier: GPL-2.0
/* The engine's counters for the benchmarks: include/counters.h. */
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <string.h>
#include <time.h>

#include "counters.h"

double ft_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool ft_counters_open(struct ft_counters *c)
{
	c->sk = nl_socket_alloc();
	if (!c->sk || genl_connect(c->sk))
		return false;
	c->family = genl_ctrl_resolve(c->sk, KVM_FT_GENL_NAME);
	return c->family >= 0;
}

void ft_counters_close(struct ft_counters *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	c->sk = NULL;
}

static unsigned long long u64_of(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u64(tb[attr]) : 0;
}

static int take_vm(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[KVM_FT_A_MAX + 1], *st[KVM_FT_STAT_MAX + 1], *b;
	struct ft_sample *s = arg;
	int rem, i = 0;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KVM_FT_A_MAX, NULL) ||
	    !tb[KVM_FT_A_VM_STATS] || !tb[KVM_FT_A_VM_PAUSE_HIST] ||
	    nla_parse_nested(st, KVM_FT_STAT_MAX, tb[KVM_FT_A_VM_STATS], NULL))
		return NL_SKIP;
	s->epochs = u64_of(st, KVM_FT_STAT_EPOCHS);
	s->pages = u64_of(st, KVM_FT_STAT_PAGES);
	s->bytes = u64_of(st, KVM_FT_STAT_BYTES_TX);
	s->pause_ns = u64_of(st, KVM_FT_STAT_PAUSE_TOTAL_NS);
	s->stalls = u64_of(st, KVM_FT_STAT_STALLS);
	s->device_len = u64_of(st, KVM_FT_STAT_DEVICE_LEN);
	s->device_deltas = u64_of(st, KVM_FT_STAT_DEVICE_DELTAS);
	/* The buckets: one attribute each, repeated, in order. */
	nla_for_each_nested(b, tb[KVM_FT_A_VM_PAUSE_HIST], rem)
		if (nla_type(b) == KVM_FT_HIST_A_BUCKET && i < KVM_FT_HIST_BUCKETS)
			s->hist[i++] = nla_get_u64(b);
	s->ok = i == KVM_FT_HIST_BUCKETS;
	return NL_OK;
}

int ft_sample(struct ft_counters *c, const char *vm, struct ft_sample *s)
{
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	memset(s, 0, sizeof(*s));
	if (!msg)
		return -NLE_NOMEM;
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, 0, KVM_FT_CMD_GET_VM,
		    KVM_FT_GENL_VERSION);
	nla_put_string(msg, KVM_FT_A_VM_NAME, vm);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, take_vm, s);
	s->t = ft_now();
	err = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(c->sk);	/* the reply, or the error */
	if (err >= 0)
		err = nl_wait_for_ack(c->sk);		/* what follows a reply */
	return err < 0 ? err : s->ok ? 0 : -NLE_MSG_TRUNC;
}

unsigned long long ft_pause_percentile(const struct ft_sample *a, const struct ft_sample *b,
				       double q)
{
	unsigned long long total = 0, seen = 0;
	int i;

	for (i = 0; i < KVM_FT_HIST_BUCKETS; i++)
		total += b->hist[i] - a->hist[i];
	for (i = 0; i < KVM_FT_HIST_BUCKETS; i++) {
		seen += b->hist[i] - a->hist[i];
		if (total && seen >= q * total)
			return kvm_ft_hist_lower(i + 1);
	}
	return 0;
}
