// SPDX-License-Identifier: GPL-2.0
/*
 * ftnl: configure and inspect Cuju, the fault tolerance in kvm.ko, through
 * its generic netlink family (uapi/linux/kvm_ft.h).  Documentation/ftnl.8.rst
 * is its manual; its exit status is in ftnl.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>

#include "ftnl.h"

bool json, prom, stamps;
static bool reported;		/* fail() said why already */

/* The kernel's errno and its own reason for the last refusal, if it gave one. */
static int kernel_errno;
static char kernel_why[256];

/*
 * Say why @what (a command) failed for @vm, as text on stderr or, with
 * -j, as one JSON object on stdout (where a script reads); @status back.
 */
int fail(int status, const char *what, const char *vm, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reported = true;
	if (json) {
		printf("{\"error\":");
		json_string(msg);
		if (what) {
			printf(",\"command\":");
			json_string(what);
		}
		if (vm) {
			printf(",\"vm\":");
			json_string(vm);
		}
		printf(",\"exit\":%d}\n", status);
		fflush(stdout);
		return status;
	}
	fprintf(stderr, "ftnl: ");
	if (what)
		fprintf(stderr, "%s: ", what);
	if (vm)
		fprintf(stderr, "'%s': ", vm);
	fprintf(stderr, "%s\n", msg);
	return status;
}

/* What the kernel's errno means for a script: try again, or not. */
static int errno_status(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return EXIT_PERM;
	case ENOENT:
		return EXIT_NOVM;
	case EBUSY:
	case EAGAIN:
	case EINPROGRESS:
		return EXIT_AGAIN;
	}
	return EXIT_REFUSED;
}

/* Turn the kernel's answer into a message a person can act on, and a status. */
int refused(int nlerr, const char *what, const char *vm)
{
	int err = kernel_errno, status;

	if (nlerr == -NLE_DUMP_INTR || nlerr == -NLE_NOMEM)	/* the list changed; overrun */
		return fail(EXIT_AGAIN, what, vm, "%s: try again", nl_geterror(nlerr));
	if (!err)	/* not from the kernel's answer: libnl's own */
		return fail(nlerr == -NLE_PERM ? EXIT_PERM : EXIT_REFUSED, what, vm, "%s",
			    nl_geterror(nlerr));
	status = errno_status(err);
	switch (err) {
	case EPERM:
		return fail(status, what, NULL, "not permitted (needs CAP_NET_ADMIN)");
	case ENOENT:
		return fail(status, what, NULL, "no protected VM named '%s'", vm ? vm : "");
	}
	return fail(status, what, vm, "%s", kernel_why[0] ? kernel_why : strerror(err));
}

/*
 * Keep the kernel's errno and its own reason for a refusal (the extended
 * ack's message), then let libnl turn the error into its return value.
 */
static int error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *a;
	size_t off = sizeof(*e);
	int rem;

	kernel_errno = -e->error;
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

/*
 * Send @msg; with @cb, feed the replies to it until the last (a dump's DONE,
 * or the one reply of a doit); without, wait for the ACK that @msg asked
 * for.  0 or a libnl error; kernel_errno then holds the kernel's errno.
 */
static int transact(struct ctx *c, struct nl_msg *msg, nl_recvmsg_msg_cb_t cb, void *arg)
{
	int err;

	kernel_errno = 0;
	kernel_why[0] = 0;
	if (cb)
		nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	err = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	return cb ? nl_recvmsgs_default(c->sk) : nl_wait_for_ack(c->sk);
}

/*
 * A message for the family; the socket is opened here, at the first one,
 * so that a command's own checks of its arguments come first.  Exits if
 * the family cannot be reached.
 */
static struct nl_msg *request(struct ctx *c, uint8_t cmd, int flags, const char *vm)
{
	int status = need_family(c);
	struct nl_msg *msg;

	if (status)
		exit(status);
	msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0,
				 flags, cmd, KVM_FT_GENL_VERSION) ||
	    (vm && nla_put_string(msg, KVM_FT_A_VM_NAME, vm) < 0)) {
		fail(EXIT_REFUSED, NULL, NULL, "out of memory");
		exit(EXIT_REFUSED);
	}
	return msg;
}

bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= KVM_FT_NAME_LEN ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len) {
		fail(EXIT_USAGE, NULL, NULL, "'%s' is not a VM name (1-%d of A-Z a-z 0-9 . _ -)",
		     name, KVM_FT_NAME_LEN - 1);
		return false;
	}
	return true;
}

