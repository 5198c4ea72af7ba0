#!/bin/bash
# kvm-selftests.sh DIR PHASE LIST FROM: inside a test host, called by
# host.sh with our kvm.ko and kvm-amd.ko loaded: run the kernel's own KVM
# selftests that `make kvm-selftests` built into DIR (bin/), those that the
# file LIST names (one a line, relative to DIR/bin: the runner's part of
# DIR/tests), from the FROMth (0 is the first) to the last, on our
# modules (PHASE "ours") or, after unloading them, on the booted kernel's
# own kvm and kvm_amd (PHASE "stock", modprobe), which stay loaded for
# host.sh to unload.  Each run is bounded by `timeout`; exit code 0 is
# a pass, 4 (KSFT_SKIP) a skip, anything else a failure.
#
# Prints, on standard output (the runner's port), "# kvm PHASE begin: NAME"
# before each binary and "# kvm PHASE: NAME [ARGS]: RESULT (rc=N, S s)"
# after it, and "# kvm PHASE done" at the end.  The runner compares the
# phases (selftests/testbed/run: a binary that hangs the test host is a
# failure of its phase, and the next host resumes after it).  The
# binaries' own output never goes there as is: a result that is not a pass
# shows the tail of it, each line behind "# | ".
# Exits non-zero only when it cannot run them or cannot swap the modules.
set -u
dir=$1 phase=$2 list=$3 from=$4
per=90				# seconds per binary and run (timeout), unless in $limit
work=/run/kvmst

# Arguments that bound a binary's work under TCG, where the defaults (sized
# for hardware) take minutes or more memory than a test host has.  The same
# arguments on ours and on stock.
declare -A args=(
	# 3 log modes x 32 rounds: over 120 s (about 1.4 s a round); 8 rounds
	# took 70 s on 2026-12-04, 4 rounds 51 s, and CI's machine can be
	# twice as slow as the one that measured it.  3 is its least ("-i 2"
	# is refused: it ran nothing until 2026-12-05); its bound is below.
	[dirty_log_test]="-i 3"
	# 1 GiB a vCPU by default: 30 to 70 s each
	[dirty_log_perf_test]="-b 256M"
	[demand_paging_test]="-b 256M"
	[kvm_page_table_test]="-b 256M"
	# 5 s a test, 6 tests, each after setting up 32k memslots (6 s)
	[memslot_perf_test]="-l 1 -s 1024"
	# 128 GiB in 2 GiB slots by default
	[max_guest_memory_test]="-m 8 -s 1"
)

# Binaries whose bound is not $per, the same on both: shorter for one
# that runs past any bound under TCG on stock and ours alike
# (hardware_disable_test forks 512 VMs of 4 vCPUs), so that its failure
# costs less of the host's time; longer for dirty_log_test's 3 rounds.
declare -A limit=(
	[hardware_disable_test]=20
	[dirty_log_test]=180
)

mkdir -p "$work" || exit 1
# POSIX semaphores (sem_open: hardware_disable_test) need /dev/shm, which
# the test host's devtmpfs lacks.
if ! mountpoint -q /dev/shm; then
	mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm ||
		{ echo "# kvm selftests: error: cannot mount /dev/shm"; exit 1; }
fi

# (No process substitution: the chroot has no /dev/fd.)
grep -v '^[[:space:]]*\(#\|$\)' "$list" > "$work/tests"
mapfile -t names < "$work/tests"

# tail_of FILE: the end of a binary's output, as TAP comments.
tail_of() {
	tail -n 15 "$1" | sed -e 's/\r$//' -e 's/^/# | /'
}

# run_from I: the binaries from the Ith on the modules loaded now; each
# one's output in $work/$phase.N.
run_from() {
	local i=$1 name rc t0 r s
	for ((; i < ${#names[@]}; i++)); do
		name=${names[i]}
		t0=$(date +%s) s=${limit[${name##*/}]:-$per}
		echo "# kvm $phase begin: $name"
		# No exec: this subshell, not the script, reports a signal.
		(cd "$work" && timeout -k 5 "$s" "$dir/bin/$name" ${args[${name##*/}]:-}) \
			> "$work/$phase.$i" 2>&1 < /dev/null
		rc=$?
		case $rc in
		0) r=pass ;;
		4) r=skip ;;
		124|137) r=fail; echo "(killed by timeout after $s s)" >> "$work/$phase.$i" ;;
		*) r=fail ;;
		esac
		echo "# kvm $phase: $name${args[${name##*/}]:+ ${args[${name##*/}]}}: $r" \
		     "(rc=$rc, $(($(date +%s) - t0)) s)"
		[[ $r == pass ]] || tail_of "$work/$phase.$i"
	done
}

((${#names[@]})) || { echo "# kvm selftests: error: no binaries in $list"; exit 1; }
[[ -d /sys/kernel/kvm_ft ]] || { echo "# kvm selftests: error: the kvm.ko loaded is not ours"; exit 1; }
[[ $from =~ ^[0-9]+$ ]] || { echo "# kvm selftests: error: bad start index '$from'"; exit 1; }
case $phase in
ours)
	echo "# kvm selftests: ${#names[@]} binaries, at most $per s each, from #$from, on our" \
	     "kvm.ko (taint $(cat /sys/module/kvm/taint)), $(nproc) CPUs"
	;;
stock)
	rmmod kvm_amd kvm || { echo "# kvm selftests: error: cannot unload our kvm_amd and kvm"; exit 1; }
	modprobe kvm_amd || { echo "# kvm selftests: error: cannot modprobe the kernel's kvm_amd"; exit 1; }
	[[ ! -d /sys/kernel/kvm_ft && -c /dev/kvm ]] ||
		{ echo "# kvm selftests: error: the kernel's kvm is not the one loaded, or no /dev/kvm"; exit 1; }
	echo "# kvm selftests: ${#names[@]} binaries, at most $per s each, from #$from, on the" \
	     "kernel's own $(modinfo -n kvm) (taint $(cat /sys/module/kvm/taint)), $(nproc) CPUs"
	;;
*)	echo "# kvm selftests: error: bad phase '$phase'"; exit 1 ;;
esac
t0=$(date +%s)
run_from "$from"
echo "# kvm selftests: $phase took $(($(date +%s) - t0)) s"
echo "# kvm $phase done"
exit 0
