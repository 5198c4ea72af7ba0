// SPDX-License-Identifier: GPL-2.0
/*
 * ftnl: configure and inspect Cuju, the fault tolerance in kvm.ko, through
 * its generic netlink family (uapi/linux/kvm_ft.h).  Documentation/ftnl.rst
 * is its manual.
 *
 * Exit status: 0 done; 1 the kernel refused (the message says why); 2 bad
 * usage; 3 Cuju's kvm.ko is not loaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <linux/kvm_ft.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_NOMODULE	3

static bool json;

struct vm_info {
	char name[KVM_FT_NAME_LEN];
	uint32_t role, state, epoch_us, nr_vcpus, vmm_pid, owner_uid;
	char addr[INET6_ADDRSTRLEN];	/* of the last pair or listen; "" if none */
	bool addr6;			/* it is IPv6 */
	uint16_t port;
	uint64_t mem_bytes, cur_epoch, last_epoch, epochs, pages, bytes_rx, heartbeats, peer_lost, verified;
	uint64_t bytes_tx, sync_done, sync_total, pause_last_ns, pause_max_ns,
		 pause_total_ns, stalls, device_timeouts, device_len, park_timeouts,
		 epoch_pages_max;
	uint64_t pause_hist[KVM_FT_PAUSE_BUCKETS];
	uint64_t out_held, out_held_bytes, out_released, out_released_bytes, out_dropped,
		 out_depth;
	uint64_t out_hold_hist[KVM_FT_PAUSE_BUCKETS];
	uint32_t out_devs[8];		/* ifindex of each tap held on; 0: none */
	uint32_t inflight;
	uint64_t errors[KVM_FT_WIRE_E_MAX];
	bool keyed, insecure;
	uint32_t key_fpr;
	char peer[KVM_FT_NAME_LEN];	/* "" until a handshake named it */
};

/* Short names of the refusals counted in VM_ERRORS, by enum kvm_ft_wire_err. */
static const char *const error_names[KVM_FT_WIRE_E_MAX] = {
	[KVM_FT_WIRE_E_MAGIC] = "magic", [KVM_FT_WIRE_E_VERSION] = "version",
	[KVM_FT_WIRE_E_TYPE] = "type", [KVM_FT_WIRE_E_RESERVED] = "reserved",
	[KVM_FT_WIRE_E_LEN] = "length", [KVM_FT_WIRE_E_CRC] = "checksum",
	[KVM_FT_WIRE_E_SHAPE] = "shape", [KVM_FT_WIRE_E_ORDER] = "order",
	[KVM_FT_WIRE_E_EPOCH] = "epoch", [KVM_FT_WIRE_E_GFN] = "gfn",
	[KVM_FT_WIRE_E_VCPU] = "vcpu", [KVM_FT_WIRE_E_TOTALS] = "totals",
	[KVM_FT_WIRE_E_TRUNCATED] = "truncated", [KVM_FT_WIRE_E_IO] = "io",
	[KVM_FT_WIRE_E_SILENCE] = "silence", [KVM_FT_WIRE_E_SNAPSHOT] = "snapshot",
	[KVM_FT_WIRE_E_NOMEM] = "nomem", [KVM_FT_WIRE_E_VERIFY] = "verify",
	[KVM_FT_WIRE_E_LAYOUT] = "layout", [KVM_FT_WIRE_E_MACHINE] = "machine",
	[KVM_FT_WIRE_E_AUTH] = "auth", [KVM_FT_WIRE_E_KEY] = "key",
	[KVM_FT_WIRE_E_INSECURE] = "insecure", [KVM_FT_WIRE_E_BUSY] = "busy",
	[KVM_FT_WIRE_E_HANDSHAKE] = "handshake",
};

/* The kernel's own reason for the last refusal, if it gave one. */
static char kernel_why[256];

struct ctx {
	struct nl_sock *sk;
	int family;
	int shown;		/* VMs or events printed so far */
	int limit;		/* monitor: stop after this many events; 0: never */
};

static const char *role_name(uint32_t role)
{
	switch (role) {
	case KVM_FT_ROLE_PRIMARY: return "primary";
	case KVM_FT_ROLE_BACKUP: return "backup";
	}
	return "unknown";
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case KVM_FT_STATE_IDLE: return "idle";
	case KVM_FT_STATE_LISTENING: return "listening";
	case KVM_FT_STATE_RECEIVING: return "receiving";
	case KVM_FT_STATE_CONNECTING: return "connecting";
	case KVM_FT_STATE_CONNECTED: return "connected";
	case KVM_FT_STATE_UNPROTECTED: return "unprotected";
	case KVM_FT_STATE_ACTIVE: return "active";
	}
	return "unknown";
}

