#!/bin/bash
# Inside a test host, chrooted into the machine's root (read-only, 9p):
# load our kvm.ko and kvm-amd.ko, bring up the link to the other host if
# there is one, run the test binaries, unload, scan kmemleak, power off.
#
# Results go to the second serial port (ttyS1) between markers that the
# runner parses; the kernel's console (ttyS0) is the runner's kernel log.
# From the kernel command line: cuju_top cuju_modules cuju_tests cuju_run
# (comma-separated binaries) cuju_kdir cuju_role (a, b, or c: a trio's client)
# cuju_ip cuju_peer cuju_demo, cuju_soak and cuju_soak_last (a soak's hosts:
# roles p, s and c; selftests/testbed/run --soak)
# cuju_kvmst, cuju_kvmst_phase, cuju_kvmst_list, cuju_kvmst_from (a
# directory of the kernel's own KVM selftests, "ours" or "stock", the file
# naming those to run, the first of them to run:
# kvm-selftests.sh runs them; the kernel's kvm.ko, if loaded, stays),
# cuju_limit (the host's time limit in seconds: each binary gets what is
# left of it less a minute, so that it is the one stopped and named).
exec 3>/dev/ttyS1
say() { echo "$*" >&3; }
finish() {
	say "# cuju: host done rc=$1"
	sync
	exec busybox reboot -f
}
die() { say "# cuju: host failed: $*"; finish 1; }

export PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR=/run
mkdir -p /sys/kernel/debug 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
kmemleak=/sys/kernel/debug/kmemleak
# Only what happens from here on; and no scan but the one at the end: the
# kernel's own every 10 minutes walks all memory under KASAN on an
# emulated CPU, which the tests on a one-CPU host wait behind.
[[ -w $kmemleak ]] && echo clear > $kmemleak && echo scan=off > $kmemleak

# A dependency of our modules comes from the booted kernel: Debian's from
# /lib/modules (modprobe), a kernel built here from its kbuild tree.
load_dep() {
	grep -q "^$1 " /proc/modules && return 0
	[[ -d /sys/module/$1 ]] && return 0		# built in
	modprobe "$1" 2>/dev/null && return 0
	# The tree lists its modules in modules.order: a find through it
	# over 9p took some 40 s of a debug host's boot.
	local ko
	ko=$(grep -m1 -E "(^|/)${1//_/[-_]}\.ko\$" "$cuju_kdir/modules.order" 2>/dev/null)
	[[ -n $ko ]] && insmod "$cuju_kdir/$ko"
}

load_ours() {
	local ko=$cuju_modules/$1.ko dep
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		[[ $dep == kvm ]] && continue
		load_dep "$dep" || die "cannot load $dep, needed by $1"
	done
	insmod "$ko" || die "insmod $ko failed"
}

# KVM cannot run a guest on a host that does not know its TSC frequency
# (kvm_guest_time_update() fails and the vCPU never enters): say so.
if dmesg | grep -q 'could not calculate TSC khz'; then
	die "this test host's kernel could not calibrate its TSC; KVM cannot run guests on it"
fi