/* What GET_VM brought back: one VM, or every VM of a dump. */
struct vms {
	struct vm_info *vm;
	int n, cap;
};

static int collect_cb(struct nl_msg *msg, void *arg)
{
	struct vms *v = arg;

	if (v->n == v->cap) {
		struct vm_info *more = realloc(v->vm, (v->cap * 2 + 4) * sizeof(*more));

		if (!more)
			return -NLE_NOMEM;	/* libnl stops the dump with it */
		v->vm = more;
		v->cap = v->cap * 2 + 4;
	}
	if (!vm_parse(msg, &v->vm[v->n]))
		v->n++;
	return NL_OK;
}

/*
 * The VM @vm, or with NULL every VM, into @v.  A dump that the kernel
 * says a registration interrupted is asked for again, a few times.
 */
static int fetch(struct ctx *c, const char *vm, struct vms *v)
{
	int tries = 0, err;

	do {
		v->n = 0;
		err = transact(c, request(c, KVM_FT_CMD_GET_VM, vm ? 0 : NLM_F_DUMP, vm),
			       collect_cb, v);
	} while (err == -NLE_DUMP_INTR && ++tries < 5);
	return err;
}

int get_vm(struct ctx *c, const char *what, const char *vm, struct vm_info *out)
{
	struct vms v = { 0 };
	int err = fetch(c, vm, &v);

	if (err >= 0 && v.n == 1)
		*out = v.vm[0];
	free(v.vm);
	if (err < 0)
		return refused(err, what, vm);
	return v.n == 1 ? 0 : fail(EXIT_REFUSED, what, vm, "no answer from the kernel");
}

/* Every VM, for monitor's first lines; 0 or an exit status. */
int get_vms(struct ctx *c, const char *what, struct vm_info **out, int *n)
{
	struct vms v = { 0 };
	int err = fetch(c, NULL, &v);

	if (err < 0) {
		free(v.vm);
		return refused(err, what, NULL);
	}
	*out = v.vm;
	*n = v.n;
	return 0;
}

static void dump_line(const struct vm_info *vm, bool first)
{
	print_dump(vm);
}

/* show, dump and list: @vm, or every VM; in the format asked for. */
static int print_vms(struct ctx *c, const char *what, const char *vm,
		     void (*human)(const struct vm_info *vm, bool first))
{
	struct vms v = { 0 };
	int err = fetch(c, vm, &v), i;

	if (err < 0) {
		free(v.vm);
		return refused(err, what, vm);
	}
	if (prom) {
		print_prom(v.vm, v.n);
	} else if (json) {
		if (!vm)
			putchar('[');
		for (i = 0; i < v.n; i++)
			print_json(&v.vm[i], !i);
		puts(vm ? "" : "]");
	} else {
		for (i = 0; i < v.n; i++)
			human(&v.vm[i], !i);
		if (!v.n && strcmp(what, "dump"))
			puts("no protected VMs");
	}
	free(v.vm);
	return 0;
}

static int cmd_list(struct ctx *c, int argc, char **argv)
{
	if (argc != 1)
		return EXIT_USAGE;
	return print_vms(c, "list", NULL, print_list);
}

/* show [VM|all], dump [VM|all] */
static int show_or_dump(struct ctx *c, int argc, char **argv,
			void (*human)(const struct vm_info *vm, bool first))
{
	const char *vm = argc == 2 && strcmp(argv[1], "all") ? argv[1] : NULL;

	if (argc > 2 || (vm && !name_ok(vm)))
		return EXIT_USAGE;
	return print_vms(c, argv[0], vm, human);
}

static int cmd_show(struct ctx *c, int argc, char **argv)
{
	return show_or_dump(c, argc, argv, print_show);
}

