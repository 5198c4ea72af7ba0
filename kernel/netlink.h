/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_NETLINK_H
#define KVM_FT_NETLINK_H

int kvm_ft_netlink_init(void);
void kvm_ft_netlink_exit(void);

#endif /* KVM_FT_NETLINK_H */