load_ours kvm
load_ours kvm-amd
[[ -d /sys/kernel/kvm_ft ]] || die "/sys/kernel/kvm_ft missing: the kvm.ko loaded is not ours"
[[ -c /dev/kvm ]] || die "/dev/kvm missing after loading kvm-amd"
say "# cuju: loaded $cuju_modules/kvm.ko (taint $(cat /sys/module/kvm/taint))"
say "# cuju: $(dmesg | grep -m1 'kvm_ft: engine loaded' | sed 's/^\[[^]]*\] //')"
if [[ -n $cuju_demo ]]; then
	for f in /sys/kernel/kvm_ft/*; do say "# cuju: $f = $(cat "$f")"; done
fi

# More than one CPU: keep KVM's static keys on (selftests/keys_hold.c says
# why: the emulator can hang as a key is switched).  Gone before the unload.
keys_hold=
if (($(nproc) > 1)) && [[ -x $cuju_tests/keys_hold ]]; then
	"$cuju_tests/keys_hold" >&3 2>&3 </dev/null &
	keys_hold=$!
	for _ in $(seq 50); do [[ -e /run/keys_hold.ready ]] && break; sleep 0.1; done
	[[ -e /run/keys_hold.ready ]] || die "keys_hold did not start"
fi

# More than one CPU: each must run a task pinned to it within 30 s, every
# 10 s.  One that does not is said once in the kernel log, where the
# runner looks at the emulated CPUs (QEMU's monitor) to tell a CPU that
# halted with interrupts on and never woke (QEMU's TCG with nested SVM
# loses a wakeup: a platform fault) from one our code holds (a failure).
# The log, not ttyS1: a tty's writer waits on its UART's interrupts.
cpu_probe() {
	local c p i state cpus
	cpus=$(nproc --all)
	while sleep 10; do
		for ((c = 0; c < cpus; c++)); do
			taskset -c "$c" true &
			p=$!
			for ((i = 0; i < 60; i++)); do
				read -r _ _ state _ 2>/dev/null < /proc/$p/stat || break
				[[ $state == Z ]] && break
				sleep 0.5
			done
			if ((i < 60)); then
				wait "$p"
				continue
			fi
			echo "cuju: CPU $c ran no task for 30 s" > /dev/kmsg
			for ((i = 30; ; i++)); do
				read -r _ _ state _ 2>/dev/null < /proc/$p/stat || break
				[[ $state == Z ]] && break
				sleep 1
			done
			echo "cuju: CPU $c ran its task after $i s" > /dev/kmsg
			return
		done
	done
}
cpu_probe_pid=
if (($(nproc --all) > 1)); then
	cpu_probe &
	cpu_probe_pid=$!
fi

# Every host: tests listen on 127.0.0.1, which exists only once lo is up
# (a debug kernel's solo host refused control_test's bind without it).
ip link set lo up || die "cannot bring lo up"
# The QEMU tests give their guest a tap.  Built in (the debug kernel),
# tun has its device node but no /sys/module entry for load_dep to see.
[[ -c /dev/net/tun ]] || load_dep tun || die "cannot load tun"
# A trio session's second segment (selftests/testbed/run): bridge br0 over
# the NICs given, up, without an address.
lan_bridge() {
	local nic
	load_dep bridge || die "cannot load bridge"
	ip link add br0 type bridge || die "cannot create br0"
	for nic in "$@"; do
		ip link set "$nic" master br0 && ip link set "$nic" up ||
			die "cannot add $nic to br0"
	done
	ip link set br0 up || die "cannot bring br0 up"
}

if [[ $cuju_role == c ]]; then
	# The client of a trio: its two NICs are the switch between a and b.
	load_dep virtio_net || die "cannot load virtio_net"
	lan_bridge eth0 eth1
	ip addr add "$cuju_ip/24" dev br0 || die "cannot configure br0 as $cuju_ip"
	say "# cuju: client up, $cuju_ip on br0 (eth0 to host a, eth1 to host b)"
elif [[ $cuju_role == [ps] ]]; then
	# A soak's host: its one NIC, to c, is the replication link and the
	# guests' segment both.
	load_dep virtio_net || die "cannot load virtio_net"
	lan_bridge eth0
	ip addr add "$cuju_ip/24" dev br0 || die "cannot configure br0 as $cuju_ip"
	export CUJU_BRIDGE=br0
	say "# cuju: br0 over eth0, $cuju_ip (role $cuju_role), peer $cuju_peer"
elif [[ -n $cuju_role ]]; then
	load_dep virtio_net || die "cannot load virtio_net"
	ip link set eth0 up && ip addr add "$cuju_ip/24" dev eth0 ||
		die "cannot configure eth0 as $cuju_ip"
	say "# cuju: link up, $cuju_ip (role $cuju_role), peer $cuju_peer"
	if [[ -e /sys/class/net/eth1 ]]; then
		lan_bridge eth1		# the QEMU tests put the guest's tap in it
		lan_ip=10.78.0.1$([[ $cuju_role == a ]] && echo 1 || echo 2)
		ip addr add "$lan_ip/24" dev br0 || die "cannot configure br0 as $lan_ip"
		export CUJU_BRIDGE=br0
		say "# cuju: br0 over eth1, the client's segment, $lan_ip"
	fi
fi

if [[ -n $cuju_kvmst ]]; then
	bash "$cuju_top/selftests/testbed/kvm-selftests.sh" "$cuju_kvmst" \
		"$cuju_kvmst_phase" "$cuju_kvmst_list" "$cuju_kvmst_from" >&3 2>&3 </dev/null ||
		die "kvm-selftests.sh could not swap the modules"
fi

# Seconds left of the host's limit, less a minute; at least one.
time_left() {
	local up
	read -r up _ < /proc/uptime
	up=$(( ${cuju_limit:-1260} - ${up%.*} - 60 ))
	echo $(( up > 0 ? up : 1 ))
}

# Every task's kernel stack, into the kernel log (the runner's console
# file: printk does not wait for a UART's interrupts, as a tty's writer
# does), for a test that is about to be stopped at its limit: a hang in an
# interruptible wait is never reported by the hung-task detector, and
# what waits on what is gone once it is killed.
dump_stacks() {
	local d
	say "# cuju: $1 still running $2 s before its limit: every task's kernel stack in the kernel log"
	for d in /proc/[0-9]*/task/[0-9]*; do
		[[ -r $d/stack ]] || continue
		{
			echo "cuju-stack: task ${d#/proc/} $(cat "$d/comm" 2>/dev/null) state $(awk '{print $3}' "$d/stat" 2>/dev/null) wchan $(cat "$d/wchan" 2>/dev/null)"
			sed 's/^/cuju-stack:    /' "$d/stack" 2>/dev/null
		} > /dev/kmsg
	done
}

