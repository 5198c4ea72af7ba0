#!/bin/bash
# qemu-patch/build.sh OUT: build Debian 12's QEMU with Cuju's patches into
# OUT/qemu-system-x86_64 (`make qemu`).  Idempotent and incremental:
#
#   1. Debian's build dependencies of the configuration below, and a
#      deb-src entry for the archive the machine already uses (derived from
#      its debian.sources), so that `apt-get source qemu` works;
#   2. the source package, fetched once into OUT/src/ (Debian's patches
#      applied by dpkg-source), kept as a git tree whose first commit is
#      Debian's source: each build resets it to that commit (only files
#      that differ are rewritten, so only they get new times and ninja
#      rebuilds only what depends on them), copies uapi/linux/kvm_ft.h
#      and the counter table it includes, kvm_ft_stats.h, into
#      linux-headers/linux/, and applies qemu-patch/*.patch;
#   3. configured once (the testbed's configuration: x86_64 system
#      emulation only, KVM alone (every use of it is -accel kvm: no TCG
#      to compile, an eighth of the build), slirp, no documentation, no firmware
#      of its own but Debian's, searched where Debian's QEMU searches:
#      outside the prefix, which QEMU relocates to wherever its
#      executable is), then `ninja qemu-system-x86_64` alone, and QEMU's
#      unit test tests/unit/test-vmstate, run (0005 changes what it
#      tests).  ccache is installed and used, so that a fresh clone on
#      the same machine, at any path, compiles little; its cache is
#      never required.
#
# Nothing of QEMU's source is in this repository: only the patches.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
tree=$src/tree
obj=$out/obj

pkgs=(dpkg-dev git meson ninja-build pkg-config flex bison python3 ccache
      libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || { echo "qemu: run as root to install: ${missing[*]}" >&2; exit 1; }
	echo "qemu: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The source package, once.
if [[ ! -d $tree/.git ]]; then
	srcs=/etc/apt/sources.list.d/cuju-deb-src.sources
	if ! apt-get source --print-uris -qq qemu >/dev/null 2>&1; then
		[[ $(id -u) == 0 ]] || { echo "qemu: run as root to add $srcs" >&2; exit 1; }
		[[ -r /etc/apt/sources.list.d/debian.sources ]] ||
			{ echo "qemu: no /etc/apt/sources.list.d/debian.sources to derive deb-src from" >&2; exit 1; }
		sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$srcs"
		echo "qemu: added $srcs (deb-src of the same archive)"
		apt-get update -qq
	fi
	rm -rf "$src" && mkdir -p "$src"
	(cd "$src" && apt-get source -qq qemu 2>&1 | grep -v '^dpkg-source: info: applying' || true)
	d=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -1)
	[[ -n $d && -x $d/configure ]] || { echo "qemu: apt-get source qemu gave no source tree" >&2; exit 1; }
	mv "$d" "$tree"
	echo "qemu: source $(cat "$tree/VERSION") in $tree"
	git -C "$tree" init -q
	git -C "$tree" add -A -f .
	git -C "$tree" -c user.name=cuju -c user.email=cuju@localhost commit -q -m "Debian's source" --no-gpg-sign
	git -C "$tree" tag debian
fi

# Debian's source, the uapi header, the patches: again only when they
# changed, so that an unchanged series rebuilds nothing.
stamp=$(cat "$top"/uapi/linux/kvm_ft*.h "$top"/qemu-patch/*.patch 2>/dev/null | sha1sum | cut -c1-16)
if [[ $(cat "$src/applied" 2>/dev/null) != "$stamp" ]]; then
	rm -f "$src/applied"
	git -C "$tree" reset -q --hard refs/tags/debian
	git -C "$tree" clean -q -fdx
	cp "$top"/uapi/linux/kvm_ft.h "$top"/uapi/linux/kvm_ft_stats.h "$tree/linux-headers/linux/"
	for p in "$top"/qemu-patch/*.patch; do
		[[ -e $p ]] || continue
		git -C "$tree" apply --whitespace=nowarn "$p" ||
			{ echo "qemu: $(basename "$p") does not apply" >&2; exit 1; }
		echo "qemu: applied $(basename "$p")"
	done
	echo "$stamp" > "$src/applied"
fi

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
# A fresh clone elsewhere on the machine (another path) must hit the same
# cache: paths under the checkout are hashed relative to it, and the
# working directory not at all (only debug info names it).
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
# The prefix is never installed into (QEMU finds its files relative to its
# executable); it is a fixed path so that config-host.h, which holds it and
# nearly every file includes, is the same in every clone (ccache).
conf=(--prefix=/opt/cuju-qemu --cc="$cc"
      --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
      --target-list=x86_64-softmmu --disable-docs --disable-user
      --without-default-features --enable-kvm --disable-tcg --enable-slirp
      --enable-fdt=system --disable-install-blobs --disable-werror)
if [[ ! -f $obj/build.ninja || $(cat "$obj/cuju-configure" 2>/dev/null) != "${conf[*]}" ]]; then
	rm -rf "$obj" && mkdir -p "$obj"
	(cd "$obj" && "$tree/configure" "${conf[@]}") > "$out/configure.log" 2>&1 ||
		{ tail -20 "$out/configure.log" >&2; echo "qemu: configure failed ($out/configure.log)" >&2; exit 1; }
	echo "${conf[*]}" > "$obj/cuju-configure"
fi
ninja -C "$obj" qemu-system-x86_64 tests/unit/test-vmstate
# QEMU's own unit test of what 0005 changes (and a case of its own): the
# device state saved in one go must be the bytes of QEMU's element-by-
# element loop.  A failure stops the build: a backup could not load it.
if ! "$obj/tests/unit/test-vmstate" --tap > "$obj/test-vmstate.tap" 2>&1 ||
   grep -q '^not ok' "$obj/test-vmstate.tap"; then
	cat "$obj/test-vmstate.tap" >&2
	echo "qemu: tests/unit/test-vmstate failed" >&2
	exit 1
fi
echo "qemu: tests/unit/test-vmstate: $(grep -c '^ok' "$obj/test-vmstate.tap") passed"
install -m 755 "$obj/qemu-system-x86_64" "$out/qemu-system-x86_64"
echo "qemu: $out/qemu-system-x86_64 ($("$out/qemu-system-x86_64" --version | head -1))"
