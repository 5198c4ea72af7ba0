#!/bin/bash
# guest.sh OUT KERNEL: the guest of the QEMU tests (make guest): KERNEL
# (/boot/vmlinuz-RELEASE) copied to OUT/vmlinuz and a busybox initramfs
# whose init is selftests/guest/init, with virtio-net's modules from
# /lib/modules/RELEASE, as OUT/initramfs.cpio.gz.  Nothing is downloaded.
set -euo pipefail
out=${1:?usage: guest.sh OUT KERNEL} kernel=${2:?usage: guest.sh OUT KERNEL}
here=$(cd "$(dirname "$0")/.." && pwd)
[[ -r $kernel ]] || { echo "guest: no kernel $kernel" >&2; exit 1; }
mkdir -p "$out"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"
cp /bin/busybox "$dir/bin/busybox"
ln -s busybox "$dir/bin/sh"
# The benchmark's workload, static (glibc's libc.a, from libc6-dev).
gcc -O2 -static -o "$dir/bin/wl" "$here/guest/wl.c"
# stream_test's TCP service, static too.
gcc -O2 -static -I"$here/include" -o "$dir/bin/tcpsvc" "$here/guest/tcpsvc.c"
install -m 755 "$here/guest/init" "$dir/init"
# virtio-net, virtio-blk and virtio_pci with what they need, in the order
# modprobe would load them (init loads them in that order).
kver=${kernel##*/vmlinuz-}
mkdir -p "$dir/lib/modules"
for ko in $(modprobe -a --show-depends -S "$kver" virtio_pci virtio_net virtio_blk |
	    awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
	m=${ko##*/}
	m=${m%%.ko*}
	case $ko in
	*.ko) cp "$ko" "$dir/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$ko" > "$dir/lib/modules/$m.ko" ;;
	*) echo "guest: $ko: a compression this script does not know" >&2; exit 1 ;;
	esac
	echo "$m" >> "$dir/lib/modules/order"
done
[[ -s $dir/lib/modules/order ]] ||
	{ echo "guest: modprobe finds no virtio_net for $kver" >&2; exit 1; }
(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz.new"
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
cp "$kernel" "$out/vmlinuz"
echo "guest: $out/vmlinuz ($(basename "$kernel")), $out/initramfs.cpio.gz"
