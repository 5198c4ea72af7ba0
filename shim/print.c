// SPDX-License-Identifier: GPL-2.0
/*
 * What ftnl prints of VMs: words for people (show, list: human units),
 * and for programs exact numbers (dump, -j JSON, -p Prometheus).  Every
 * counter comes from stat_desc[], the table of uapi's KVM_FT_STATS().
 */
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ftnl.h"

#define S(vm, NAME) ((vm)->stat[KVM_FT_STAT_##NAME])

/* Bytes, in the largest binary unit that keeps a digit before the point. */
static const char *size_str(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

/* A duration in ns: us below a millisecond, ms below a second, then s. */
static const char *ns_str(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000000)
		snprintf(buf, len, "%" PRIu64 " us", ns / 1000);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

/* An age in ms: "8 ms", "2.3 s", "3m12s", "2h05m", "3d04h". */
static const char *age_str(char *buf, size_t len, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 " ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%.1f s", ms / 1e3);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

/*
 * "under T": the upper end of the bucket below which @q of @hist's counts
 * lie; "over T" when that is the last bucket, which has no upper end.
 * NULL when nothing was counted.
 */
static const char *hist_quantile(char *buf, size_t len, const uint64_t *hist, double q)
{
	uint64_t total = 0, seen = 0;
	char t[32];
	int i;

	for (i = 0; i < KVM_FT_HIST_BUCKETS; i++)
		total += hist[i];
	for (i = 0; total && i < KVM_FT_HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen < q * total)
			continue;
		if (i == KVM_FT_HIST_BUCKETS - 1)
			snprintf(buf, len, "over %s", ns_str(t, sizeof(t), kvm_ft_hist_lower(i) * 1000));
		else
			snprintf(buf, len, "under %s",
				 ns_str(t, sizeof(t), kvm_ft_hist_lower(i + 1) * 1000));
		return buf;
	}
	return NULL;
}

/* "s" for a count that is not one. */
static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static bool synced(const struct vm_info *vm)
{
	return S(vm, SYNC_TOTAL) && S(vm, SYNC_DONE) >= S(vm, SYNC_TOTAL);
}

/* The first line's verdict: is this VM protected, and if not, why. */
static const char *verdict(const struct vm_info *vm)
{
	if (vm->role == KVM_FT_ROLE_PRIMARY) {
		switch (vm->state) {
		case KVM_FT_STATE_IDLE: return "not protected (idle: pair it)";
		case KVM_FT_STATE_CONNECTING: return "not protected yet (connecting to its backup)";
		case KVM_FT_STATE_CONNECTED:
			return synced(vm) ? "protected" : "not protected yet (copying memory)";
		case KVM_FT_STATE_UNPROTECTED: return "NOT PROTECTED (lost its backup)";
		}
	} else {
		switch (vm->state) {
		case KVM_FT_STATE_IDLE: return "idle (listen to protect its primary)";
		case KVM_FT_STATE_LISTENING: return "waiting for its primary";
		case KVM_FT_STATE_RECEIVING:
			return S(vm, CHECKPOINT) ? "holds its primary's checkpoint" :
			       "no checkpoint yet (taking its primary's memory)";
		case KVM_FT_STATE_ACTIVE: return "took over: the VM runs here";
		}
	}
	return state_name(vm->state);
}

static void show_link(const struct vm_info *vm)
{
	char buf[32];

	printf("  state:     %s", state_name(vm->state));
	if (vm->link_age_ms >= 0)
		printf(", link up %s", age_str(buf, sizeof(buf), vm->link_age_ms));
	printf("\n  %-10s ", vm->role == KVM_FT_ROLE_PRIMARY ? "backup:" : "primary:");
	if (!vm->port)
		printf("none yet (%s)", vm->role == KVM_FT_ROLE_PRIMARY ? "pair" : "listen");
	else
		printf(vm->addr6 ? "%s[%s]:%u" : "%s%s:%u",
		       vm->role == KVM_FT_ROLE_PRIMARY ? "" : "listening on ", vm->addr, vm->port);
	if (vm->peer[0])
		printf(" (VM %s)", vm->peer);
	if (vm->keyed)
		printf(", key %08x\n", vm->key_fpr);
	else if (vm->insecure)
		printf(", INSECURE as told (no authentication, no encryption)\n");
	else
		printf(", no key yet\n");
}