/* A nest of per-bucket counts, [i + 1] = bucket i, into @out. */
static void hist(struct nlattr *nest, uint64_t *out)
{
	struct nlattr *h;
	int rem;

	if (!nest)
		return;
	nla_for_each_nested(h, nest, rem)
		if (nla_type(h) >= 1 && nla_type(h) <= KVM_FT_PAUSE_BUCKETS)
			out[nla_type(h) - 1] = nla_get_u64(h);
}

static int parse_vm(struct nl_msg *msg, struct vm_info *vm)
{
	struct nlattr *a[KVM_FT_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, KVM_FT_A_MAX, NULL) < 0 ||
	    !a[KVM_FT_A_VM_NAME])
		return -1;
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", nla_get_string(a[KVM_FT_A_VM_NAME]));
#define U32(attr, field) if (a[attr]) vm->field = nla_get_u32(a[attr])
	U32(KVM_FT_A_VM_ROLE, role);
	U32(KVM_FT_A_VM_STATE, state);
	U32(KVM_FT_A_VM_EPOCH_US, epoch_us);
	U32(KVM_FT_A_VM_NR_VCPUS, nr_vcpus);
	U32(KVM_FT_A_VM_VMM_PID, vmm_pid);
	U32(KVM_FT_A_VM_OWNER_UID, owner_uid);
	U32(KVM_FT_A_VM_INFLIGHT, inflight);
#undef U32
	if (a[KVM_FT_A_ADDR] && a[KVM_FT_A_PORT]) {
		struct in_addr in = { .s_addr = nla_get_u32(a[KVM_FT_A_ADDR]) };

		inet_ntop(AF_INET, &in, vm->addr, sizeof(vm->addr));
		vm->port = nla_get_u16(a[KVM_FT_A_PORT]);
	} else if (a[KVM_FT_A_ADDR6] && nla_len(a[KVM_FT_A_ADDR6]) == 16 && a[KVM_FT_A_PORT]) {
		inet_ntop(AF_INET6, nla_data(a[KVM_FT_A_ADDR6]), vm->addr, sizeof(vm->addr));
		vm->addr6 = true;
		vm->port = nla_get_u16(a[KVM_FT_A_PORT]);
	}
#define U64(attr, field) if (a[attr]) vm->field = nla_get_u64(a[attr])
	U64(KVM_FT_A_VM_MEM_BYTES, mem_bytes);
	U64(KVM_FT_A_VM_CUR_EPOCH, cur_epoch);
	U64(KVM_FT_A_VM_LAST_EPOCH, last_epoch);
	U64(KVM_FT_A_VM_EPOCHS, epochs);
	U64(KVM_FT_A_VM_PAGES, pages);
	U64(KVM_FT_A_VM_BYTES_RX, bytes_rx);
	U64(KVM_FT_A_VM_HEARTBEATS, heartbeats);
	U64(KVM_FT_A_VM_PEER_LOST, peer_lost);
	U64(KVM_FT_A_VM_BYTES_TX, bytes_tx);
	U64(KVM_FT_A_VM_SYNC_DONE, sync_done);
	U64(KVM_FT_A_VM_SYNC_TOTAL, sync_total);
	U64(KVM_FT_A_VM_PAUSE_LAST_NS, pause_last_ns);
	U64(KVM_FT_A_VM_PAUSE_MAX_NS, pause_max_ns);
	U64(KVM_FT_A_VM_PAUSE_TOTAL_NS, pause_total_ns);
	U64(KVM_FT_A_VM_STALLS, stalls);
	U64(KVM_FT_A_VM_DEVICE_TIMEOUTS, device_timeouts);
	U64(KVM_FT_A_VM_DEVICE_LEN, device_len);
	U64(KVM_FT_A_VM_PARK_TIMEOUTS, park_timeouts);
	U64(KVM_FT_A_VM_VERIFIED, verified);
	U64(KVM_FT_A_VM_EPOCH_PAGES_MAX, epoch_pages_max);
	U64(KVM_FT_A_VM_OUT_HELD, out_held);
	U64(KVM_FT_A_VM_OUT_HELD_BYTES, out_held_bytes);
	U64(KVM_FT_A_VM_OUT_RELEASED, out_released);
	U64(KVM_FT_A_VM_OUT_RELEASED_BYTES, out_released_bytes);
	U64(KVM_FT_A_VM_OUT_DROPPED, out_dropped);
	U64(KVM_FT_A_VM_OUT_DEPTH, out_depth);
