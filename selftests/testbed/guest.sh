#!/bin/bash
# guest.sh OUT KERNEL: the guest of the QEMU tests (make guest): KERNEL
# copied to OUT/vmlinuz and a busybox initramfs whose init is
# selftests/guest/init, as OUT/initramfs.cpio.gz.  Nothing is downloaded.
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
install -m 755 "$here/guest/init" "$dir/init"
(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz.new"
mv "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
cp "$kernel" "$out/vmlinuz"
echo "guest: $out/vmlinuz ($(basename "$kernel")), $out/initramfs.cpio.gz"