static void show_commit(const struct vm_info *vm)
{
	char buf[32];

	printf("  epoch:     %s\n  committed: ", ns_str(buf, sizeof(buf), vm->epoch_us * 1000ULL));
	if (vm->commit_age_ms < 0) {
		puts("nothing yet");
		return;
	}
	printf("epoch %" PRIu64 " %s, %s ago", S(vm, LAST_EPOCH),
	       vm->role == KVM_FT_ROLE_PRIMARY ? "acknowledged" : "applied",
	       age_str(buf, sizeof(buf), vm->commit_age_ms));
	printf(" (%" PRIu64 " epoch%s in all)\n", S(vm, EPOCHS), plural(S(vm, EPOCHS)));
}

static void show_sync(const struct vm_info *vm)
{
	uint64_t done = S(vm, SYNC_DONE), total = S(vm, SYNC_TOTAL);
	char a[32], b[32], r[32];
	double secs, rate;

	printf("  sync:      ");
	if (!total) {
		puts("not begun");
		return;
	}
	if (synced(vm)) {
		printf("done (%s)\n", size_str(a, sizeof(a), total * 4096));
		return;
	}
	printf("%" PRIu64 "%% (%s of %s)", done * 100 / total, size_str(a, sizeof(a), done * 4096),
	       size_str(b, sizeof(b), total * 4096));
	secs = vm->link_age_ms / 1e3;
	rate = secs > 0 ? done * 4096 / secs : 0;
	if (rate > 0)
		printf(", %s/s, about %.0f s left", size_str(r, sizeof(r), rate),
		       (total - done) * 4096 / rate);
	putchar('\n');
}

static void show_primary(const struct vm_info *vm)
{
	char a[32], b[32], c[32];

	show_sync(vm);
	if (hist_quantile(c, sizeof(c), vm->pause_hist, 0.99))
		printf("  paused:    last %s, longest %s, 99%% %s; %" PRIu64 " page%s copied"
		       " early (about to be written)\n",
		       ns_str(a, sizeof(a), S(vm, PAUSE_LAST_NS)),
		       ns_str(b, sizeof(b), S(vm, PAUSE_MAX_NS)), c, S(vm, EARLY_COPIES),
		       plural(S(vm, EARLY_COPIES)));
	else
		printf("  paused:    never yet\n");
	if (hist_quantile(a, sizeof(a), vm->epoch_hist, 0.5) &&
	    hist_quantile(b, sizeof(b), vm->epoch_hist, 0.99))
		printf("  lengths:   of epochs, 50%% %s, 99%% %s\n", a, b);
	printf("  sent:      %s, %" PRIu64 " page%s (%" PRIu64 " all zero, %" PRIu64
	       " as deltas); %" PRIu64 " epoch%s in flight, %" PRIu64 " stall%s\n",
	       size_str(a, sizeof(a), S(vm, BYTES_TX)), S(vm, PAGES), plural(S(vm, PAGES)),
	       S(vm, ZERO_PAGES), S(vm, DELTA_PAGES), S(vm, INFLIGHT), plural(S(vm, INFLIGHT)), S(vm, STALLS),
	       plural(S(vm, STALLS)));
	printf("  devices:   last state %s; %" PRIu64 " epoch%s late, %" PRIu64
	       " not taken (a vCPU not held)\n", size_str(a, sizeof(a), S(vm, DEVICE_LEN)),
	       S(vm, DEVICE_TIMEOUTS), plural(S(vm, DEVICE_TIMEOUTS)), S(vm, PARK_TIMEOUTS));
}

/* The name of the @i-th tap the output is held on, or NULL past the last. */
static const char *out_dev(const struct vm_info *vm, int i, char name[IF_NAMESIZE])
{
	if (i >= OUT_DEVS_MAX || !vm->out_devs[i])
		return NULL;
	if (!if_indextoname(vm->out_devs[i], name))
		snprintf(name, IF_NAMESIZE, "#%u", vm->out_devs[i]);
	return name;
}

