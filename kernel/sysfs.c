// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/kvm_ft/: the global defaults of the engine.
 *
 * Each knob is an unsigned int with a range.  A write is parsed whole and
 * range-checked before it is stored, so a refused write (EINVAL) leaves the
 * old value; readers see either the old or the new value, never a mix.
 * Knobs that constrain each other are checked and stored under one mutex,
 * so two writers cannot each pass the check against the other's old value.
 */
#include <linux/kobject.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>
#include <linux/kvm_ft.h>

#include "sysfs.h"

struct kvm_ft_defaults kvm_ft_defaults = {
	.epoch_us = KVM_FT_EPOCH_US_DEFAULT,
	.inflight_max = KVM_FT_INFLIGHT_DEFAULT,
	.failover_timeout_ms = KVM_FT_FAILOVER_MS_DEFAULT,
	.heartbeat_ms = KVM_FT_HEARTBEAT_MS_DEFAULT,
	.auto_failover = 1,
	.output_max_kb = KVM_FT_OUTPUT_KB_DEFAULT,
	.delta_max_mb = KVM_FT_DELTA_MB_DEFAULT,
	.copy_after_resume = 1,
};

static DEFINE_MUTEX(knob_lock);

struct knob {
	struct kobj_attribute attr;
	unsigned int *value;
	unsigned int min, max;
	/* Whether @val may be stored, given the other knobs; NULL: always. */
	bool (*fits)(unsigned int val);
};

#define KNOB(_name, _min, _max, _fits) {				\
	.attr = __ATTR(_name, 0644, knob_show, knob_store),		\
	.value = &kvm_ft_defaults._name,				\
	.min = _min, .max = _max, .fits = _fits,			\
}

/* Off, or an epoch length the engine can keep. */
static bool epoch_bound_fits(unsigned int val)
{
	return !val || val >= KVM_FT_EPOCH_US_MIN;
}

/* A heartbeat must come well within the silence that means death. */
static bool heartbeat_fits(unsigned int val)
{
	return val < kvm_ft_defaults.failover_timeout_ms;
}

static bool failover_fits(unsigned int val)
{
	return kvm_ft_defaults.heartbeat_ms < val;
}

static ssize_t knob_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct knob *k = container_of(attr, struct knob, attr);

	return sysfs_emit(buf, "%u\n", READ_ONCE(*k->value));
}

static ssize_t knob_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	struct knob *k = container_of(attr, struct knob, attr);
	unsigned int val;

	/* kstrtouint() takes one trailing newline; anything else is refused. */
	if (kstrtouint(buf, 10, &val) || val < k->min || val > k->max)
		return -EINVAL;

	mutex_lock(&knob_lock);
	if (k->fits && !k->fits(val)) {
		mutex_unlock(&knob_lock);
		return -EINVAL;
	}
	WRITE_ONCE(*k->value, val);
	mutex_unlock(&knob_lock);
	return count;
}

static struct knob knobs[] = {
	KNOB(epoch_us, KVM_FT_EPOCH_US_MIN, KVM_FT_EPOCH_US_MAX, NULL),
	KNOB(inflight_max, KVM_FT_INFLIGHT_MIN, KVM_FT_INFLIGHT_MAX, NULL),
	KNOB(failover_timeout_ms, KVM_FT_FAILOVER_MS_MIN, KVM_FT_FAILOVER_MS_MAX,
	     failover_fits),
	KNOB(heartbeat_ms, KVM_FT_HEARTBEAT_MS_MIN, KVM_FT_HEARTBEAT_MS_MAX,
	     heartbeat_fits),
	KNOB(auto_failover, 0, 1, NULL),
	KNOB(verify_memory, 0, 1, NULL),
	KNOB(output_max_kb, KVM_FT_OUTPUT_KB_MIN, KVM_FT_OUTPUT_KB_MAX, NULL),
	KNOB(delta_max_mb, KVM_FT_DELTA_MB_MIN, KVM_FT_DELTA_MB_MAX, NULL),
	KNOB(epoch_min_us, 0, KVM_FT_EPOCH_US_MAX, epoch_bound_fits),
	KNOB(epoch_max_us, 0, KVM_FT_EPOCH_US_MAX, epoch_bound_fits),
	KNOB(copy_after_resume, 0, 1, NULL),
};

static struct attribute *knob_attrs[ARRAY_SIZE(knobs) + 1];

static const struct attribute_group knob_group = {
	.attrs = knob_attrs,
};

static struct kobject *kvm_ft_kobj;

int kvm_ft_sysfs_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		knob_attrs[i] = &knobs[i].attr.attr;

	kvm_ft_kobj = kobject_create_and_add("kvm_ft", kernel_kobj);
	if (!kvm_ft_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(kvm_ft_kobj, &knob_group);
	if (ret)
		kobject_put(kvm_ft_kobj);
	return ret;
}

void kvm_ft_sysfs_exit(void)
{
	sysfs_remove_group(kvm_ft_kobj, &knob_group);
	kobject_put(kvm_ft_kobj);
}
