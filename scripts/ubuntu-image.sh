#!/bin/sh
# ubuntu-image.sh [--force] [CORE]: make the SDK image of the real Mongoose OS
# core's platform ubuntu, under the name its platforms/ubuntu/sdk.version
# gives (docker.io/mgos/ubuntu-build:bionic-r4), so that
# `mos build --local --build-runner docker --platform ubuntu` builds the
# unmodified core. CORE is the core's checkout (default ../shared/real/
# mongoose-os beside the repo); without one the name above is used.
#
# Upstream's image is Ubuntu 18.04 and cannot be pulled here; this one is
# Debian (bookworm) with what platforms/ubuntu/Makefile.build and the core's
# tools/*.py use: clang and its sanitizer runtimes (ASAN and UBSAN are on),
# libcap-dev (-lcap), make, python3 with python3-yaml (mgos_gen_config.py),
# git (build info) and ccache (for builds with a compile cache). Made by
# scripts/debian-image.sh, which skips it when Docker has it already;
# --force makes it again.
#
# Environment: as debian-image.sh; UBUNTU_IMAGE_SUITE picks the Debian suite.
set -eu

fail() { echo "ubuntu-image: error: $*" >&2; exit 1; }

force=
if [ "${1:-}" = --force ]; then
	force=--force
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
image=docker.io/mgos/ubuntu-build:bionic-r4
core=${1:-$top/../shared/real/mongoose-os}
version_file="$core/platforms/ubuntu/sdk.version"
if [ -r "$version_file" ]; then
	image=$(tr -d ' \t\r\n' <"$version_file")
	[ -n "$image" ] || fail "$version_file is empty"
elif [ $# -ge 1 ]; then
	fail "cannot read $version_file (is $core a mongoose-os checkout?)"
fi

IMAGE_SCRIPT=ubuntu-image DEBIAN_SUITE=${UBUNTU_IMAGE_SUITE:-${DEBIAN_SUITE:-bookworm}} \
	exec "$top/scripts/debian-image.sh" $force "$image" \
	make clang libclang-rt-dev libcap-dev libc6-dev python3 python3-yaml git ccache