static void show_output(const struct vm_info *vm)
{
	char name[IF_NAMESIZE], a[32], b[32], held[48];
	int n;

	printf("  output:    ");
	for (n = 0; out_dev(vm, n, name); n++)
		printf("%s%s", n ? "," : "held on ", name);
	if (!n) {
		puts("not held (no tap given)");
		return;
	}
	printf(": %s held now; %" PRIu64 " packets released (%s), %" PRIu64 " dropped",
	       size_str(a, sizeof(a), S(vm, OUT_DEPTH)), S(vm, OUT_RELEASED),
	       size_str(b, sizeof(b), S(vm, OUT_RELEASED_BYTES)), S(vm, OUT_DROPPED));
	if (hist_quantile(held, sizeof(held), vm->out_hold_hist, 0.99))
		printf("; 99%% held %s", held);
	putchar('\n');
}

static void show_errors(const struct vm_info *vm)
{
	int i, n = 0;

	printf("  link lost: %" PRIu64 " time%s\n  errors:   ", S(vm, PEER_LOST),
	       plural(S(vm, PEER_LOST)));
	for (i = 1; i < KVM_FT_WIRE_E_MAX; i++)
		if (vm->errors[i])
			printf("%s %s %" PRIu64 " (%s)", n++ ? "," : "", error_name(i),
			       vm->errors[i], error_gloss(i));
	puts(n ? "" : " none");
}

void print_show(const struct vm_info *vm, bool first)
{
	char a[32], b[32];

	printf("%s%s: %s, %s\n", first ? "" : "\n", vm->name, role_name(vm->role), verdict(vm));
	show_link(vm);
	show_commit(vm);
	if (vm->role == KVM_FT_ROLE_PRIMARY) {
		show_primary(vm);
		show_output(vm);
	} else {
		printf("  received:  %s, %" PRIu64 " page%s (%" PRIu64 " all zero, %" PRIu64
		       " as deltas); %" PRIu64 " heartbeat%s\n",
		       size_str(a, sizeof(a), S(vm, BYTES_RX)), S(vm, PAGES),
		       plural(S(vm, PAGES)), S(vm, ZERO_PAGES), S(vm, DELTA_PAGES), S(vm, HEARTBEATS),
		       plural(S(vm, HEARTBEATS)));
		if (S(vm, CHECKPOINT))
			printf("  resume:    from epoch %" PRIu64 " (what a failover now starts from)\n",
			       S(vm, CHECKPOINT));
		else
			printf("  resume:    nothing (no checkpoint: a failover now is refused)\n");
		if (S(vm, VERIFIED))
			printf("  verified:  %" PRIu64 " epochs (memory equal to the primary's)\n",
			       S(vm, VERIFIED));
	}
	show_errors(vm);
	printf("  vm:        %u vCPU%s, %s of memory, VMM pid %u (uid %u)\n", vm->nr_vcpus,
	       plural(vm->nr_vcpus), size_str(b, sizeof(b), vm->mem_bytes), vm->vmm_pid,
	       vm->owner_uid);
}

void print_list(const struct vm_info *vm, bool first)
{
	char mem[32], epoch[32], age[32], ago[40] = "-";

	if (first)
		printf("%-20s %-8s %-12s %5s %10s %8s  %s\n", "NAME", "ROLE", "STATE", "VCPUS",
		       "MEMORY", "EPOCH", "COMMITTED");
	if (vm->commit_age_ms >= 0)
		snprintf(ago, sizeof(ago), "%s ago", age_str(age, sizeof(age), vm->commit_age_ms));
	printf("%-20s %-8s %-12s %5u %10s %8s  %s\n", vm->name, role_name(vm->role),
	       state_name(vm->state), vm->nr_vcpus, size_str(mem, sizeof(mem), vm->mem_bytes),
	       ns_str(epoch, sizeof(epoch), vm->epoch_us * 1000ULL), ago);
}

