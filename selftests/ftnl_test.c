// SPDX-License-Identifier: GPL-2.0
/*
 * What an administrator sees of ftnl, held to files in the tree: golden
 * transcripts (selftests/golden/) of a scripted sequence of commands, each
 * command's output, human and JSON, and each error with its exit status;
 * the documented exit statuses, each brought about; and the Prometheus
 * output, read by a real parser (Debian's python3-prometheus-client).
 *
 * A transcript that differs is printed whole, each line after "# got| ":
 *   sed -n 's/^# got| //p' LOG | tr -d '\r' > selftests/golden/NAME.txt
 * takes it as the new golden file, once its differences are meant.
 */
#include <errno.h>
#include <linux/kvm_ft.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pair.h"
#include "run.h"
#include "test.h"
#include "vmm.h"

#define PORT	"7928"		/* Documentation/testing.rst: the suite's ports */
#define PORT2	"7929"
/* A loaded machine's loopback can stall a sync past the default second. */
#define FAILOVER_MS	5000

FIXTURE(gold) {
	struct vm *p, *b;
	char out[65536];
	char script[131072];	/* the transcript so far */
	size_t len;
	bool linked;		/* mask what a running link changes */
};

static int ft_register(struct vm *vm, const char *name, uint32_t role)
{
	struct kvm_ft_register r = { .role = role, .flags = KVM_FT_F_NO_DEVICE_STATE };

	memcpy(r.name, name, strnlen(name, sizeof(r.name)));
	return ioctl(vm->fd, KVM_FT_REGISTER, &r) ? errno : 0;
}

FIXTURE_SETUP(gold)
{
	ASSERT_NE(NULL, getenv("CUJU_FTNL")) TH_LOG("run by the test runner");
	ASSERT_TRUE(knob_set("failover_timeout_ms", FAILOVER_MS));
	self->p = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	self->b = vm_create_with(KVM_MEM_LOG_DIRTY_PAGES);
	vcpu_add(self->p, 0, NULL, 0, 0);
	vcpu_add(self->b, 0, NULL, 0, 0);
	ASSERT_EQ(0, ft_register(self->p, "gold-p", KVM_FT_ROLE_PRIMARY));
	ASSERT_EQ(0, ft_register(self->b, "gold-b", KVM_FT_ROLE_BACKUP));
}

FIXTURE_TEARDOWN(gold)
{
	char out[1024];

	FTNL(out, "stop", "gold-p");
	FTNL(out, "stop", "gold-b");
	vm_destroy(self->p);
	vm_destroy(self->b);
	knob_set("failover_timeout_ms", KVM_FT_FAILOVER_MS_DEFAULT);
}

/* Replace every match of @re in @s (NUL-ended, @size bytes) by @with; cut at @size. */
static void mask(char *s, size_t size, const char *re, const char *with)
{
	char *tmp = calloc(1, size), *in = s;
	size_t len = 0;
	regmatch_t m;
	regex_t r;

	if (!tmp || regcomp(&r, re, REG_EXTENDED))
		abort();
	while (!regexec(&r, in, 1, &m, in == s ? 0 : REG_NOTBOL) && m.rm_eo > 0) {
		len += snprintf(tmp + len, size - len, "%.*s%s", (int)m.rm_so, in, with);
		if (len >= size)
			break;
		in += m.rm_eo;
	}
	if (len < size)
		snprintf(tmp + len, size - len, "%s", in);
	memcpy(s, tmp, size);
	regfree(&r);
	free(tmp);
}

/*
 * What varies from run to run: the VMM's pid always; with a link up,
 * every duration, size and count (the transcript then holds the shape:
 * which lines, labels and units a person reads, and which JSON keys).
 */
static void mask_varying(FIXTURE_DATA(gold) *self, char *s, size_t size)
{
	mask(s, size, "pid [0-9]+", "pid <pid>");
	mask(s, size, "\"vmm_pid\":[0-9]+", "\"vmm_pid\":<pid>");
	mask(s, size, "vmm_pid=[0-9]+", "vmm_pid=<pid>");
	if (!self->linked)
		return;
	mask(s, size, "[0-9.]+ (us|ms|s)\\b", "<time>");
	mask(s, size, "[0-9.]+ (B|KiB|MiB|GiB)\\b", "<size>");
	mask(s, size, "[0-9]+", "N");
	/* A count of one takes no "s": the word is masked as the number is. */
	mask(s, size, "N pages?\\b", "N page(s)");
	mask(s, size, "N epochs?\\b", "N epoch(s)");
	mask(s, size, "N stalls?\\b", "N stall(s)");
	mask(s, size, "N times?\\b", "N time(s)");
	mask(s, size, "N heartbeats?\\b", "N heartbeat(s)");
	mask(s, size, "N vCPUs?\\b", "N vCPU(s)");
}