#undef U64
	vm->keyed = a[KVM_FT_A_KEY_FPR];
	if (vm->keyed)
		vm->key_fpr = nla_get_u32(a[KVM_FT_A_KEY_FPR]);
	vm->insecure = a[KVM_FT_A_INSECURE];
	if (a[KVM_FT_A_PEER_NAME])
		snprintf(vm->peer, sizeof(vm->peer), "%s", nla_get_string(a[KVM_FT_A_PEER_NAME]));
	hist(a[KVM_FT_A_VM_PAUSE_HIST], vm->pause_hist);
	hist(a[KVM_FT_A_VM_OUT_HOLD_HIST], vm->out_hold_hist);
	if (a[KVM_FT_A_VM_OUT_DEVS]) {
		struct nlattr *d;
		int rem;

		nla_for_each_nested(d, a[KVM_FT_A_VM_OUT_DEVS], rem)
			if (nla_type(d) >= 1 &&
			    nla_type(d) <= (int)(sizeof(vm->out_devs) / sizeof(vm->out_devs[0])) &&
			    nla_len(d) >= (int)sizeof(uint32_t))
				vm->out_devs[nla_type(d) - 1] = nla_get_u32(d);
	}
	if (a[KVM_FT_A_VM_ERRORS]) {
		struct nlattr *e;
		int rem;

		nla_for_each_nested(e, a[KVM_FT_A_VM_ERRORS], rem)
			if (nla_type(e) > 0 && nla_type(e) < KVM_FT_WIRE_E_MAX)
				vm->errors[nla_type(e)] = nla_get_u64(e);
	}
	return 0;
}

/* The taps a VM's output is held on, by name, comma-separated (JSON: quoted). */
static void print_devs(const struct vm_info *vm, bool quoted)
{
	char name[IF_NAMESIZE];
	int i, n = 0;

	for (i = 0; i < 8; i++) {
		if (!vm->out_devs[i])
			continue;
		if (!if_indextoname(vm->out_devs[i], name))
			snprintf(name, sizeof(name), "#%u", vm->out_devs[i]);
		printf(quoted ? "%s\"%s\"" : "%s%s", n++ ? "," : "", name);
	}
	if (!n && !quoted)
		printf("none given");
}

/* The upper end of the bucket below which @q of @hist's counts lie, in us. */
static unsigned long long hist_quantile(const uint64_t *hist, double q)
{
	uint64_t total = 0, seen = 0;
	int i;

	for (i = 0; i < KVM_FT_PAUSE_BUCKETS; i++)
		total += hist[i];
	for (i = 0; i < KVM_FT_PAUSE_BUCKETS; i++) {
		seen += hist[i];
		if (total && seen >= q * total)
			return 2ULL << i;
	}
	return 0;
}

static void print_vm_json(const struct vm_info *vm, int index)
{
	int i;

	printf("%s{\"name\":\"%s\",\"role\":\"%s\",\"state\":\"%s\",\"epoch_us\":%u,"
	       "\"vcpus\":%u,\"mem_bytes\":%llu,\"vmm_pid\":%u,\"owner_uid\":%u,\"addr\":\"%s\",\"port\":%u,"
	       "\"cur_epoch\":%llu,\"last_epoch\":%llu,"
	       "\"epochs\":%llu,\"pages\":%llu,\"bytes_rx\":%llu,\"heartbeats\":%llu,"
	       "\"peer_lost\":%llu,\"bytes_tx\":%llu,\"sync_done\":%llu,"
	       "\"sync_total\":%llu,\"pause_last_ns\":%llu,\"pause_max_ns\":%llu,"
	       "\"pause_total_ns\":%llu,\"stalls\":%llu,\"inflight\":%u,"
	       "\"device_timeouts\":%llu,\"device_len\":%llu,\"park_timeouts\":%llu,"
	       "\"verified\":%llu,\"epoch_pages_max\":%llu,\"errors\":{",
	       index ? "," : "", vm->name, role_name(vm->role), state_name(vm->state),
	       vm->epoch_us, vm->nr_vcpus, (unsigned long long)vm->mem_bytes, vm->vmm_pid,
	       vm->owner_uid,
	       vm->addr, vm->port, (unsigned long long)vm->cur_epoch,
	       (unsigned long long)vm->last_epoch, (unsigned long long)vm->epochs,
	       (unsigned long long)vm->pages, (unsigned long long)vm->bytes_rx,
	       (unsigned long long)vm->heartbeats, (unsigned long long)vm->peer_lost,
	       (unsigned long long)vm->bytes_tx, (unsigned long long)vm->sync_done,
	       (unsigned long long)vm->sync_total, (unsigned long long)vm->pause_last_ns,
	       (unsigned long long)vm->pause_max_ns, (unsigned long long)vm->pause_total_ns,
	       (unsigned long long)vm->stalls, vm->inflight,
	       (unsigned long long)vm->device_timeouts, (unsigned long long)vm->device_len,
	       (unsigned long long)vm->park_timeouts, (unsigned long long)vm->verified,
	       (unsigned long long)vm->epoch_pages_max);
	for (i = 1; i < KVM_FT_WIRE_E_MAX; i++)
		printf("%s\"%s\":%llu", i > 1 ? "," : "", error_names[i],
		       (unsigned long long)vm->errors[i]);
	printf("},\"pause_hist\":[");
	for (i = 0; i < KVM_FT_PAUSE_BUCKETS; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)vm->pause_hist[i]);
	printf("],\"out_held\":%llu,\"out_held_bytes\":%llu,\"out_released\":%llu,"
	       "\"out_released_bytes\":%llu,\"out_dropped\":%llu,\"out_depth\":%llu,"
	       "\"out_devs\":[", (unsigned long long)vm->out_held,
	       (unsigned long long)vm->out_held_bytes, (unsigned long long)vm->out_released,
	       (unsigned long long)vm->out_released_bytes, (unsigned long long)vm->out_dropped,
	       (unsigned long long)vm->out_depth);
	print_devs(vm, true);
	printf("],\"out_hold_hist\":[");
	for (i = 0; i < KVM_FT_PAUSE_BUCKETS; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)vm->out_hold_hist[i]);
	printf("],\"key_fpr\":");
	printf(vm->keyed ? "\"%08x\"" : "null", vm->key_fpr);
	printf(",\"insecure\":%s,\"peer\":\"%s\"}", vm->insecure ? "true" : "false", vm->peer);
}

