#!/bin/sh
# sdk-image.sh: make the Docker image of the host SDK (examples/sdk-host) if
# Docker does not have it yet. The image name is the one line of
# examples/sdk-host/platforms/host/sdk.version unless given as $1.
#
# No registry is reachable here, so the image is a Debian bookworm rootfs
# made with debootstrap plus gcc, g++, make and python3, fed to docker import.
# Needs root, debootstrap, a running Docker daemon and the Debian mirror.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# SDK_IMAGE_SUITE (default bookworm), TMPDIR (where the rootfs is made).
set -eu

say() { echo "sdk-image: $*"; }
fail() { echo "sdk-image: error: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
version_file="$top/examples/sdk-host/platforms/host/sdk.version"
if [ $# -ge 1 ] && [ -n "$1" ]; then
	image=$1
else
	[ -r "$version_file" ] || fail "cannot read $version_file"
	image=$(tr -d ' \t\r\n' <"$version_file")
	[ -n "$image" ] || fail "$version_file is empty"
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${SDK_IMAGE_SUITE:-bookworm}

command -v docker >/dev/null 2>&1 || fail "docker client not found on PATH (apt-get install -y docker.io)"
if ! docker info >/dev/null 2>&1; then
	fail "no Docker daemon answered; start one, e.g.: dockerd --iptables=false --bridge=none >/tmp/dockerd.log 2>&1 &"
fi
if docker image inspect "$image" >/dev/null 2>&1; then
	say "image $image already present, nothing to do"
	exit 0
fi

[ "$(id -u)" = 0 ] || fail "building $image needs root (debootstrap and chroot)"
if ! command -v debootstrap >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || fail "debootstrap not found on PATH and no apt-get to install it"
	say "debootstrap not found; apt-get install -y debootstrap"
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; } >/dev/null 2>&1 ||
		fail "could not install debootstrap (apt-get install -y debootstrap)"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/sdk-host-rootfs.XXXXXX")
log="$root.log"
cleanup() {
	# /proc is mounted only while apt runs; make sure nothing stays mounted
	# before deleting the tree.
	if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || true; fi
	rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "image $image is absent; building it (log: $log)"
say "debootstrap --variant=minbase $suite $root $mirror"
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	fail "debootstrap failed; see $log"
fi

say "installing gcc g++ make python3 in the rootfs"
mount -t proc proc "$root/proc"
if ! chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends gcc g++ make python3 libc6-dev >>"$log" 2>&1; then
	tail -n 20 "$log" >&2
	fail "apt-get install in the rootfs failed; see $log"
fi
chroot "$root" apt-get clean >>"$log" 2>&1
umount "$root/proc"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

say "docker import -> $image"
tar -C "$root" -c . | docker import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-c 'CMD ["/bin/bash"]' \
	- "$image" >/dev/null
docker image inspect "$image" >/dev/null 2>&1 || fail "docker import did not produce $image"
rm -f "$log"
say "built $image"
