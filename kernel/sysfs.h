/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_SYSFS_H
#define KVM_FT_SYSFS_H

#include <linux/compiler.h>

/* Global defaults, read by the engine; set through /sys/kernel/kvm_ft/. */
struct kvm_ft_defaults {
	unsigned int epoch_us;
	unsigned int inflight_max;
	unsigned int failover_timeout_ms;
	unsigned int heartbeat_ms;
	unsigned int auto_failover;
	unsigned int verify_memory;
	unsigned int output_max_kb;
	unsigned int delta_max_mb;
	unsigned int epoch_min_us;
	unsigned int epoch_max_us;
	unsigned int copy_after_resume;
};

extern struct kvm_ft_defaults kvm_ft_defaults;

int kvm_ft_sysfs_init(void);
void kvm_ft_sysfs_exit(void);

#endif /* KVM_FT_SYSFS_H */