/* How the VM's link is keyed, in words. */
static void print_keying(const struct vm_info *vm)
{
	if (vm->keyed)
		printf("key:       fingerprint %08x\n", vm->key_fpr);
	else if (vm->insecure)
		printf("key:       none: insecure, as told (no authentication, no encryption)\n");
	else
		printf("key:       none (pair and listen need one, or 'insecure')\n");
	if (vm->peer[0])
		printf("peer:      VM %s\n", vm->peer);
}

static int list_cb(struct nl_msg *msg, void *arg)
{
	struct ctx *c = arg;
	struct vm_info vm;

	if (parse_vm(msg, &vm))
		return NL_SKIP;
	if (json) {
		print_vm_json(&vm, c->shown);
	} else {
		if (!c->shown)
			printf("%-20s %-8s %-8s %6s %12s %10s\n", "NAME", "ROLE", "STATE",
			       "VCPUS", "MEMORY", "EPOCH_US");
		printf("%-20s %-8s %-8s %6u %8llu MiB %10u\n", vm.name, role_name(vm.role),
		       state_name(vm.state), vm.nr_vcpus,
		       (unsigned long long)(vm.mem_bytes >> 20), vm.epoch_us);
	}
	c->shown++;
	return NL_OK;
}

static int show_cb(struct nl_msg *msg, void *arg)
{
	struct ctx *c = arg;
	struct vm_info vm;

	if (parse_vm(msg, &vm))
		return NL_SKIP;
	if (json) {
		print_vm_json(&vm, 0);
		putchar('\n');
	} else {
		int i, any = 0;

		printf("name:      %s\nrole:      %s\nstate:     %s\nepoch:     %u us\n"
		       "vcpus:     %u\nmemory:    %llu bytes\nvmm pid:   %u (uid %u)\n"
		       "applied:   %llu epochs (last %llu, newest begun %llu), %llu pages\n"
		       "received:  %llu bytes, "
		       "%llu heartbeats\npeer lost: %llu times\n",
		       vm.name, role_name(vm.role), state_name(vm.state), vm.epoch_us,
		       vm.nr_vcpus, (unsigned long long)vm.mem_bytes, vm.vmm_pid, vm.owner_uid,
		       (unsigned long long)vm.epochs, (unsigned long long)vm.last_epoch,
		       (unsigned long long)vm.cur_epoch,
		       (unsigned long long)vm.pages, (unsigned long long)vm.bytes_rx,
		       (unsigned long long)vm.heartbeats, (unsigned long long)vm.peer_lost);
		if (vm.port)
			printf(vm.addr6 ? "link:      %s [%s]:%u\n" : "link:      %s %s:%u\n",
			       vm.role == KVM_FT_ROLE_BACKUP ? "listens on" : "pairs with",
			       vm.addr, vm.port);
		else
			printf("link:      none yet (pair or listen)\n");
		print_keying(&vm);
		printf("refused:  ");
		for (i = 1; i < KVM_FT_WIRE_E_MAX; i++)
			if (vm.errors[i])
				any = printf(" %s %llu", error_names[i],
					     (unsigned long long)vm.errors[i]);
		puts(any ? "" : " none");
		if (vm.role == KVM_FT_ROLE_BACKUP && vm.verified)
			printf("verified:  %llu epochs (memory equal to the primary's)\n",
			       (unsigned long long)vm.verified);
		if (vm.role == KVM_FT_ROLE_PRIMARY)
			printf("sent:      %llu bytes; sync %llu of %llu pages\n"
			       "paused:    last %llu us, longest %llu us, in all %llu us\n"
			       "epochs:    the largest %llu pages\n"
			       "stalls:    %llu; in flight %u; %llu epochs not taken (a vCPU not held)\n"
			       "devices:   last state %llu bytes; %llu epochs without (late)\n",
			       (unsigned long long)vm.bytes_tx, (unsigned long long)vm.sync_done,
			       (unsigned long long)vm.sync_total,
			       (unsigned long long)vm.pause_last_ns / 1000,
			       (unsigned long long)vm.pause_max_ns / 1000,
			       (unsigned long long)vm.pause_total_ns / 1000,
			       (unsigned long long)vm.epoch_pages_max,
			       (unsigned long long)vm.stalls, vm.inflight,
			       (unsigned long long)vm.park_timeouts,
			       (unsigned long long)vm.device_len,
			       (unsigned long long)vm.device_timeouts);
		if (vm.role == KVM_FT_ROLE_PRIMARY) {
			printf("output:    held on ");
			print_devs(&vm, false);
			printf("; %llu packets (%llu bytes) held, %llu released, %llu dropped "
			       "(full); %llu bytes held now; held p50 <= %llu us, p99 <= %llu us\n",
			       (unsigned long long)vm.out_held,
			       (unsigned long long)vm.out_held_bytes,
			       (unsigned long long)vm.out_released,
			       (unsigned long long)vm.out_dropped,
			       (unsigned long long)vm.out_depth,
			       hist_quantile(vm.out_hold_hist, 0.5),
			       hist_quantile(vm.out_hold_hist, 0.99));
		}
	}
	c->shown++;
	return NL_OK;
}