static int cmd_dump(struct ctx *c, int argc, char **argv)
{
	return show_or_dump(c, argc, argv, dump_line);
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
		fail(EXIT_USAGE, "key file", path, "%s", strerror(errno));
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
		fail(EXIT_USAGE, "key file", path, "expected %d hex digits (ftnl genkey)",
		     2 * KVM_FT_KEY_LEN);
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
 * set takes several, as "set VM epoch-us 20000 key FILE".
 */
static bool put_options(struct nl_msg *msg, int argc, char **argv, const char *what,
			const char *allowed)
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
			fail(EXIT_USAGE, what, NULL, "'%s': expected one of: key FILE, insecure, %s",
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
			fail(EXIT_USAGE, what, NULL, "%s: '%s' is not a number", opt, val);
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
			fail(EXIT_USAGE, what, NULL, "%s: %s is out of range%s", opt, val,
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
	if (!put_options(msg, argc - 2, argv + 2, "set", "epoch-us N")) {
		nlmsg_free(msg);
		return EXIT_USAGE;
	}
	err = transact(c, msg, NULL, NULL);
	return err < 0 ? refused(err, "set", argv[1]) : 0;
}

/*
 * "--wait [SECONDS]" at the end of pair's or start's arguments: how long
 * to wait for the sync (0: no --wait); the arguments before it in *@argc.
 * -1 on a bad count.
 */
static int wait_option(int *argc, char **argv)
{
	char *end;
	long s;

	if (*argc >= 2 && !strcmp(argv[*argc - 1], "--wait")) {
		*argc -= 1;
		return 300;
	}
	if (*argc < 3 || strcmp(argv[*argc - 2], "--wait"))
		return 0;
	s = strtol(argv[*argc - 1], &end, 10);
	if (*end || s <= 0 || s > 86400)
		return -1;
	*argc -= 2;
	return s;
}

/*
 * Send a PAIR or START (@msg) for @vm; with @wait seconds, subscribe to
 * the events first (so that none is missed) and wait for the sync.
 */
static int link_and_wait(struct ctx *c, struct nl_msg *msg, const char *what,
			 const char *vm, int wait)
{
	struct nl_sock *events = NULL;
	int err;

	if (wait) {
		err = events_subscribe(c, what, &events);
		if (err) {
			nlmsg_free(msg);
			return err;
		}
	}
	err = transact(c, msg, NULL, NULL);
	if (err < 0)
		err = refused(err, what, vm);
	else if (wait)
		err = wait_synced(c, events, what, vm, wait);
	if (events)
		nl_socket_free(events);
	return err;
}

/*
 * listen and pair: VM ADDR PORT [key FILE | insecure] [owner UID], for a
 * VM of the role the command needs; "owner UID" confirms linking a VM
 * that another user registered.  pair also takes --wait [SECONDS].
 */
static int cmd_link(struct ctx *c, int argc, char **argv, uint8_t cmd)
{
	int wait = cmd == KVM_FT_CMD_PAIR ? wait_option(&argc, argv) : 0;
	struct in6_addr addr6;
	unsigned long port;
	struct in_addr addr;
	struct nl_msg *msg;
	bool v6 = false;
	char *end;

	if (wait < 0 || argc < 4 || !name_ok(argv[1]))
		return EXIT_USAGE;
	if (inet_pton(AF_INET, argv[2], &addr) != 1) {
		v6 = inet_pton(AF_INET6, argv[2], &addr6) == 1;
		if (!v6)
			return fail(EXIT_USAGE, argv[0], NULL,
				    "'%s' is not an IPv4 or IPv6 address", argv[2]);
	}
	errno = 0;
	port = strtoul(argv[3], &end, 10);
	if (errno || *end || end == argv[3] || !port || port > 65535)
		return fail(EXIT_USAGE, argv[0], NULL, "'%s' is not a TCP port (1-65535)", argv[3]);
	msg = request(c, cmd, NLM_F_ACK, argv[1]);
	if ((v6 ? nla_put(msg, KVM_FT_A_ADDR6, sizeof(addr6), &addr6) :
		  nla_put_u32(msg, KVM_FT_A_ADDR, addr.s_addr)) < 0 ||
	    nla_put_u16(msg, KVM_FT_A_PORT, port) < 0 ||
	    !put_options(msg, argc - 4, argv + 4, argv[0], "owner UID")) {
		nlmsg_free(msg);
		return EXIT_USAGE;
	}
	return link_and_wait(c, msg, argv[0], argv[1], wait);
}

static int cmd_listen(struct ctx *c, int argc, char **argv)
{
	return cmd_link(c, argc, argv, KVM_FT_CMD_LISTEN);
}

static int cmd_pair(struct ctx *c, int argc, char **argv)
{
	return cmd_link(c, argc, argv, KVM_FT_CMD_PAIR);
}

/* A new key, as 64 hex digits: for both hosts of a pair, kept secret. */
static int cmd_genkey(struct ctx *c, int argc, char **argv)
{
	uint8_t key[KVM_FT_KEY_LEN];
	int i;

	if (argc != 1)
		return EXIT_USAGE;
	if (getrandom(key, sizeof(key), 0) != sizeof(key))
		return fail(EXIT_REFUSED, "genkey", NULL, "%s", strerror(errno));
	for (i = 0; i < KVM_FT_KEY_LEN; i++)
		printf("%02x", key[i]);
	putchar('\n');
	memset(key, 0, sizeof(key));
	return 0;
}

/* stop, start and failover: a command on VM alone. */
static int cmd_on_vm(struct ctx *c, int argc, char **argv, uint8_t cmd)
{
	int err;

	if (argc != 2 || !name_ok(argv[1]))
		return EXIT_USAGE;
	err = transact(c, request(c, cmd, NLM_F_ACK, argv[1]), NULL, NULL);
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
	int wait = wait_option(&argc, argv), err;
	struct vm_info vm;

	if (wait < 0 || argc != 2 || !name_ok(argv[1]))
		return EXIT_USAGE;
	if (wait) {
		err = get_vm(c, "start", argv[1], &vm);
		if (err)
			return err;
		if (vm.role != KVM_FT_ROLE_PRIMARY)
			return fail(EXIT_USAGE, "start", argv[1], "--wait waits for a primary's sync; "
				    "this VM is a %s", role_name(vm.role));
	}
	return link_and_wait(c, request(c, KVM_FT_CMD_START, NLM_F_ACK, argv[1]), "start",
			     argv[1], wait);
}

static int cmd_help(struct ctx *c, int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(struct ctx *c, int argc, char **argv);
	const char *usage;
	const char *help;
} commands[] = {
	{ "show", cmd_show, "show [VM|all]",
	  "Each VM (or only VM) in a block: whether it is protected, its link,\n"
	  "the last committed epoch and how long ago, the sync, pauses, output\n"
	  "held, errors.  -j: JSON, exact numbers; -p: Prometheus text format." },
	{ "dump", cmd_dump, "dump [VM|all]",
	  "One line per VM, key=value, every counter as an exact number: for scripts." },
	{ "list", cmd_list, "list",
	  "A table of every registered VM: role, state, vCPUs, memory, epoch length,\n"
	  "and how long ago its last epoch was committed." },
	{ "set", cmd_set, "set VM KEY VALUE [KEY VALUE ...]",
	  "Change VM's settings.  KEY VALUE: epoch-us N (its epoch length, 1000 to\n"
	  "2000000 us; from the next epoch), key FILE (the key of its next links;\n"
	  "- reads standard input), insecure (no key: no authentication, no\n"
	  "encryption, on purpose)." },
	{ "listen", cmd_listen, "listen VM ADDR PORT [key FILE | insecure] [owner UID]",
	  "A backup VM waits for its primary on ADDR:PORT (IPv4 or IPv6; 0.0.0.0 or\n"
	  ":: for every address).  owner UID: link a VM another user registered." },
	{ "pair", cmd_pair, "pair VM ADDR PORT [key FILE | insecure] [owner UID] [--wait [SECONDS]]",
	  "A primary VM links to its backup at ADDR:PORT, copies all its memory to it\n"
	  "(the sync), then sends an epoch every epoch length.  --wait: return once\n"
	  "the backup holds all its memory (exit 0), or fail with the reason; at most\n"
	  "SECONDS (default 300; exit 7 when they pass)." },
	{ "start", cmd_start, "start VM [--wait [SECONDS]]",
	  "Pair or listen again where VM last did (after stop, or a lost backup)." },
	{ "stop", cmd_stop, "stop VM",
	  "Stop listening or replicating: the VM is idle again (and a primary unprotected)." },
	{ "failover", cmd_failover, "failover VM",
	  "A backup VM takes over now, from its last checkpoint; its VMM runs it." },
	{ "genkey", cmd_genkey, "genkey",
	  "Print a new key (64 hex digits) for a pair: both hosts use the same file." },
	{ "monitor", cmd_monitor, "monitor [-t] [VM] [count N]",
	  "Each VM's state, then events as they come (only VM's, if given); -t: each\n"
	  "line with the local time; count N: exit after N events." },
	{ "help", cmd_help, "help [COMMAND | counters]",
	  "This help, one command's, or the table of counters (name, unit, meaning)." },
};
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ftnl [-j | -p] [-t] COMMAND [ARGS]    ftnl --version\n\n"
		   "  -j, --json        JSON output (errors too, on standard output)\n"
		   "  -p, --prometheus  show and dump in Prometheus' text format\n"
		   "  -t, --timestamp   monitor: each line with the local time\n\n"
		   "commands (ftnl help COMMAND, or ftnl COMMAND --help, says more):\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nexit status: 0 done; 1 refused; 2 usage; 3 Cuju's kvm.ko not loaded;\n"
		   "4 not permitted; 5 no such VM; 6 busy, try again later; 7 --wait timed out\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static void command_help(const struct command *cmd)
{
	printf("usage: ftnl %s\n\n%s\n", cmd->usage, cmd->help);
}

static int cmd_help(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd;

	if (argc == 1) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "counters")) {
		print_counters();
		return 0;
	}
	cmd = argc == 2 ? find_command(argv[1]) : NULL;
	if (!cmd)
		return fail(EXIT_USAGE, "help", NULL, "no command '%s' (ftnl help lists them)",
			    argc == 2 ? argv[1] : "");
	command_help(cmd);
	return 0;
}

