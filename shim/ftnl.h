/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftnl's parts: ftnl.c (commands, netlink, errors), vm.c (a VM's
 * GET_VM reply, decoded), print.c (what show, dump, list print: words,
 * JSON), prom.c (Prometheus), events.c (monitor, pair --wait).
 */
#ifndef FTNL_H
#define FTNL_H

#include <linux/kvm_ft.h>
#include <netinet/in.h>
#include <netlink/genl/genl.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit status: Documentation/ftnl.8.rst, EXIT STATUS. */
enum {
	EXIT_REFUSED = 1,	/* refused for good: the same again fails again */
	EXIT_USAGE = 2,
	EXIT_NOMODULE = 3,	/* Cuju's kvm.ko is not loaded */
	EXIT_PERM = 4,		/* not permitted */
	EXIT_NOVM = 5,		/* no VM of that name */
	EXIT_AGAIN = 6,		/* refused now: may succeed later */
	EXIT_TIMEOUT = 7,	/* --wait ran out of time */
};

/* Output formats, from the options. */
extern bool json, prom, stamps;

struct ctx {
	struct nl_sock *sk;
	int family;
	int shown;		/* VMs or events printed so far */
	int limit;		/* monitor: stop after this many events; 0: never */
	const char *only;	/* monitor: this VM's events only */
};

/* One row of KVM_FT_STATS(): ftnl's copy of the table. */
struct stat_desc {
	const char *name, *unit, *what;
	bool gauge;
	const char *side;
};
extern const struct stat_desc stat_desc[KVM_FT_STAT_MAX + 1];

#define OUT_DEVS_MAX	8	/* taps a VM's output is held on, at most (kernel/output.h) */

struct vm_info {
	char name[KVM_FT_NAME_LEN];
	uint32_t role, state, epoch_us, nr_vcpus, vmm_pid, owner_uid;
	char addr[INET6_ADDRSTRLEN];	/* of the last pair or listen; "" if none */
	bool addr6;			/* it is IPv6 */
	uint16_t port;
	uint64_t mem_bytes;
	uint64_t stat[KVM_FT_STAT_MAX + 1];	/* by enum kvm_ft_stat */
	uint64_t errors[KVM_FT_WIRE_E_MAX];
	uint64_t pause_hist[KVM_FT_HIST_BUCKETS], out_hold_hist[KVM_FT_HIST_BUCKETS];
	uint64_t epoch_hist[KVM_FT_HIST_BUCKETS];
	uint32_t out_devs[OUT_DEVS_MAX];	/* ifindex of each tap held on, in order; 0 ends */
	int64_t commit_age_ms, link_age_ms;	/* -1: not known */
	bool keyed, insecure;
	uint32_t key_fpr;
	char peer[KVM_FT_NAME_LEN];	/* "" until a handshake named it */
};

/* vm.c */
int attrs_parse(struct nl_msg *msg, struct nlattr **a);
int vm_parse(struct nl_msg *msg, struct vm_info *vm);
const char *role_name(uint32_t role);
const char *state_name(uint32_t state);
const char *error_name(uint32_t kind);
const char *error_gloss(uint32_t kind);
const char *event_name(uint32_t ev, bool json);

/* print.c */
void print_show(const struct vm_info *vm, bool first);
void print_dump(const struct vm_info *vm);
void print_list(const struct vm_info *vm, bool first);
void print_json(const struct vm_info *vm, bool first);
void print_prom(const struct vm_info *vms, int n);
void print_counters(void);
void print_stamp(void);
void json_string(const char *s);

/* events.c */
int cmd_monitor(struct ctx *c, int argc, char **argv);
int wait_synced(struct ctx *c, struct nl_sock *events, const char *what, const char *vm,
		int seconds);
int events_subscribe(struct ctx *c, const char *what, struct nl_sock **out);

/* ftnl.c */
int fail(int status, const char *what, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int refused(int nlerr, const char *what, const char *vm);
int get_vm(struct ctx *c, const char *what, const char *vm, struct vm_info *out);
int get_vms(struct ctx *c, const char *what, struct vm_info **out, int *n);
int need_family(struct ctx *c);
bool name_ok(const char *name);

#endif
