// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's events (KVM_FT_GENL_MCGRP_EVENTS): ftnl monitor prints
 * them; pair --wait and start --wait wait on them for the sync's end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <netlink/genl/ctrl.h>

#include "ftnl.h"

struct event {
	const char *vm;
	uint32_t ev, reason;
	bool has_epoch;
	uint64_t epoch;
};

static bool event_parse(struct nl_msg *msg, struct event *e)
{
	struct nlattr *a[KVM_FT_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, KVM_FT_A_MAX, NULL) < 0 ||
	    !a[KVM_FT_A_VM_NAME] || !a[KVM_FT_A_EVENT])
		return false;
	e->vm = nla_get_string(a[KVM_FT_A_VM_NAME]);
	e->ev = nla_get_u32(a[KVM_FT_A_EVENT]);
	e->reason = a[KVM_FT_A_EVENT_REASON] ? nla_get_u32(a[KVM_FT_A_EVENT_REASON]) : 0;
	e->has_epoch = a[KVM_FT_A_EVENT_EPOCH];
	e->epoch = e->has_epoch ? nla_get_u64(a[KVM_FT_A_EVENT_EPOCH]) : 0;
	return true;
}

/* A socket subscribed to the events into *@out: 0, or (why printed) an exit status. */
int events_subscribe(struct ctx *c, struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp, err = -NLE_NOMEM;

	if (!sk)
		goto fail;
	err = genl_connect(sk);
	if (err < 0)
		goto fail;
	grp = genl_ctrl_resolve_grp(sk, KVM_FT_GENL_NAME, KVM_FT_GENL_MCGRP_EVENTS);
	err = grp < 0 ? grp : nl_socket_add_membership(sk, grp);
	if (err < 0)
		goto fail;
	nl_socket_disable_seq_check(sk);
	*out = sk;
	return 0;
fail:
	if (sk)
		nl_socket_free(sk);
	return refused(err, "monitor", NULL);
}

static void print_event(const struct event *e)
{
	if (json) {
		putchar('{');
		if (stamps)
			print_stamp();
		printf("\"vm\":");
		json_string(e->vm);
		printf(",\"event\":\"%s\"", event_name(e->ev, true));
	} else {
		if (stamps)
			print_stamp();
		printf("%s: %s", e->vm, event_name(e->ev, false));
	}
	if (e->ev == KVM_FT_EV_PEER_LOST)
		printf(json ? ",\"reason\":\"%s\"}\n" : " (%s)\n", error_name(e->reason));
	else if (e->has_epoch)
		printf(json ? ",\"epoch\":%llu}\n" : " at epoch %llu\n",
		       (unsigned long long)e->epoch);
	else
		puts(json ? "}" : "");
	fflush(stdout);
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct ctx *c = arg;
	struct event e;

	if (!event_parse(msg, &e) || (c->only && strcmp(c->only, e.vm)))
		return NL_SKIP;
	print_event(&e);
	c->shown++;
	return c->limit && c->shown >= c->limit ? NL_STOP : NL_OK;
}

/* Each VM's state as monitor begins: what the events that follow change. */
static int state_cb(struct nl_msg *msg, void *arg)
{
	struct ctx *c = arg;
	struct vm_info vm;

	if (vm_parse(msg, &vm) || (c->only && strcmp(c->only, vm.name)))
		return NL_SKIP;
	if (json) {
		putchar('{');
		if (stamps)
			print_stamp();
		printf("\"vm\":");
		json_string(vm.name);
		printf(",\"event\":\"state\",\"role\":\"%s\",\"state\":\"%s\"}\n",
		       role_name(vm.role), state_name(vm.state));
	} else {
		if (stamps)
			print_stamp();
		printf("%s: state %s (%s)\n", vm.name, state_name(vm.state), role_name(vm.role));
	}
	return NL_OK;
}