/*
 * Keep the kernel's own reason for a refusal (the extended ack's message),
 * then let libnl turn the error into its return value as usual.
 */
static int error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *a;
	size_t off = sizeof(*e);
	int rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	if (NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return NL_STOP;
	nla_for_each_attr(a, (struct nlattr *)((char *)e + NLMSG_ALIGN(off)),
			  nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(off), rem)
		if (nla_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(kernel_why, sizeof(kernel_why), "%.*s", nla_len(a), (char *)nla_data(a));
	return NL_STOP;
}

/* Turn the kernel's answer into a message a person can act on. */
static int refused(int nlerr, const char *what, const char *vm)
{
	int err = nlerr < 0 ? -nlerr : nlerr;

	if (kernel_why[0] && err != NLE_PERM && err != NLE_OBJ_NOTFOUND) {
		fprintf(stderr, "ftnl: %s: '%s': %s\n", what, vm ? vm : "", kernel_why);
		return EXIT_REFUSED;
	}
	switch (err) {
	case NLE_PERM:
		fprintf(stderr, "ftnl: %s: not permitted (needs CAP_NET_ADMIN)\n", what);
		break;
	case NLE_OBJ_NOTFOUND:
		fprintf(stderr, "ftnl: %s: no protected VM named '%s'\n", what, vm ? vm : "");
		break;
	case NLE_INVAL:
	case NLE_RANGE:
		fprintf(stderr, "ftnl: %s: invalid argument\n", what);
		break;
	case NLE_BUSY:
	case NLE_EXIST:
		fprintf(stderr, "ftnl: %s: '%s': %s\n", what, vm ? vm : "", nl_geterror(nlerr));
		break;
	default:
		fprintf(stderr, "ftnl: %s: %s\n", what, nl_geterror(nlerr));
	}
	return EXIT_REFUSED;
}

/*
 * Send @msg; with @cb, feed the replies to it until the last (a dump's DONE,
 * or the one reply of a doit); without, wait for the ACK that @msg asked
 * for.  0 or a libnl error, which carries the kernel's errno.
 */
static int transact(struct ctx *c, struct nl_msg *msg, nl_recvmsg_msg_cb_t cb)
{
	int err;

	if (cb)
		nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, cb, c);
	err = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	return cb ? nl_recvmsgs_default(c->sk) : nl_wait_for_ack(c->sk);
}

static struct nl_msg *request(struct ctx *c, uint8_t cmd, int flags, const char *vm)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
				 flags, cmd, KVM_FT_GENL_VERSION) ||
	    (vm && nla_put_string(msg, KVM_FT_A_VM_NAME, vm) < 0)) {
		fprintf(stderr, "ftnl: out of memory\n");
		exit(EXIT_REFUSED);
	}
	return msg;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= KVM_FT_NAME_LEN ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		fprintf(stderr, "ftnl: '%s' is not a VM name (1-%d of A-Z a-z 0-9 . _ -)\n",
			name, KVM_FT_NAME_LEN - 1);
		return false;
	}
	return true;
}

static int cmd_list(struct ctx *c, int argc, char **argv)
{
	int err;

	if (argc != 1)
		return EXIT_USAGE;
	if (json)
		putchar('[');
	err = transact(c, request(c, KVM_FT_CMD_GET_VM, NLM_F_DUMP, NULL), list_cb);
	if (err < 0)
		return refused(err, "list", NULL);
	if (json)
		puts("]");
	else if (!c->shown)
		puts("no protected VMs");
	return 0;
}

