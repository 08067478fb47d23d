#!/bin/sh
# base-image.sh [--force] [IMAGE]: make the base image of fwbuild/Dockerfile
# (default fwbuild-base:local) if Docker does not have it yet (--force: even
# then).
#
# No registry is reachable here, so `FROM debian` cannot work: the base is
# Debian with what the server's builds need (git for libs, make, gcc and
# python3 for native builds, the docker CLI for --build-runner docker), made
# by scripts/debian-image.sh.
#
# Environment: as debian-image.sh; FWBUILD_BASE_SUITE picks the Debian suite.
set -eu

force=
if [ "${1:-}" = --force ]; then
	force=--force
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
IMAGE_SCRIPT=base-image DEBIAN_SUITE=${FWBUILD_BASE_SUITE:-${DEBIAN_SUITE:-bookworm}} \
	exec "$top/scripts/debian-image.sh" $force "${1:-fwbuild-base:local}" \
	ca-certificates git make gcc g++ libc6-dev python3 docker.io
