// SPDX-License-Identifier: GPL-2.0
/*
 * Start and stop the Cuju engine with kvm.ko.  Each part's init is called
 * in order; a failure unwinds what already started, in reverse, and exit
 * undoes everything in exactly that reverse order.
 */
#include <linux/printk.h>

#include "kvm_ft.h"
#include "sysfs.h"

int kvm_ft_init(void)
{
	int ret;

	ret = kvm_ft_sysfs_init();
	if (ret)
		goto err_sysfs;

	pr_info("engine loaded, epoch %u us\n", kvm_ft_defaults.epoch_us);
	return 0;

err_sysfs:
	pr_err("engine failed to start: %d\n", ret);
	return ret;
}

void kvm_ft_exit(void)
{
	kvm_ft_sysfs_exit();
}
