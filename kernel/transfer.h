/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM_FT_TRANSFER_H
#define KVM_FT_TRANSFER_H

#include <linux/types.h>

struct socket;

/* A listening TCP socket on @addr:@port (network order address). */
int kvm_ft_sock_listen(__be32 addr, u16 port, struct socket **res);
/* Exactly @len bytes: 0, -ENODATA for EOF before the first, -EPIPE after. */
int kvm_ft_sock_recv(struct socket *sock, void *buf, size_t len);
int kvm_ft_sock_send(struct socket *sock, const void *buf, size_t len);

#endif /* KVM_FT_TRANSFER_H */