static int cmd_show(struct ctx *c, int argc, char **argv)
{
	int err;

	if (argc != 2)
		return EXIT_USAGE;
	if (!name_ok(argv[1]))
		return EXIT_USAGE;
	err = transact(c, request(c, KVM_FT_CMD_GET_VM, 0, argv[1]), show_cb);
	return err < 0 ? refused(err, "show", argv[1]) : 0;
}

/*
 * A key file (or "-": standard input): 64 hex digits, whitespace around
 * them allowed, as ftnl genkey writes it.  A file others may read is
 * taken, with a warning.  0, or -1 with the reason printed.
 */
static int read_key(const char *path, uint8_t *key)
{
	char buf[256], *p;
	struct stat st;
	size_t n, i;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(stderr, "ftnl: key file '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (f != stdin && !fstat(fileno(f), &st) && (st.st_mode & 077))
		fprintf(stderr, "ftnl: warning: key file '%s' is accessible to others "
			"(chmod 600 it)\n", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (f != stdin)
		fclose(f);
	buf[n] = 0;
	p = buf + strspn(buf, " \t\r\n");
	n = strspn(p, "0123456789abcdefABCDEF");
	if (n != 2 * KVM_FT_KEY_LEN || p[n + strspn(p + n, " \t\r\n")]) {
		fprintf(stderr, "ftnl: key file '%s': expected %d hex digits (ftnl genkey)\n",
			path, 2 * KVM_FT_KEY_LEN);
		memset(buf, 0, sizeof(buf));
		return -1;
	}
	for (i = 0; i < KVM_FT_KEY_LEN; i++)
		sscanf(p + 2 * i, "%2hhx", &key[i]);
	memset(buf, 0, sizeof(buf));
	return 0;
}

/*
 * The options of set, listen and pair, as "key value" pairs after the
 * command's own arguments: "key FILE", "insecure" (no value), and what
 * @allowed adds ("epoch-us N" for set, "owner UID" for listen and pair).
 * Each goes into @msg; false (and the reason printed) on a bad one.
 */
static bool put_options(struct nl_msg *msg, int argc, char **argv, const char *allowed)
{
	uint8_t key[KVM_FT_KEY_LEN];
	unsigned long v;
	char *end;
	int i, err;

	for (i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "insecure")) {
			if (nla_put_flag(msg, KVM_FT_A_INSECURE) < 0)
				return false;
			continue;
		}
		if (!val || (strcmp(opt, "key") && (strncmp(allowed, opt, strlen(opt)) ||
						    allowed[strlen(opt)] != ' '))) {
			fprintf(stderr, "ftnl: '%s': expected one of: key FILE, insecure, %s\n",
				opt, allowed);
			return false;
		}
		i++;
		if (!strcmp(opt, "key")) {
			if (read_key(val, key))
				return false;
			err = nla_put(msg, KVM_FT_A_KEY, sizeof(key), key);
			memset(key, 0, sizeof(key));
			if (err < 0)
				return false;
			continue;
		}
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || *end || end == val || val[0] == '-') {
			fprintf(stderr, "ftnl: %s: '%s' is not a number\n", opt, val);
			return false;
		}
		if (!strcmp(opt, "owner") && v <= UINT32_MAX) {
			if (nla_put_u32(msg, KVM_FT_A_VM_OWNER_UID, v) < 0)
				return false;
		} else if (!strcmp(opt, "epoch-us") && v >= KVM_FT_EPOCH_US_MIN &&
			   v <= KVM_FT_EPOCH_US_MAX) {
			if (nla_put_u32(msg, KVM_FT_A_VM_EPOCH_US, v) < 0)
				return false;
		} else {
			fprintf(stderr, "ftnl: %s: %s is out of range%s\n", opt, val,
				strcmp(opt, "epoch-us") ? "" : " (1000 to 2000000)");
			return false;
		}
	}
	return true;
}

static int cmd_set(struct ctx *c, int argc, char **argv)
{
	struct nl_msg *msg;
	int err;

	if (argc < 3 || !name_ok(argv[1]))
		return EXIT_USAGE;
	msg = request(c, KVM_FT_CMD_SET_VM, NLM_F_ACK, argv[1]);
	if (!put_options(msg, argc - 2, argv + 2, "epoch-us N")) {
		nlmsg_free(msg);
		return EXIT_USAGE;
	}
	err = transact(c, msg, NULL);
	return err < 0 ? refused(err, "set", argv[1]) : 0;
}

/*
 * listen and pair: VM ADDR PORT [key FILE | insecure] [owner UID], for a
 * VM of the role the command needs; "owner UID" confirms linking a VM
 * that another user registered.
 */