/* One line per VM, key=value, exact numbers: for scripts that do not read JSON. */
void print_dump(const struct vm_info *vm)
{
	int i;

	printf("name=%s role=%s state=%s epoch_us=%u vcpus=%u mem_bytes=%" PRIu64
	       " vmm_pid=%u owner_uid=%u addr=%s port=%u peer=%s", vm->name, role_name(vm->role),
	       state_name(vm->state), vm->epoch_us, vm->nr_vcpus, vm->mem_bytes, vm->vmm_pid,
	       vm->owner_uid, vm->port ? vm->addr : "-", vm->port, vm->peer[0] ? vm->peer : "-");
	if (vm->keyed)
		printf(" key_fpr=%08x", vm->key_fpr);
	else
		printf(" key_fpr=-");
	printf(" insecure=%d commit_age_ms=%" PRId64 " link_age_ms=%" PRId64, vm->insecure,
	       vm->commit_age_ms, vm->link_age_ms);
	for (i = 1; i <= KVM_FT_STAT_MAX; i++)
		if (stat_desc[i].name)
			printf(" %s=%" PRIu64, stat_desc[i].name, vm->stat[i]);
	for (i = 1; i < KVM_FT_WIRE_E_MAX; i++)
		printf(" error_%s=%" PRIu64, error_name(i), vm->errors[i]);
	putchar('\n');
}

/* @s as a JSON string: VM names and interface names are plain, but be safe. */
void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_hist(const char *key, const uint64_t *hist)
{
	int i;

	printf(",\"%s\":[", key);
	for (i = 0; i < KVM_FT_HIST_BUCKETS; i++)
		printf("%s%" PRIu64, i ? "," : "", hist[i]);
	putchar(']');
}

static void json_devs(const struct vm_info *vm)
{
	char name[IF_NAMESIZE];
	int n;

	printf(",\"out_devs\":[");
	for (n = 0; out_dev(vm, n, name); n++) {
		if (n)
			putchar(',');
		json_string(name);
	}
	putchar(']');
}

void print_json(const struct vm_info *vm, bool first)
{
	int i;

	printf("%s{\"name\":", first ? "" : ",");
	json_string(vm->name);
	printf(",\"role\":\"%s\",\"state\":\"%s\",\"epoch_us\":%u,\"vcpus\":%u,\"mem_bytes\":%"
	       PRIu64 ",\"vmm_pid\":%u,\"owner_uid\":%u,\"addr\":\"%s\",\"port\":%u,\"peer\":",
	       role_name(vm->role), state_name(vm->state), vm->epoch_us, vm->nr_vcpus,
	       vm->mem_bytes, vm->vmm_pid, vm->owner_uid, vm->addr, vm->port);
	json_string(vm->peer);
	printf(vm->keyed ? ",\"key_fpr\":\"%08x\"" : ",\"key_fpr\":null", vm->key_fpr);
	printf(",\"insecure\":%s", vm->insecure ? "true" : "false");
	printf(vm->commit_age_ms < 0 ? ",\"commit_age_ms\":null" :
	       ",\"commit_age_ms\":%" PRId64, vm->commit_age_ms);
	printf(vm->link_age_ms < 0 ? ",\"link_age_ms\":null" : ",\"link_age_ms\":%" PRId64,
	       vm->link_age_ms);
	for (i = 1; i <= KVM_FT_STAT_MAX; i++)
		if (stat_desc[i].name)
			printf(",\"%s\":%" PRIu64, stat_desc[i].name, vm->stat[i]);
	printf(",\"errors\":{");
	for (i = 1; i < KVM_FT_WIRE_E_MAX; i++)
		printf("%s\"%s\":%" PRIu64, i > 1 ? "," : "", error_name(i), vm->errors[i]);
	putchar('}');
	json_hist("pause_hist", vm->pause_hist);
	json_hist("out_hold_hist", vm->out_hold_hist);
	json_hist("epoch_hist", vm->epoch_hist);
	json_devs(vm);
	putchar('}');
}

/* `ftnl help counters`: the table, as the kernel counts. */
void print_counters(void)
{
	int i;

	printf("%-20s %-8s %-7s %-7s %s\n", "COUNTER", "UNIT", "KIND", "ROLE", "MEANING");
	for (i = 1; i <= KVM_FT_STAT_MAX; i++)
		if (stat_desc[i].name)
			printf("%-20s %-8s %-7s %-7s %s\n", stat_desc[i].name, stat_desc[i].unit,
			       stat_desc[i].gauge ? "gauge" : "counter", stat_desc[i].side,
			       stat_desc[i].what);
}

/* "[2026-12-06T02:30:01.123] ", local time: monitor -t. */
void print_stamp(void)
{
	struct timeval tv;
	char buf[32];
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf(json ? "\"time\":\"%s.%03ld\"," : "[%s.%03ld] ", buf, (long)tv.tv_usec / 1000);
}
