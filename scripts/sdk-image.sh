#!/bin/sh
# sdk-image.sh [--force] [IMAGE]: make the Docker image of the host SDK
# (examples/sdk-host) if Docker does not have it yet: Debian with gcc, g++,
# make, python3 and ccache (for builds with a compile cache), made by
# scripts/debian-image.sh. The image name is the one line of
# examples/sdk-host/platforms/host/sdk.version unless given; --force makes
# it again even if it is there.
#
# Environment: as debian-image.sh; SDK_IMAGE_SUITE picks the Debian suite.
set -eu

fail() { echo "sdk-image: error: $*" >&2; exit 1; }

force=
if [ "${1:-}" = --force ]; then
	force=--force
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
version_file="$top/examples/sdk-host/platforms/host/sdk.version"
if [ $# -ge 1 ] && [ -n "$1" ]; then
	image=$1
else
	[ -r "$version_file" ] || fail "cannot read $version_file"
	image=$(tr -d ' \t\r\n' <"$version_file")
	[ -n "$image" ] || fail "$version_file is empty"
fi

IMAGE_SCRIPT=sdk-image DEBIAN_SUITE=${SDK_IMAGE_SUITE:-${DEBIAN_SUITE:-bookworm}} \
	exec "$top/scripts/debian-image.sh" $force "$image" gcc g++ make python3 libc6-dev ccache