/* monitor [-t] [VM] [count N] */
int cmd_monitor(struct ctx *c, int argc, char **argv)
{
	struct nl_sock *sk;
	char *end;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t")) {
			stamps = true;
		} else if (!strcmp(argv[i], "count") && i + 1 < argc) {
			c->limit = strtol(argv[++i], &end, 10);
			if (*end || c->limit <= 0)
				return fail(EXIT_USAGE, "monitor", NULL,
					    "'%s' is not a count of events", argv[i]);
		} else if (!c->only) {
			c->only = argv[i];
			if (!name_ok(c->only))
				return EXIT_USAGE;
		} else {
			return EXIT_USAGE;
		}
	}
	err = events_subscribe(c, &sk);
	if (err)
		return err;
	/* Subscribed first: no event between the states and the events is lost. */
	fprintf(stderr, "ftnl: monitoring events%s\n", c->limit ? "" : " (Ctrl-C to stop)");
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, state_cb, c);
	err = genl_send_simple(c->sk, c->family, KVM_FT_CMD_GET_VM, KVM_FT_GENL_VERSION, NLM_F_DUMP);
	if (err >= 0)
		err = nl_recvmsgs_default(c->sk);
	if (err < 0) {
		nl_socket_free(sk);
		return refused(err, "monitor", NULL);
	}
	fflush(stdout);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, c);
	while (!c->limit || c->shown < c->limit) {
		err = nl_recvmsgs_default(sk);
		if (err < 0 && err != -NLE_INTR) {
			nl_socket_free(sk);
			return refused(err, "monitor", NULL);
		}
	}
	nl_socket_free(sk);
	return 0;
}

struct waiter {
	const char *vm;
	bool synced, lost;
	uint32_t reason;
};

static int wait_cb(struct nl_msg *msg, void *arg)
{
	struct waiter *w = arg;
	struct event e;

	if (!event_parse(msg, &e) || strcmp(e.vm, w->vm))
		return NL_SKIP;
	if (e.ev == KVM_FT_EV_SYNCED)
		w->synced = true;
	if (e.ev == KVM_FT_EV_PEER_LOST) {
		w->lost = true;
		w->reason = e.reason;
	}
	return NL_OK;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A primary that stopped trying: why, from the event if one said. */
static int gave_up(const char *vm, const struct waiter *w, const struct vm_info *info)
{
	if (w->lost && w->reason == KVM_FT_WIRE_E_BUSY)
		return fail(EXIT_AGAIN, "pair", vm, "the backup serves another primary (busy)");
	if (w->lost)
		return fail(EXIT_REFUSED, "pair", vm, "link lost: %s (%s)", error_name(w->reason),
			    error_gloss(w->reason));
	return fail(EXIT_REFUSED, "pair", vm, "the VM is %s, not syncing (ftnl show %s)",
		    state_name(info->state), vm);
}

/*
 * After a PAIR or START on @events (subscribed before it was sent): wait
 * until @vm's backup holds all its memory, it gives up, or @seconds pass.
 * Events say what happened; the VM's state, read each second, catches
 * what a full socket buffer might have dropped.
 */
int wait_synced(struct ctx *c, struct nl_sock *events, const char *vm, int seconds)
{
	struct timeval tv = { .tv_sec = 1 };
	struct waiter w = { .vm = vm };
	double begin = now();
	struct vm_info info;
	int err;

	setsockopt(nl_socket_get_fd(events), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl_socket_modify_cb(events, NL_CB_VALID, NL_CB_CUSTOM, wait_cb, &w);
	for (;;) {
		err = nl_recvmsgs_default(events);
		if (err < 0 && err != -NLE_AGAIN && err != -NLE_INTR && err != -NLE_NOMEM)
			return refused(err, "pair", vm);
		err = get_vm(c, vm, &info);
		if (err)
			return err;
		if (w.synced || (info.state == KVM_FT_STATE_CONNECTED &&
				 info.stat[KVM_FT_STAT_SYNC_TOTAL] &&
				 info.stat[KVM_FT_STAT_SYNC_DONE] >= info.stat[KVM_FT_STAT_SYNC_TOTAL]))
			break;
		if (w.lost || info.state == KVM_FT_STATE_UNPROTECTED ||
		    info.state == KVM_FT_STATE_IDLE)
			return gave_up(vm, &w, &info);
		if (now() - begin >= seconds)
			return fail(EXIT_TIMEOUT, "pair", vm, "not synced after %d s: the VM is %s"
				    " (ftnl show %s)", seconds, state_name(info.state), vm);
	}
	if (json)
		printf("{\"vm\":\"%s\",\"synced\":true,\"seconds\":%.1f}\n", vm, now() - begin);
	else
		printf("%s: protected: its backup holds all its memory (%.1f s)\n", vm,
		       now() - begin);
	return 0;
}