/* Add to the transcript, which stops growing when full (and then differs). */
static void add(FIXTURE_DATA(gold) *self, const char *fmt, const char *arg)
{
	size_t room = sizeof(self->script) - self->len;
	int n = snprintf(self->script + self->len, room, fmt, arg);

	self->len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

/*
 * Run ftnl with @argv (NULL-ended; "KEYFILE" stands for the suite's key
 * file) and add the command, its masked output and its exit status to
 * the transcript.  The exit status back.
 */
static int step(FIXTURE_DATA(gold) *self, const char *const *argv)
{
	const char *args[16] = { "ftnl" };
	int i, status;

	char exit_line[32];

	add(self, "%s", "$ ftnl");
	for (i = 0; argv[i] && i < 14; i++) {
		args[i + 1] = strcmp(argv[i], "KEYFILE") ? argv[i] : test_key();
		add(self, " %s", argv[i]);
	}
	args[i + 1] = NULL;
	status = run_capture(0, self->out, sizeof(self->out), getenv("CUJU_FTNL"), args);
	mask_varying(self, self->out, sizeof(self->out));
	snprintf(exit_line, sizeof(exit_line), "[exit %d]\n", status);
	add(self, "\n%s", self->out);
	add(self, "%s", exit_line);
	return status;
}

#define STEP(...) step(self, (const char *const[]){ __VA_ARGS__, NULL })

/* The transcript against selftests/golden/@name.txt; printed whole if they differ. */
static bool same_as_golden(FIXTURE_DATA(gold) *self, const char *name)
{
	static char want[sizeof(self->script)];
	char path[512], *line, *end;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.txt", GOLDEN_DIR, name);
	f = fopen(path, "r");
	if (f) {
		n = fread(want, 1, sizeof(want) - 1, f);
		fclose(f);
	}
	want[n] = 0;
	if (f && !strcmp(want, self->script))
		return true;
	printf("# %s differs from this transcript:\n", path);
	for (line = self->script; *line; line = end + 1) {
		end = strchrnul(line, '\n');
		printf("# got| %.*s\n", (int)(end - line), line);
		if (!*end)
			break;
	}
	return false;
}

/* Nothing linked yet: every number is known, nothing is masked but the pid. */
TEST_F(gold, idle_transcript)
{
	STEP("list");
	STEP("show");
	STEP("show", "gold-p");
	STEP("-j", "show", "gold-p");
	STEP("dump", "gold-b");
	STEP("set", "gold-p", "epoch-us", "20000", "key", "KEYFILE");
	STEP("show", "gold-p");
	STEP("set", "gold-b", "key", "KEYFILE");
	STEP("-j", "list");
	STEP("show", "nope");
	STEP("-j", "show", "nope");
	STEP("show", "bad name");
	STEP("set", "gold-p", "epoch-us", "5");
	STEP("set", "gold-p", "colour", "blue");
	STEP("pair", "gold-b", "127.0.0.1", PORT, "key", "KEYFILE");
	STEP("listen", "gold-p", "127.0.0.1", PORT);
	STEP("start", "gold-p");
	STEP("failover", "gold-p");
	STEP("frobnicate");
	STEP("help", "set");
	STEP("stop", "--help");
	EXPECT_TRUE(same_as_golden(self, "idle"));
}

/* A pair on the host's loopback, synced: the shape of what a linked VM shows. */
TEST_F(gold, linked_transcript)
{
	ASSERT_EQ(0, STEP("listen", "gold-b", "127.0.0.1", PORT, "key", "KEYFILE"))
		TH_LOG("%s", self->out);
	self->linked = true;
	ASSERT_EQ(0, STEP("pair", "gold-p", "127.0.0.1", PORT, "key", "KEYFILE", "--wait", "60"))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(ftnl_counter_reaches("gold-b", "\"epochs\":", 3, 60)) TH_LOG("%s", ftnl_last());
	STEP("show", "gold-p");
	STEP("show", "gold-b");
	STEP("list");
	STEP("-j", "show", "gold-p");
	STEP("dump", "gold-p");
	STEP("pair", "gold-p", "127.0.0.1", PORT, "key", "KEYFILE");
	STEP("-j", "start", "gold-p");
	EXPECT_TRUE(same_as_golden(self, "linked"));
}

/*
 * Every exit status Documentation/ftnl.8.rst gives, brought about: a
 * script can tell "not now" from "never" and "no such VM" from "not
 * permitted".
 */
TEST_F(gold, exit_codes)
{
	const char *const unshare_ftnl[] = { "unshare", "-n", getenv("CUJU_FTNL"), "list", NULL };

	EXPECT_EQ(0, FTNL(self->out, "list")) TH_LOG("%s", self->out);
	EXPECT_EQ(1, FTNL(self->out, "listen", "gold-b", "127.0.0.1", PORT))	/* no key */
		TH_LOG("%s", self->out);
	EXPECT_EQ(2, FTNL(self->out, "pair", "gold-p")) TH_LOG("%s", self->out);
	/* The family is in the initial network namespace only. */
	EXPECT_EQ(3, run_capture(0, self->out, sizeof(self->out), "unshare", unshare_ftnl))
		TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "network namespace")) TH_LOG("%s", self->out);
	EXPECT_EQ(4, FTNL_AS(65534, self->out, "show", "gold-p")) TH_LOG("%s", self->out);
	EXPECT_EQ(5, FTNL(self->out, "stop", "nope")) TH_LOG("%s", self->out);
	/* Busy: a backup that listens already; a failover with no checkpoint yet. */
	ASSERT_EQ(0, FTNL(self->out, "listen", "gold-b", "127.0.0.1", PORT2, TEST_KEY))
		TH_LOG("%s", self->out);
	EXPECT_EQ(6, FTNL(self->out, "start", "gold-b")) TH_LOG("%s", self->out);
	EXPECT_EQ(6, FTNL(self->out, "failover", "gold-b")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "stop", "gold-b")) TH_LOG("%s", self->out);
	/* Nobody listens: the primary keeps trying, --wait gives up. */
	EXPECT_EQ(7, FTNL(self->out, "pair", "gold-p", "127.0.0.1", PORT2, TEST_KEY, "--wait", "2"))
		TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "connecting")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, FTNL(self->out, "stop", "gold-p")) TH_LOG("%s", self->out);
}