static int cmd_link(struct ctx *c, int argc, char **argv, uint8_t cmd,
		    const char *role)
{
	struct in6_addr addr6;
	unsigned long port;
	struct in_addr addr;
	struct nl_msg *msg;
	bool v6 = false;
	char *end;
	int err;

	if (argc < 4 || !name_ok(argv[1]))
		return EXIT_USAGE;
	if (inet_pton(AF_INET, argv[2], &addr) != 1) {
		v6 = inet_pton(AF_INET6, argv[2], &addr6) == 1;
		if (!v6) {
			fprintf(stderr, "ftnl: '%s' is not an IPv4 or IPv6 address\n", argv[2]);
			return EXIT_USAGE;
		}
	}
	errno = 0;
	port = strtoul(argv[3], &end, 10);
	if (errno || *end || end == argv[3] || !port || port > 65535) {
		fprintf(stderr, "ftnl: '%s' is not a TCP port (1-65535)\n", argv[3]);
		return EXIT_USAGE;
	}
	msg = request(c, cmd, NLM_F_ACK, argv[1]);
	if ((v6 ? nla_put(msg, KVM_FT_A_ADDR6, sizeof(addr6), &addr6) :
		  nla_put_u32(msg, KVM_FT_A_ADDR, addr.s_addr)) < 0 ||
	    nla_put_u16(msg, KVM_FT_A_PORT, port) < 0 ||
	    !put_options(msg, argc - 4, argv + 4, "owner UID")) {
		nlmsg_free(msg);
		return EXIT_USAGE;
	}
	err = transact(c, msg, NULL);
	if (err == -NLE_INVAL && !kernel_why[0]) {
		fprintf(stderr, "ftnl: %s: '%s' is not a %s VM\n", argv[0], argv[1], role);
		return EXIT_REFUSED;
	}
	if (err == -NLE_BUSY && !kernel_why[0]) {
		fprintf(stderr, "ftnl: %s: '%s' is not idle (ftnl stop it first)\n",
			argv[0], argv[1]);
		return EXIT_REFUSED;
	}
	return err < 0 ? refused(err, argv[0], argv[1]) : 0;
}

/* A new key, as 64 hex digits: for both hosts of a pair, kept secret. */
static int cmd_genkey(struct ctx *c, int argc, char **argv)
{
	uint8_t key[KVM_FT_KEY_LEN];
	int i;

	if (argc != 1)
		return EXIT_USAGE;
	if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
		fprintf(stderr, "ftnl: genkey: %s\n", strerror(errno));
		return EXIT_REFUSED;
	}
	for (i = 0; i < KVM_FT_KEY_LEN; i++)
		printf("%02x", key[i]);
	putchar('\n');
	memset(key, 0, sizeof(key));
	return 0;
}

static int cmd_listen(struct ctx *c, int argc, char **argv)
{
	return cmd_link(c, argc, argv, KVM_FT_CMD_LISTEN, "backup");
}

static int cmd_pair(struct ctx *c, int argc, char **argv)
{
	return cmd_link(c, argc, argv, KVM_FT_CMD_PAIR, "primary");
}

static const char *event_name(uint32_t ev, bool json)
{
	switch (ev) {
	case KVM_FT_EV_LINKED: return "linked";
	case KVM_FT_EV_PEER_LOST: return json ? "peer_lost" : "peer lost";
	case KVM_FT_EV_SYNCED: return "synced";
	case KVM_FT_EV_FAILOVER_BEGIN: return json ? "failover_begin" : "failover started";
	case KVM_FT_EV_FAILOVER: return json ? "failover" : "took over";
	case KVM_FT_EV_COMMITTED: return "committed";
	}
	return json ? "unknown" : "unknown event";
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *a[KVM_FT_A_MAX + 1];
	struct ctx *c = arg;
	const char *why = "closed";
	uint32_t ev, reason = 0;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, a, KVM_FT_A_MAX, NULL) < 0 ||
	    !a[KVM_FT_A_VM_NAME] || !a[KVM_FT_A_EVENT])
		return NL_SKIP;
	ev = nla_get_u32(a[KVM_FT_A_EVENT]);
	if (a[KVM_FT_A_EVENT_REASON])
		reason = nla_get_u32(a[KVM_FT_A_EVENT_REASON]);
	if (reason > 0 && reason < KVM_FT_WIRE_E_MAX)
		why = error_names[reason];
	if (json)
		printf("{\"vm\":\"%s\",\"event\":\"%s\"", nla_get_string(a[KVM_FT_A_VM_NAME]),
		       event_name(ev, true));
	else
		printf("%s: %s", nla_get_string(a[KVM_FT_A_VM_NAME]), event_name(ev, false));
	if (ev == KVM_FT_EV_PEER_LOST)
		printf(json ? ",\"reason\":\"%s\"}\n" : " (%s)\n", why);
	else if ((ev == KVM_FT_EV_FAILOVER_BEGIN || ev == KVM_FT_EV_FAILOVER ||
		  ev == KVM_FT_EV_COMMITTED) &&
		 a[KVM_FT_A_EVENT_EPOCH])
		printf(json ? ",\"epoch\":%llu}\n" : " at epoch %llu\n",
		       (unsigned long long)nla_get_u64(a[KVM_FT_A_EVENT_EPOCH]));
	else
		puts(json ? "}" : "");
	fflush(stdout);
	c->shown++;
	return c->limit && c->shown >= c->limit ? NL_STOP : NL_OK;
}

