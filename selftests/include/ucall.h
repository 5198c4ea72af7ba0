/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-to-host calls ("ucalls"): the guest writes a struct ucall on its
 * stack and executes an IN from UCALL_PORT with the struct's address in RDI;
 * the VMM sees KVM_EXIT_IO, reads the struct from guest memory and resumes.
 */
#ifndef CUJU_SELFTEST_UCALL_H
#define CUJU_SELFTEST_UCALL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define UCALL_PORT	0x1000
#define UCALL_ASK_PORT	0x1020	/* the guest asks: stop now? */
#define UCALL_TICK_PORT	0x1021	/* the guest says it is alive: no answer */

enum {
	UCALL_NONE,
	UCALL_SYNC,	/* args[0]: a stage the host checks */
	UCALL_DONE,	/* the guest's entry function returned */
	UCALL_ABORT,	/* args[0]: line, args[1]: expression text, args[2]: file */
	UCALL_EXCEPTION,/* args[0]: vector, args[1]: error code, args[2]: RIP */
};

struct ucall {
	uint64_t cmd;
	uint64_t args[3];
};

static inline void ucall(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct ucall uc = { .cmd = cmd, .args = { a0, a1, a2 } };

	asm volatile("in %%dx, %%al"
		     : : "d"(UCALL_PORT), "D"(&uc) : "rax", "memory");
}

#define GUEST_SYNC(stage)	ucall(UCALL_SYNC, (stage), 0, 0)
#define GUEST_DONE()		ucall(UCALL_DONE, 0, 0, 0)
#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		ucall(UCALL_ABORT, __LINE__, (uint64_t)#cond,		\
		      (uint64_t)__FILE__);				\
} while (0)

/*
 * Asked through an I/O port, not a flag in guest memory: a VMM's own
 * writes to guest memory are not in KVM's dirty log unless it marks them,
 * and a replicated guest would miss them.
 */
static inline bool guest_ask_stop(void)
{
	uint8_t v;

	asm volatile("inb %%dx, %%al" : "=a"(v) : "d"(UCALL_ASK_PORT) : "memory");
	return v;
}

/*
 * An exit that asks nothing, for a guest that computes longer than
 * VMM_RUN_LIMIT_S between its other exits: a guest_thread resumes it.
 */
static inline void guest_tick(void)
{
	asm volatile("outb %%al, %%dx" : : "a"(0), "d"(UCALL_TICK_PORT) : "memory");
}

struct vcpu;

/*
 * A vCPU run by a thread of its own until its next ucall, answering each
 * guest_ask_stop() with @stop.
 */
struct guest_thread {
	struct vcpu *vcpu;
	volatile bool stop;
	pthread_t thread;
	uint64_t cmd;		/* the ucall that ended it, and its args */
	struct ucall uc;
};

void guest_thread_start(struct guest_thread *g, struct vcpu *vcpu);
/*
 * Answer "stop" from now on and wait for the ucall; its cmd.  Safe on a
 * thread never started or stopped already (returns 0): teardowns call it
 * so that a failed test does not free a vCPU under its running thread.
 */
uint64_t guest_thread_stop(struct guest_thread *g);

/*
 * Run @vcpu until its next ucall and return it in @uc (and its cmd).  Any
 * other exit, and a guest assertion failure, fails the test with a message.
 */
uint64_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc);
/* The same for an exit (@reason) the caller's own KVM_RUN returned. */
uint64_t vcpu_get_ucall(struct vcpu *vcpu, uint32_t reason, struct ucall *uc);

#endif /* CUJU_SELFTEST_UCALL_H */
