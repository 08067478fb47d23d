#!/bin/sh
# debian-image.sh [--force] IMAGE PACKAGE...: make the Docker image IMAGE, a
# Debian rootfs (debootstrap --variant=minbase) with PACKAGEs installed, fed
# to docker import, unless Docker has IMAGE already, made with the same
# package list (the image's label org.mongoose-os.packages records it, so an
# image made before a package was added is made again). --force makes it
# even then.
#
# No registry is reachable here, so nothing can be pulled: the SDK image
# (scripts/sdk-image.sh) and the server's base image (fwbuild/base-image.sh)
# are both made this way. Needs root, a running Docker daemon and the Debian
# mirror; debootstrap is installed with apt-get when it is missing.
#
# Environment: DEBIAN_MIRROR (default: the first Debian archive this
# machine's apt sources name, /etc/apt/sources.list and sources.list.d/*.list
# or *.sources; never a host written here), DEBIAN_SUITE (default bookworm), TMPDIR (where the rootfs is made),
# IMAGE_SCRIPT (the name messages start with).
set -eu

name=${IMAGE_SCRIPT:-debian-image}
say() { echo "$name: $*"; }
fail() { echo "$name: error: $*" >&2; exit 1; }

force=
if [ "${1:-}" = --force ]; then
	force=1
	shift
fi
[ $# -ge 2 ] || fail "usage: debian-image.sh [--force] IMAGE PACKAGE..."
image=$1
shift
packages=$*
label=org.mongoose-os.packages
# apt_mirror prints the first "deb" URI of the apt sources that is a Debian
# archive (its path ends in /debian: not -security, not a third party's).
apt_mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { u = $2; if (u ~ /^\[/) u = $3; if (u ~ /\/debian\/?$/) { print u; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f"
	done
}
mirror=${DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}
[ -n "$mirror" ] || fail "no Debian archive in this machine's apt sources (/etc/apt/sources.list*); set DEBIAN_MIRROR"
suite=${DEBIAN_SUITE:-bookworm}

command -v docker >/dev/null 2>&1 || fail "docker client not found on PATH (apt-get install -y docker.io)"
docker info >/dev/null 2>&1 ||
	fail "no Docker daemon answered; start one, e.g.: dockerd --iptables=false --bridge=none >/tmp/dockerd.log 2>&1 &"
old_id=
if docker image inspect "$image" >/dev/null 2>&1; then
	old_id=$(docker image inspect --format '{{.Id}}' "$image")
	has=$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null || true)
	[ "$has" != "<no value>" ] || has=
	if [ -n "$force" ]; then
		say "image $image present; --force: building it again"
	elif [ "$has" = "$packages" ]; then
		say "image $image already present, nothing to do"
		exit 0
	else
		say "image $image present but made with packages '${has:-unknown}', want '$packages': building it again"
	fi
fi

[ "$(id -u)" = 0 ] || fail "building $image needs root (debootstrap and chroot)"
if ! command -v debootstrap >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || fail "debootstrap not found on PATH and no apt-get to install it"
	say "debootstrap not found; apt-get install -y debootstrap"
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; } >/dev/null 2>&1 ||
		fail "could not install debootstrap (apt-get install -y debootstrap)"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/debian-image.XXXXXX")
log="$root.log"
cleanup() {
	# /proc is mounted only while apt runs; nothing may stay mounted when
	# the tree is deleted.
	if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || true; fi
	rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "image $image is absent; building it (log: $log)"
say "debootstrap --variant=minbase $suite $root $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; fail "debootstrap failed; see $log"; }

say "installing $packages"
# No service may start inside the chroot (docker.io ships a daemon).
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
	-c "LABEL $label=\"$packages\"" \
	- "$image" >/dev/null
docker image inspect "$image" >/dev/null 2>&1 || fail "docker import did not produce $image"
if [ -n "$old_id" ] && [ "$(docker image inspect --format '{{.Id}}' "$image")" != "$old_id" ]; then
	# The old image lost its tag; drop it unless a container still uses it.
	docker image rm "$old_id" >/dev/null 2>&1 || true
fi
rm -f "$log"
say "built $image"
