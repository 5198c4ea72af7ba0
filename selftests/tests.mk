# Which test binaries exist and where each runs.
#  solo: in one test host.
#  pair: on both hosts of two test hosts joined by a virtual link, with
#        CUJU_ROLE=a or b and CUJU_PEER=<the other host's address>.
# Every test gets CUJU_FTNL, the path of the ftnl binary.
SOLO_TESTS := kvm_run_test dirty_log_test sysfs_test wire_test control_test ftnl_test
PAIR_TESTS := link_test backup_test peer_test replicate_test device_test consistency_test \
	      output_test
# kill: like pair, in a pair of hosts of its own per binary, whose host b's
#       QEMU the runner kills once its test prints "# cuju: kill me".
KILL_TESTS := kill_test
# smp: the pair, kill and trio tests whose bugs one CPU hides (a vCPU
#      thread and the engine thread running at once), again on hosts with
#      2 CPUs each (a trio's client keeps one).
SMP_PAIR_TESTS := replicate_test device_test consistency_test output_test
SMP_KILL_TESTS := kill_test qemu_test
SMP_TRIO_TESTS := stream_test
# make check-large: pair, on hosts of LARGE_MEM MiB; not part of make check
#       (ten minutes and 18 GiB of the machine's memory).
LARGE_TESTS := large_test
LARGE_MEM := 9216
# A real guest under the patched QEMU (make qemu, make guest): kill, in a
#       session of its own; pair, what an administrator does by hand; and,
#       solo, what the patch refuses.  In make
#       check; make check-qemu runs only these.
QEMU_TESTS := qemu_test
QEMU_PAIR_TESTS := qemu_pair_test
QEMU_SOLO_TESTS := qemu_refusal_test
# trio: a kill test on hosts a and b with a client host c on their guests'
#       segment (selftests/testbed/run --trio): output commit end to end.
#       make check runs those also in SMP_TRIO_TESTS on 2 CPUs only (CI's
#       time); make check-qemu and make demo on 1 CPU too.
QEMU_TRIO_TESTS := stream_test
# make bench: pair, figures rather than verdicts; not part of make check.
BENCH_TESTS := bench_test qemu_bench_test
# make bench: trio, the client's view of output commit (ping, streams).
BENCH_TRIO_TESTS := net_bench_test
# make bench-peers: pair, Debian's QEMU COLO beside the real-guest bench
#       (qemu_bench_test), in the same hosts and the same run.
PEER_TESTS := colo_bench_test
# make probe: solo, on a host of 2 CPUs: a 2-vCPU guest under Debian's
#       stock QEMU, its dirty log harvested over and over by QEMU itself
#       (no Cuju): whether the platform resets it; not part of make check.
PROBE_TESTS := dirty_probe_test
# make soak: SOAK_KILLS kills of the primary's host in a row, a fresh
#       backup booted after each (selftests/testbed/run --soak); not part
#       of make check (about an hour).
SOAK_TESTS := soak_test
SOAK_KILLS ?= 20