/* ftnl -p show, as Prometheus' own client library parses it. */
TEST_F(gold, prometheus_parses)
{
	static const char check[] =
		"import sys\n"
		"from prometheus_client.parser import text_string_to_metric_families as parse\n"
		"fams = {f.name: f for f in parse(open(sys.argv[1]).read())}\n"
		"def value(fam, **labels):\n"
		"    return [s.value for s in fams[fam].samples\n"
		"            if all(s.labels.get(k) == v for k, v in labels.items())]\n"
		"assert value('cuju_state', vm='gold-p', state='connected') == [1], 'state'\n"
		"assert value('cuju_state', vm='gold-b', state='receiving') == [1], 'backup state'\n"
		"assert fams['cuju_epochs'].type == 'counter', 'epochs type'\n"
		"assert value('cuju_epochs', vm='gold-b')[0] >= 2, 'epochs'\n"
		"assert fams['cuju_pause_seconds'].type == 'histogram', 'histogram'\n"
		"assert [s.value for s in fams['cuju_epoch_length_seconds'].samples\n"
		"        if s.name.endswith('_count') and s.labels['vm'] == 'gold-p'][0] >= 1, 'lengths'\n"
		"assert value('cuju_errors', vm='gold-p', kind='silence') == [0], 'errors'\n"
		"assert value('cuju_commit_age_seconds', vm='gold-p')[0] < 60, 'age'\n"
		"print('families', len(fams))\n";
	char prom[256], script[256];
	const char *py[] = { "/usr/bin/python3", script, prom, NULL };
	FILE *f;

	ASSERT_EQ(0, FTNL(self->out, "listen", "gold-b", "127.0.0.1", PORT, TEST_KEY))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, FTNL(self->out, "pair", "gold-p", "127.0.0.1", PORT, TEST_KEY, "--wait", "60"))
		TH_LOG("%s", self->out);
	ASSERT_TRUE(ftnl_counter_reaches("gold-b", "\"epochs\":", 3, 60)) TH_LOG("%s", ftnl_last());
	ASSERT_EQ(0, FTNL(self->out, "-p", "show")) TH_LOG("%s", self->out);
	snprintf(prom, sizeof(prom), "%s/cuju.prom", getenv("TMPDIR") ?: "/tmp");
	snprintf(script, sizeof(script), "%s/prom_check.py", getenv("TMPDIR") ?: "/tmp");
	f = fopen(prom, "w");
	ASSERT_NE(NULL, f);
	fputs(self->out, f);
	fclose(f);
	f = fopen(script, "w");
	ASSERT_NE(NULL, f);
	fputs(check, f);
	fclose(f);
	EXPECT_EQ(0, run_capture(0, self->out, sizeof(self->out), py[0], py)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "families")) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
