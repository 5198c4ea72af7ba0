// SPDX-License-Identifier: GPL-2.0
/*
 * Start and stop the Cuju engine with kvm.ko.  Each part's init is called
 * in order; a failure unwinds what already started, in reverse, and exit
 * undoes everything in exactly that reverse order.
 */
#include <linux/bug.h>
#include <linux/list.h>
#include <linux/printk.h>

#include "crc.h"
#include "kvm_ft.h"
#include "netlink.h"
#include "output.h"
#include "sysfs.h"
#include "vm.h"

int kvm_ft_init(void)
{
	int ret;

	ret = kvm_ft_crc_init();
	if (ret)
		goto err_crc;
	ret = kvm_ft_sysfs_init();
	if (ret)
		goto err_sysfs;
	ret = kvm_ft_netlink_init();
	if (ret)
		goto err_netlink;
	ret = kvm_ft_output_module_init();
	if (ret)
		goto err_output;

	pr_info("engine loaded, epoch %u us\n", kvm_ft_defaults.epoch_us);
	return 0;

err_output:
	kvm_ft_netlink_exit();
err_netlink:
	kvm_ft_sysfs_exit();
err_sysfs:
	kvm_ft_crc_exit();
err_crc:
	pr_err("engine failed to start: %d\n", ret);
	return ret;
}

void kvm_ft_exit(void)
{
	/* Every VM holds a reference on kvm.ko: none can be left. */
	WARN_ON(!list_empty(&kvm_ft_vms));
	kvm_ft_output_module_exit();
	kvm_ft_netlink_exit();
	kvm_ft_sysfs_exit();
	kvm_ft_crc_exit();
}
