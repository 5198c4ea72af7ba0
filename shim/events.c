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

	if (attrs_parse(msg, a) < 0 || !a[KVM_FT_A_VM_NAME] || !a[KVM_FT_A_EVENT])
		return false;
	e->vm = nla_get_string(a[KVM_FT_A_VM_NAME]);
	e->ev = nla_get_u32(a[KVM_FT_A_EVENT]);
	e->reason = a[KVM_FT_A_EVENT_REASON] ? nla_get_u32(a[KVM_FT_A_EVENT_REASON]) : 0;
	e->has_epoch = a[KVM_FT_A_EVENT_EPOCH];
	e->epoch = e->has_epoch ? nla_get_u64(a[KVM_FT_A_EVENT_EPOCH]) : 0;
	return true;
}

/* A socket subscribed to the events into *@out: 0, or (why printed) an exit status. */
int events_subscribe(struct ctx *c, const char *what, struct nl_sock **out)
{
	struct nl_sock *sk;
	int grp, err = need_family(c);

	if (err)
		return err;
	err = -NLE_NOMEM;
	sk = nl_socket_alloc();
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
	return refused(err, what, NULL);
}

/* A line's beginning: the time (-t), and the VM's name. */
static void line_start(const char *vm)
{
	if (json)
		putchar('{');
	if (stamps)
		print_stamp();
	if (json) {
		printf("\"vm\":");
		json_string(vm);
	} else {
		printf("%s: ", vm);
	}
}

static void print_event(const struct event *e)
{
	line_start(e->vm);
	printf(json ? ",\"event\":\"%s\"" : "%s", event_name(e->ev, json));
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

/* Each VM's state as monitor begins (again after lost events): what events change. */
static int print_states(struct ctx *c)
{
	struct vm_info *vms;
	int i, n, err = get_vms(c, "monitor", &vms, &n);

	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (c->only && strcmp(c->only, vms[i].name))
			continue;
		line_start(vms[i].name);
		printf(json ? ",\"event\":\"state\",\"role\":\"%s\",\"state\":\"%s\"}\n" :
		       "state %2$s (%1$s)\n", role_name(vms[i].role), state_name(vms[i].state));
	}
	free(vms);
	fflush(stdout);
	return 0;
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
	err = events_subscribe(c, "monitor", &sk);
	if (err)
		return err;
	/* Subscribed first: no event between the states and the events is lost. */
	fprintf(stderr, "ftnl: monitoring events%s\n", c->limit ? "" : " (Ctrl-C to stop)");
	err = print_states(c);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, c);
	while (!err && (!c->limit || c->shown < c->limit)) {
		err = nl_recvmsgs_default(sk);
		if (err == -NLE_NOMEM) {
			/* The socket overran (ENOBUFS): say so, and where things stand now. */
			fprintf(stderr, "ftnl: events lost (too many at once); the states now:\n");
			err = print_states(c);
		} else if (err == -NLE_INTR) {
			err = 0;
		} else if (err < 0) {
			err = refused(err, "monitor", NULL);
		} else {
			err = 0;
		}
	}
	nl_socket_free(sk);
	return err;
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

/*
 * Whether a link lost for @reason may come up if asked again: the
 * network failed it, not a refusal (the kernel's own retries stop at
 * these too, but a later pair may find the backup back).
 */
static bool transient(uint32_t reason)
{
	return reason == KVM_FT_WIRE_E_IO || reason == KVM_FT_WIRE_E_TRUNCATED ||
	       reason == KVM_FT_WIRE_E_HANDSHAKE || reason == KVM_FT_WIRE_E_SILENCE ||
	       reason == KVM_FT_WIRE_E_BUSY;
}

/* A primary that stopped trying: why, from the event if one said. */
static int gave_up(const char *what, const char *vm, const struct waiter *w,
		   const struct vm_info *info)
{
	if (w->lost)
		return fail(transient(w->reason) ? EXIT_AGAIN : EXIT_REFUSED, what, vm,
			    "link lost: %s (%s)", error_name(w->reason), error_gloss(w->reason));
	return fail(EXIT_REFUSED, what, vm, "the VM is %s, not syncing (ftnl show %s)",
		    state_name(info->state), vm);
}

/*
 * After a PAIR or START on @events (subscribed before it was sent): wait
 * until @vm's backup holds all its memory, it gives up, or @seconds pass.
 * Events say what happened; the VM's state, read each second, catches
 * what a full socket buffer might have dropped.
 */
int wait_synced(struct ctx *c, struct nl_sock *events, const char *what, const char *vm,
		int seconds)
{
	struct timeval tv = { .tv_sec = 1 };
	struct waiter w = { .vm = vm };
	double begin = now(), polled = 0;
	struct vm_info info;
	int err;

	setsockopt(nl_socket_get_fd(events), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl_socket_modify_cb(events, NL_CB_VALID, NL_CB_CUSTOM, wait_cb, &w);
	for (;;) {
		err = nl_recvmsgs_default(events);
		if (err < 0 && err != -NLE_AGAIN && err != -NLE_INTR && err != -NLE_NOMEM)
			return refused(err, what, vm);
		/* Other VMs' progress wakes us up to ten times a second: poll at most once. */
		if (!w.synced && !w.lost && now() - polled < 1)
			continue;
		polled = now();
		err = get_vm(c, what, vm, &info);
		if (err)
			return err;
		if (w.synced || (info.state == KVM_FT_STATE_CONNECTED &&
				 info.stat[KVM_FT_STAT_SYNC_TOTAL] &&
				 info.stat[KVM_FT_STAT_SYNC_DONE] >= info.stat[KVM_FT_STAT_SYNC_TOTAL]))
			break;
		if (w.lost || info.state == KVM_FT_STATE_UNPROTECTED ||
		    info.state == KVM_FT_STATE_IDLE)
			return gave_up(what, vm, &w, &info);
		if (now() - begin >= seconds)
			return fail(EXIT_TIMEOUT, what, vm, "not synced after %d s: the VM is %s"
				    " (ftnl show %s)", seconds, state_name(info.state), vm);
	}
	line_start(vm);
	printf(json ? ",\"synced\":true,\"seconds\":%.1f}\n" :
	       "protected: its backup holds all its memory (%.1f s)\n", now() - begin);
	return 0;
}
