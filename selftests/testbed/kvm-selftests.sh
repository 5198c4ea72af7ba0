#!/bin/bash
# kvm-selftests.sh DIR: inside a test host, called by host.sh with our
# kvm.ko and kvm-amd.ko loaded: run each of the kernel's own KVM selftests
# that `make kvm-selftests` built into DIR (DIR/tests names them, one a
# line, relative to DIR/bin), first on our modules, then, after unloading
# them, on the booted kernel's own kvm and kvm_amd (modprobe), which stay
# loaded for host.sh to unload.  Each run is bounded by `timeout`; exit code
# 0 is a pass, 4 (KSFT_SKIP) a skip, anything else a failure.
#
# Prints, on standard output (the runner's TAP port), one test per binary
# between the runner's "# cuju: begin/end" markers: "ok" when ours does at
# least as well as stock (pass > skip > fail), "not ok" otherwise, and the
# summary line "# kvm selftests: ours ...; stock ...".  Each run's result
# is printed as it comes ("# kvm ours: NAME pass ..."); the binaries' own
# output (their TAP included) never goes there as is: a result that is not
# a pass shows the tail of it, each line behind "# | ".
# Exits non-zero only when it cannot run them or cannot swap the modules.
set -u
dir=$1
per=90				# seconds per binary and run (timeout), unless in $limit
work=/run/kvmst

# Arguments that bound a binary's work under TCG, where the defaults (sized
# for hardware) take minutes or more memory than a test host has.  The same
# arguments on ours and on stock.
declare -A args=(
	# 3 log modes x 32 rounds: over 120 s (about 1.4 s a round); 8 rounds
	# took 70 s on 2026-12-04, 4 rounds 51 s, and CI's machine can be
	# twice as slow as the one that measured it
	[dirty_log_test]="-i 2"
	# 1 GiB a vCPU by default: 30 to 70 s each
	[dirty_log_perf_test]="-b 256M"
	[demand_paging_test]="-b 256M"
	[kvm_page_table_test]="-b 256M"
	# 5 s a test, 6 tests, each after setting up 32k memslots (6 s)
	[memslot_perf_test]="-l 1 -s 1024"
	# 128 GiB in 2 GiB slots by default
	[max_guest_memory_test]="-m 8 -s 1"
)

# Binaries that run past any bound under TCG on stock and ours alike
# (hardware_disable_test forks 512 VMs of 4 vCPUs): a shorter timeout, the
# same on both, so that their failure costs less of the host's time.
declare -A limit=(
	[hardware_disable_test]=20
)

mkdir -p "$work" || exit 1
# POSIX semaphores (sem_open: hardware_disable_test) need /dev/shm, which
# the test host's devtmpfs lacks.
if ! mountpoint -q /dev/shm; then
	mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm ||
		{ echo "# kvm selftests: error: cannot mount /dev/shm"; exit 1; }
fi

# (No process substitution: the chroot has no /dev/fd.)
grep -v '^[[:space:]]*\(#\|$\)' "$dir/tests" > "$work/tests"
mapfile -t names < "$work/tests"
declare -A res secs

# tail_of FILE: the end of a binary's output, as TAP comments.
tail_of() {
	tail -n 15 "$1" | sed -e 's/\r$//' -e 's/^/# | /'
}

# run_all PHASE: every binary once on the modules loaded now; results in
# res[PHASE,NAME], seconds in secs[PHASE,NAME], output in $work/PHASE.N.
run_all() {
	local phase=$1 i=0 name rc t0 r s
	for name in "${names[@]}"; do
		t0=$(date +%s) s=${limit[${name##*/}]:-$per}
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
		res[$phase,$name]=$r secs[$phase,$name]=$(($(date +%s) - t0))
		echo "# kvm $phase: $name${args[${name##*/}]:+ ${args[${name##*/}]}}: $r" \
		     "(rc=$rc, ${secs[$phase,$name]} s)"
		[[ $r == pass ]] || tail_of "$work/$phase.$i"
		i=$((i + 1))
	done
}

rank() { case $1 in pass) echo 2 ;; skip) echo 1 ;; *) echo 0 ;; esac; }

((${#names[@]})) || { echo "# kvm selftests: error: no binaries in $dir/tests"; exit 1; }
[[ -d /sys/kernel/kvm_ft ]] || { echo "# kvm selftests: error: the kvm.ko loaded is not ours"; exit 1; }
echo "# kvm selftests: ${#names[@]} binaries, at most $per s each, on our kvm.ko" \
     "(taint $(cat /sys/module/kvm/taint)), $(nproc) CPUs"
t0=$(date +%s)
run_all ours
echo "# kvm selftests: ours took $(($(date +%s) - t0)) s"

rmmod kvm_amd kvm || { echo "# kvm selftests: error: cannot unload our kvm_amd and kvm"; exit 1; }
modprobe kvm_amd || { echo "# kvm selftests: error: cannot modprobe the kernel's kvm_amd"; exit 1; }
[[ ! -d /sys/kernel/kvm_ft && -c /dev/kvm ]] ||
	{ echo "# kvm selftests: error: the kernel's kvm is not the one loaded, or no /dev/kvm"; exit 1; }
echo "# kvm selftests: now on the kernel's own $(modinfo -n kvm)" \
     "(taint $(cat /sys/module/kvm/taint))"
t0=$(date +%s)
run_all stock
echo "# kvm selftests: stock took $(($(date +%s) - t0)) s"

declare -A count=([ours,pass]=0 [ours,skip]=0 [ours,fail]=0 [stock,pass]=0 [stock,skip]=0 [stock,fail]=0)
for name in "${names[@]}"; do
	o=${res[ours,$name]} s=${res[stock,$name]}
	count[ours,$o]=$((count[ours,$o] + 1)) count[stock,$s]=$((count[stock,$s] + 1))
	echo "# cuju: begin $name"
	echo "1..1"
	if (($(rank "$o") >= $(rank "$s"))); then
		echo "ok 1 $name - ours $o, stock $s"; rc=0
	else
		echo "not ok 1 $name - ours $o, stock $s: worse on ours"; rc=1
	fi
	echo "# ours ${secs[ours,$name]} s, stock ${secs[stock,$name]} s (the output of each non-pass is above)"
	echo "# cuju: end $name rc=$rc"
done
echo "# kvm selftests: ours ${count[ours,pass]} pass ${count[ours,skip]} skip ${count[ours,fail]} fail;" \
     "stock ${count[stock,pass]} pass ${count[stock,skip]} skip ${count[stock,fail]} fail"
exit 0