static int cmd_monitor(struct ctx *c, int argc, char **argv)
{
	char *end;
	int grp, err;

	if (argc > 2)
		return EXIT_USAGE;
	if (argc == 2) {
		c->limit = strtol(argv[1], &end, 10);
		if (*end || c->limit <= 0) {
			fprintf(stderr, "ftnl: monitor: '%s' is not a count of events\n", argv[1]);
			return EXIT_USAGE;
		}
	}
	grp = genl_ctrl_resolve_grp(c->sk, KVM_FT_GENL_NAME, KVM_FT_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return refused(grp, "monitor", NULL);
	err = nl_socket_add_membership(c->sk, grp);
	if (err < 0)
		return refused(err, "monitor", NULL);
	nl_socket_disable_seq_check(c->sk);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, c);
	fprintf(stderr, "ftnl: monitoring events%s\n", c->limit ? "" : " (Ctrl-C to stop)");
	while (!c->limit || c->shown < c->limit) {
		err = nl_recvmsgs_default(c->sk);
		if (err < 0 && err != -NLE_INTR)
			return refused(err, "monitor", NULL);
	}
	return 0;
}

/* stop, start and failover: a command on VM alone. */
static int cmd_on_vm(struct ctx *c, int argc, char **argv, uint8_t cmd)
{
	int err;

	if (argc != 2 || !name_ok(argv[1]))
		return EXIT_USAGE;
	err = transact(c, request(c, cmd, NLM_F_ACK, argv[1]), NULL);
	return err < 0 ? refused(err, argv[0], argv[1]) : 0;
}

static int cmd_stop(struct ctx *c, int argc, char **argv)
{
	return cmd_on_vm(c, argc, argv, KVM_FT_CMD_STOP);
}

static int cmd_failover(struct ctx *c, int argc, char **argv)
{
	return cmd_on_vm(c, argc, argv, KVM_FT_CMD_FAILOVER);
}

static int cmd_start(struct ctx *c, int argc, char **argv)
{
	return cmd_on_vm(c, argc, argv, KVM_FT_CMD_START);
}

static const struct command {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
	const char *usage;
	const char *description;
	bool local;		/* needs no kernel */
} commands[] = {
	{ "list", cmd_list, "list", "every VM registered for fault tolerance", false },
	{ "show", cmd_show, "show VM", "one VM's role, state and settings", false },
	{ "set", cmd_set, "set VM [epoch-us N] [key FILE | insecure]",
	  "this VM's epoch length; the key of its next links", false },
	{ "listen", cmd_listen, "listen VM ADDR PORT [key FILE | insecure] [owner UID]",
	  "a backup VM waits for its primary there", false },
	{ "pair", cmd_pair, "pair VM ADDR PORT [key FILE | insecure] [owner UID]",
	  "a primary VM links to its backup there", false },
	{ "genkey", cmd_genkey, "genkey", "print a new key for a pair (keep it secret)", true },
	{ "stop", cmd_stop, "stop VM", "stop listening or replicating: idle again", false },
	{ "start", cmd_start, "start VM", "pair or listen again, where the VM last did", false },
	{ "failover", cmd_failover, "failover VM", "a backup VM takes over now, from its checkpoint", false },
	{ "monitor", cmd_monitor, "monitor [COUNT]", "print events as they come (COUNT: then exit)", false },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ftnl [-j] COMMAND [ARGS]\n\n  -j  JSON output\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n      %s\n", commands[i].usage, commands[i].description);
}

static int connect_family(struct ctx *c)
{
	int one = 1;

	c->sk = nl_socket_alloc();
	if (!c->sk || genl_connect(c->sk)) {
		fprintf(stderr, "ftnl: cannot open a generic netlink socket\n");
		return EXIT_REFUSED;
	}
	/* ACKs only where asked for (set), so no reply is left unread. */
	nl_socket_disable_auto_ack(c->sk);
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, error_cb, NULL);
	c->family = genl_ctrl_resolve(c->sk, KVM_FT_GENL_NAME);
	if (c->family < 0) {
		fprintf(stderr, "ftnl: Cuju's kvm.ko is not loaded (no generic netlink "
			"family '%s')\n", KVM_FT_GENL_NAME);
		return EXIT_NOMODULE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	size_t i;
	int opt, ret;

	while ((opt = getopt(argc, argv, "+jh")) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (!argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		ret = commands[i].local ? 0 : connect_family(&c);
		if (!ret)
			ret = commands[i].fn(&c, argc, argv);
		if (ret == EXIT_USAGE)
			fprintf(stderr, "usage: ftnl [-j] %s\n", commands[i].usage);
		if (c.sk)
			nl_socket_free(c.sk);
		return ret;
	}
	fprintf(stderr, "ftnl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
