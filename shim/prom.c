// SPDX-License-Identifier: GPL-2.0
/*
 * ftnl -p: every VM's state and counters in Prometheus' text exposition
 * format (version 0.0.4), for node_exporter's textfile collector.  Each
 * metric family is printed once, with a sample per VM; times are in
 * seconds, as Prometheus wants; counters end in _total.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ftnl.h"

static void family(const char *name, const char *type, const char *help)
{
	printf("# HELP cuju_%s %s\n# TYPE cuju_%s %s\n", name, help, name, type);
}

/* A label value: VM names are [A-Za-z0-9._-], peers too; escape anyway. */
static void label(const char *key, const char *value, bool last)
{
	printf("%s=\"", key);
	for (; *value; value++) {
		if (*value == '"' || *value == '\\')
			putchar('\\');
		putchar(*value);
	}
	printf(last ? "\"" : "\",");
}

static void sample(const char *name, const struct vm_info *vm, double value)
{
	printf("cuju_%s{", name);
	label("vm", vm->name, true);
	printf("} %.17g\n", value);
}

/* Counters in nanoseconds, which Prometheus wants in seconds. */
static bool in_ns(int i)
{
	return !strcmp(stat_desc[i].unit, "ns");
}

/* A counter's metric name: _ns becomes _seconds; counters get _total. */
static void stat_metric(char *buf, size_t len, int i)
{
	const char *name = stat_desc[i].name;
	size_t n = strlen(name);
	bool ns = in_ns(i);

	snprintf(buf, len, "%.*s%s%s", (int)(ns ? n - 3 : n), name, ns ? "_seconds" : "",
		 stat_desc[i].gauge ? "" : "_total");
}

static void prom_stats(const struct vm_info *vms, int n)
{
	char metric[64], help[256];
	int i, v;

	for (i = 1; i <= KVM_FT_STAT_MAX; i++) {
		bool ns;

		if (!stat_desc[i].name)
			continue;
		ns = in_ns(i);
		stat_metric(metric, sizeof(metric), i);
		snprintf(help, sizeof(help), "%s (%s; %s)", stat_desc[i].what,
			 ns ? "seconds" : stat_desc[i].unit, stat_desc[i].side);
		family(metric, stat_desc[i].gauge ? "gauge" : "counter", help);
		for (v = 0; v < n; v++)
			sample(metric, &vms[v], ns ? vms[v].stat[i] / 1e9 : (double)vms[v].stat[i]);
	}
}

static void prom_hist(const struct vm_info *vms, int n, const char *name, const char *help,
		      size_t offset, int sum_stat)
{
	int i, v;

	family(name, "histogram", help);
	for (v = 0; v < n; v++) {
		const uint64_t *hist = (const uint64_t *)((const char *)&vms[v] + offset);
		uint64_t seen = 0;

		/* The last bucket has no upper end: it is only in +Inf. */
		for (i = 0; i < KVM_FT_HIST_BUCKETS; i++) {
			seen += hist[i];
			if (i == KVM_FT_HIST_BUCKETS - 1)
				break;
			printf("cuju_%s_bucket{", name);
			label("vm", vms[v].name, false);
			printf("le=\"%.6f\"} %" PRIu64 "\n", kvm_ft_hist_lower(i + 1) / 1e6, seen);
		}
		printf("cuju_%s_bucket{", name);
		label("vm", vms[v].name, false);
		printf("le=\"+Inf\"} %" PRIu64 "\n", seen);
		printf("cuju_%s_count{", name);
		label("vm", vms[v].name, true);
		printf("} %" PRIu64 "\n", seen);
		if (!sum_stat)
			continue;
		printf("cuju_%s_sum{", name);
		label("vm", vms[v].name, true);
		printf("} %.17g\n", vms[v].stat[sum_stat] / 1e9);
	}
}

static void prom_state(const struct vm_info *vms, int n)
{
	uint32_t s;
	int v;

	family("vm_info", "gauge", "a registered VM: its role, peer VM and key fingerprint");
	for (v = 0; v < n; v++) {
		char fpr[16];

		snprintf(fpr, sizeof(fpr), vms[v].keyed ? "%08x" : "", vms[v].key_fpr);
		printf("cuju_vm_info{");
		label("vm", vms[v].name, false);
		label("role", role_name(vms[v].role), false);
		label("peer", vms[v].peer, false);
		label("key_fpr", fpr, false);
		label("insecure", vms[v].insecure ? "1" : "0", true);
		printf("} 1\n");
	}
	family("state", "gauge", "1 for the state the VM is in, 0 for the others");
	for (v = 0; v < n; v++)
		for (s = KVM_FT_STATE_IDLE; s <= KVM_FT_STATE_ACTIVE; s++) {
			printf("cuju_state{");
			label("vm", vms[v].name, false);
			label("state", state_name(s), true);
			printf("} %d\n", vms[v].state == s);
		}
	family("epoch_seconds", "gauge", "the VM's epoch length");
	for (v = 0; v < n; v++)
		sample("epoch_seconds", &vms[v], vms[v].epoch_us / 1e6);
	family("memory_bytes", "gauge", "guest memory in the VM's memslots");
	for (v = 0; v < n; v++)
		sample("memory_bytes", &vms[v], vms[v].mem_bytes);
	family("vcpus", "gauge", "the VM's vCPUs");
	for (v = 0; v < n; v++)
		sample("vcpus", &vms[v], vms[v].nr_vcpus);
}

/* Ages: absent (no sample) while unknown, as Prometheus prefers to a fake 0. */
static void prom_ages(const struct vm_info *vms, int n)
{
	int v;

	family("commit_age_seconds", "gauge",
	       "time since the last epoch was committed: what a failover now would lose, at most");
	for (v = 0; v < n; v++)
		if (vms[v].commit_age_ms >= 0)
			sample("commit_age_seconds", &vms[v], vms[v].commit_age_ms / 1e3);
	family("link_up_seconds", "gauge", "time since the link to the peer came up");
	for (v = 0; v < n; v++)
		if (vms[v].link_age_ms >= 0)
			sample("link_up_seconds", &vms[v], vms[v].link_age_ms / 1e3);
}

static void prom_errors(const struct vm_info *vms, int n)
{
	int i, v;

	family("errors_total", "counter", "links ended or refused, by kind (ftnl(8), ERRORS)");
	for (v = 0; v < n; v++)
		for (i = 1; i < KVM_FT_WIRE_E_MAX; i++) {
			printf("cuju_errors_total{");
			label("vm", vms[v].name, false);
			label("kind", error_name(i), true);
			printf("} %" PRIu64 "\n", vms[v].errors[i]);
		}
}

void print_prom(const struct vm_info *vms, int n)
{
	prom_state(vms, n);
	prom_ages(vms, n);
	prom_stats(vms, n);
	prom_errors(vms, n);
	prom_hist(vms, n, "pause_seconds", "how long the vCPUs were held per epoch (primary)",
		  offsetof(struct vm_info, pause_hist), KVM_FT_STAT_PAUSE_TOTAL_NS);
	prom_hist(vms, n, "output_hold_seconds", "how long each packet of output was held",
		  offsetof(struct vm_info, out_hold_hist), 0);
	prom_hist(vms, n, "epoch_length_seconds",
		  "how long each epoch was, snapshot to snapshot (primary)",
		  offsetof(struct vm_info, epoch_hist), 0);
}
