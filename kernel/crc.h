/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_CRC_H
#define KVM_FT_CRC_H

/* Choose the faster CRC-32C driver here (crc.c); the engine's first init. */
int kvm_ft_crc_init(void);
void kvm_ft_crc_exit(void);

#endif /* KVM_FT_CRC_H */