for t in ${cuju_run//,/ }; do
	say "# cuju: begin $t"
	began=$SECONDS limit=$(time_left)
	( sleep $((limit > 40 ? limit - 30 : limit)) && dump_stacks "$t" 30 ) &
	dumper=$!
	CUJU_ROLE=$cuju_role CUJU_PEER=$cuju_peer CUJU_FTNL=$cuju_tests/../shim/ftnl CUJU_DEMO=$cuju_demo \
		CUJU_SOAK=${cuju_soak:-} CUJU_SOAK_LAST=${cuju_soak_last:-} \
		CUJU_QEMU=$cuju_tests/../qemu/qemu-system-x86_64 CUJU_GUEST=$cuju_tests/../guest \
		timeout -k 10 "$limit" \
		"$cuju_tests/$t" >&3 2>&3 </dev/null
	rc=$?
	kill "$dumper" 2>/dev/null; wait "$dumper" 2>/dev/null
	say "# cuju: end $t rc=$rc ($((SECONDS - began)) s)"
done

# Unloading runs every exit path; a failure to unload is a leak of a kind.
if [[ -n $keys_hold ]]; then
	kill "$keys_hold" && wait "$keys_hold" 2>/dev/null
fi
[[ -n $cpu_probe_pid ]] && kill "$cpu_probe_pid" 2>/dev/null
rmmod kvm_amd kvm || die "cannot unload kvm_amd and kvm"
say "# cuju: unloaded kvm_amd kvm"

if [[ -w $kmemleak ]]; then
	sleep 6			# kmemleak reports objects older than 5 s
	echo scan > $kmemleak
	say "# cuju: kmemleak begin"
	sed 's/^/# /' $kmemleak >&3
	say "# cuju: kmemleak end"
fi
finish 0
