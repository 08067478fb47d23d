#!/bin/sh
# base-image.sh: make the base image of fwbuild/Dockerfile (default name
# fwbuild-base:local) if Docker does not have it yet.
#
# No registry is reachable here, so `FROM debian` cannot work: the base is a
# Debian rootfs made with debootstrap, with what the server's builds need
# (git for libs, make, gcc, python3 for native builds, the docker CLI for
# --build-runner docker), fed to `docker import`.
# Needs root, debootstrap, a running Docker daemon and the Debian mirror.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian),
# FWBUILD_BASE_SUITE (default bookworm), TMPDIR (where the rootfs is made).
set -eu

say() { echo "base-image: $*"; }
fail() { echo "base-image: error: $*" >&2; exit 1; }

image=${1:-fwbuild-base:local}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${FWBUILD_BASE_SUITE:-bookworm}
packages="ca-certificates git make gcc g++ libc6-dev python3 docker.io"

command -v docker >/dev/null 2>&1 || fail "docker client not found on PATH (apt-get install -y docker.io)"
docker info >/dev/null 2>&1 || fail "no Docker daemon answered; start one, e.g.: dockerd --iptables=false --bridge=none >/tmp/dockerd.log 2>&1 &"
if docker image inspect "$image" >/dev/null 2>&1; then
	say "image $image already present, nothing to do"
	exit 0
fi
[ "$(id -u)" = 0 ] || fail "building $image needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap not found on PATH (apt-get install -y debootstrap)"

root=$(mktemp -d "${TMPDIR:-/tmp}/fwbuild-base.XXXXXX")
log="$root.log"
cleanup() {
	if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || true; fi
	rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "debootstrap --variant=minbase $suite $root $mirror (log: $log)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "debootstrap failed; see $log"; }

say "installing $packages"
# No service may start inside the chroot (docker.io has a daemon).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
# shellcheck disable=SC2086 # the package list is meant to split
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends $packages >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; fail "apt-get install in the rootfs failed; see $log"; }
chroot "$root" apt-get clean >>"$log" 2>&1
umount "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

say "docker import -> $image"
tar -C "$root" -c . | docker import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-c 'CMD ["/bin/bash"]' \
	- "$image" >/dev/null
docker image inspect "$image" >/dev/null 2>&1 || fail "docker import did not produce $image"
rm -f "$log"
say "built $image"
