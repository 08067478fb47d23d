#!/bin/sh
# test-packages.sh: build the Debian packages (mos, fwbuild-manager) from
# this tree with `dpkg-buildpackage -b -us -uc`, run lintian on them (no
# errors allowed), `systemd-analyze verify` the service (no message
# allowed), then install both with apt-get into a fresh Debian container
# without network and prove them there (scripts/test-packages-inside.sh:
# mos version, the unit's ExecStart serving remote builds of
# examples/hello). `make test-packages` runs it; CI runs that.
#
# Needs root, Docker and the Debian mirror (for the base image, made once by
# scripts/debian-image.sh). Missing Debian build tools are installed with
# apt-get. Without a Docker daemon it says so and stops (exit 0) after the
# build, lintian and verify steps.
#
# Environment: KEEP=1 keeps the work dir; PKGTEST_IMAGE (default
# mos-pkgtest:local) names the base image.
set -eu

say() { echo "test-packages: $*"; }
fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
image=${PKGTEST_IMAGE:-mos-pkgtest:local}
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
[ -n "$version" ] || fail "cannot read the version from debian/changelog"

need=""
command -v dpkg-buildpackage >/dev/null 2>&1 || need="$need dpkg-dev"
command -v dh >/dev/null 2>&1 || need="$need debhelper"
command -v lintian >/dev/null 2>&1 || need="$need lintian"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
if [ -n "$need" ]; then
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || fail "missing:$need (apt-get install -y$need)"
	say "installing$need"
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $need; } >/dev/null 2>&1 ||
		fail "apt-get install -y$need failed"
fi
command -v go >/dev/null 2>&1 || fail "go not found on PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/test-packages.XXXXXX")
cleanup() { if [ "${KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# The tree as git sees it (tracked and new files, not ignored ones like
# bin/), so dpkg-buildpackage writes its ../*.deb into the work dir and the
# checkout is left as it was.
say "copying the tree to $work/src"
mkdir "$work/src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf -) | tar -C "$work/src" -xf -
build_id=$(cd "$top" && git describe --always --dirty --tags 2>/dev/null || echo nogit)

say "dpkg-buildpackage -b -us -uc (version $version)"
# The build shares this machine's Go caches; the id is the checkout's.
(cd "$work/src" &&
	GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) MAKEFLAGS="BUILD_ID=$build_id" \
		dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; fail "dpkg-buildpackage failed (log above)"; }
mkdir "$work/debs"
for p in mos fwbuild-manager; do
	deb="$work/${p}_${version}_$(dpkg --print-architecture).deb"
	[ -f "$deb" ] || fail "dpkg-buildpackage made no $(basename "$deb")"
	cp "$deb" "$work/debs/"
done
say "built: $(cd "$work/debs" && echo *.deb)"

say "lintian"
changes=$(ls "$work"/mos_"$version"_*.changes)
rc=0
lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1 || rc=$?
grep -v 'running with root privileges' "$work/lintian.log" || true
[ "$rc" = 0 ] || fail "lintian reports errors (above; exit $rc)"

say "systemd-analyze verify fwbuild-manager.service"
root="$work/root"
mkdir "$root"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
# The unit's dependencies (sysinit.target, ...) come from this machine.
cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
out=$(systemd-analyze verify --root="$root" fwbuild-manager.service 2>&1) || { echo "$out"; fail "systemd-analyze verify failed"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify complains (above)"; }

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	say "SKIP the install test: no Docker daemon answered (.ci/run starts one)"
	exit 0
fi
# The fresh root: minbase Debian with what the packages depend on and what
# hello's native build needs (bubblewrap: the server's sandbox, which the
# package recommends), so installing needs no network; and systemd, for the
# second run, which boots it.
IMAGE_SCRIPT=test-packages "$top/scripts/debian-image.sh" "$image" \
	adduser git make gcc libc6-dev python3 bubblewrap systemd systemd-sysv
cp "$top/scripts/test-packages-inside.sh" "$top/scripts/test-packages-systemd.sh" "$work/debs/"
mkdir "$work/examples"
cp -r "$top/examples/hello" "$top/examples/sdk-host" "$work/examples/"
say "docker run --network none $image (install and prove)"
# bwrap needs to make user namespaces and mount a fresh /proc, which
# Docker's seccomp profile and its masked /proc paths refuse.
docker run --rm --network none \
	--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
	-v "$work/debs:/debs:ro" -v "$work/examples:/examples:ro" \
	"$image" bash /debs/test-packages-inside.sh "$version" ||
	fail "the installed packages failed (above)"

# Second run: the unit under a real systemd (PID 1 of a container without
# network), so its user, directories and sandboxing are what runs. systemd
# needs a few capabilities and the cgroup tree for that; where this Docker
# cannot give them, this part says so and is left out.
container=mos-pkgtest-$$
cleanup_container() { docker rm -f "$container" >/dev/null 2>&1 || true; }
trap 'cleanup_container; cleanup' EXIT
say "docker run --network none $image /lib/systemd/systemd (the unit under systemd)"
docker run -d --name "$container" --network none \
	--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
	--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE --cap-add MKNOD --cap-add SYS_CHROOT \
	--cap-add DAC_READ_SEARCH --cap-add LINUX_IMMUTABLE --cap-add IPC_LOCK --cap-add SYS_NICE --cap-add AUDIT_CONTROL \
	-v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock -e container=docker \
	-v "$work/debs:/debs:ro" -v "$work/examples:/examples:ro" \
	"$image" /lib/systemd/systemd >/dev/null 2>"$work/systemd-run.log" || true
state=
for _ in $(seq 1 100); do
	state=$(docker exec "$container" systemctl is-system-running 2>/dev/null) || true
	case $state in running | degraded) break ;; esac
	sleep 0.2
done
case $state in
running | degraded)
	docker exec "$container" bash /debs/test-packages-systemd.sh ||
		fail "the unit under systemd failed (above)"
	;;
*)
	cat "$work/systemd-run.log"
	docker logs "$container" 2>&1 | tail -n 20
	say "SKIP the systemd run: systemd did not boot in a container here (state '${state:-none}')"
	;;
esac
cleanup_container
say "PASS: packages $version built, lintian clean of errors, unit verified, installed and serving builds"
