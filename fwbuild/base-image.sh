#!/bin/sh
# base-image.sh [--force] [IMAGE]: make a local base image for
# fwbuild/Dockerfile (default fwbuild-base:local) if Docker does not have it
# yet (--force: even then).
#
# Only for machines that reach no registry (as our CI): fwbuild/Dockerfile
# starts from debian:bookworm-slim and installs with apt; given
# --build-arg BASE=fwbuild-base:local it starts from this image instead,
# which has all its packages already (git for libs, make, gcc, python3,
# ccache and bubblewrap for native builds, the docker CLI for
# --build-runner docker), made by scripts/debian-image.sh. Keep the list the
# same as the Dockerfile's PACKAGES.
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
	ca-certificates git make gcc g++ libc6-dev python3 ccache bubblewrap docker.io
