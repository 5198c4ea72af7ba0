#!/bin/bash
# Install every Debian package Cuju needs, idempotently: nothing is done when
# all of them are already installed.  Run by `make deps`, and by `make check`
# and the demo when something is missing.
set -euo pipefail

pkgs=(
	# kernel source to build KVM from, and the kernel the test hosts boot
	linux-source-6.1 linux-headers-amd64 linux-image-amd64
	# building kernels and modules (the debug kernel needs flex/bison/libelf)
	gcc make bc flex bison libelf-dev libssl-dev xz-utils cpio kmod
	# test hosts
	qemu-system-x86 qemu-system-data seabios busybox-static iproute2
	# user space: ftnl; fuzzing the wire codec (make fuzz)
	libnl-3-dev libnl-genl-3-dev pkg-config clang libclang-rt-14-dev
	# the kernel's own KVM selftests (make kvm-selftests): the uapi headers
	# they are built against, as installed (no `make headers`)
	libc6-dev linux-libc-dev
	# packaging (make deb, make packages): Debian's tools, DKMS and its
	# debhelper add-on, lintian, and rst2man for ftnl's man page
	dpkg-dev debhelper dh-dkms dkms lintian python3-docutils
	# ftnl_test reads ftnl -p with the Prometheus client library's parser;
	# the netlink spec (YAML) writes the counter table (make spec-check);
	# unshare (ftnl_test: another network namespace)
	python3-prometheus-client python3-yaml util-linux
	# ftnl's bash completion, checked as bash-completion loads it
	bash-completion
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