/* The family's version, as the kernel's controller gives it; -1 if unknown. */
static int family_version(struct nl_sock *sk)
{
	struct nl_cache *cache;
	struct genl_family *f;
	int version = -1;

	if (genl_ctrl_alloc_cache(sk, &cache) < 0)
		return -1;
	f = genl_ctrl_search_by_name(cache, KVM_FT_GENL_NAME);
	if (f) {
		version = genl_family_get_version(f);
		genl_family_put(f);
	}
	nl_cache_free(cache);
	return version;
}

static int connect_family(struct ctx *c)
{
	int one = 1, version;

	c->sk = nl_socket_alloc();
	if (!c->sk || genl_connect(c->sk))
		return fail(EXIT_REFUSED, NULL, NULL, "cannot open a generic netlink socket");
	/* ACKs only where asked for (set), so no reply is left unread. */
	nl_socket_disable_auto_ack(c->sk);
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, error_cb, NULL);
	c->family = genl_ctrl_resolve(c->sk, KVM_FT_GENL_NAME);
	if (c->family < 0)
		return fail(EXIT_NOMODULE, NULL, NULL, "no generic netlink family '%s': Cuju's "
			    "kvm.ko is not loaded, or this is not the initial network namespace",
			    KVM_FT_GENL_NAME);
	/* Attribute numbers belong to a version: another's would be misread. */
	version = family_version(c->sk);
	if (version != KVM_FT_GENL_VERSION)
		return fail(EXIT_NOMODULE, NULL, NULL, "the kvm.ko loaded speaks %s version %d, "
			    "this ftnl version %d: load the kvm.ko of this release",
			    KVM_FT_GENL_NAME, version, KVM_FT_GENL_VERSION);
	return 0;
}

int need_family(struct ctx *c)
{
	return c->sk ? 0 : connect_family(c);
}

static int run(const struct command *cmd, int argc, char **argv)
{
	struct ctx c = { 0 };
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		command_help(cmd);
		return 0;
	}
	ret = cmd->fn(&c, argc, argv);
	if (ret == EXIT_USAGE && !reported)
		fail(EXIT_USAGE, cmd->name, NULL, "usage: ftnl %s", cmd->usage);
	else if (ret == EXIT_USAGE && !json)
		fprintf(stderr, "usage: ftnl %s\n", cmd->usage);
	if (c.sk)
		nl_socket_free(c.sk);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "timestamp", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const struct command *cmd;
	int opt;

	while ((opt = getopt_long(argc, argv, "+jptVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			prom = true;
			break;
		case 't':
			stamps = true;
			break;
		case 'V':
			printf("ftnl %s (netlink family %s version %d, wire protocol %d to %d)\n",
			       FTNL_VERSION, KVM_FT_GENL_NAME, KVM_FT_GENL_VERSION,
			       KVM_FT_WIRE_VERSION_MIN, KVM_FT_WIRE_VERSION);
			return 0;
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
	if (json && prom)
		return fail(EXIT_USAGE, NULL, NULL, "-j or -p, not both");
	cmd = find_command(argv[0]);
	if (!cmd) {
		fail(EXIT_USAGE, NULL, NULL, "unknown command '%s' (ftnl help lists them)", argv[0]);
		return EXIT_USAGE;
	}
	return run(cmd, argc, argv);
}
