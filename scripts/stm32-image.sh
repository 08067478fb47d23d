#!/bin/sh
# stm32-image.sh [--force] [SHARED]: make the SDK image of the real Mongoose
# OS core's platform stm32 under the name its platforms/stm32/sdk.version
# gives (docker.io/mgos/stm32-build:r21), so that
# `mos build --local --build-runner docker --platform stm32` builds the
# unmodified core. SHARED holds real/ (the core and its libs) and mcu/ (ST's
# STM32F7 driver trees); default ../shared beside the repo.
#
# Upstream's image is Ubuntu 18.04 with gcc 6.3 and a patched newlib, and
# ST's 2018 STM32Cube zips unpacked; it cannot be pulled here. This one is
# Debian (bookworm), made in two steps:
#  1. scripts/debian-image.sh makes the base under the final name: Debian's
#     ARM toolchain (gcc-arm-none-eabi 12, libnewlib-arm-none-eabi,
#     libstdc++-arm-none-eabi-newlib), make, python3 with python3-yaml (the
#     core's tools), git (build info), ccache (the compile cache), and gcc
#     with libc6-dev for the file system tools of step 2;
#  2. a container of that base, with no network, copies SHARED/mcu/
#     STM32Cube_FW_F7 to /opt/STM32Cube_FW_F7 and builds mkspiffs,
#     mkspiffs8, spls, spls8, unspiffs, unspiffs8 (vfs-fs-spiffs/tools, the
#     stm32 spiffs_config.h, the core's frozen) and mklfs, unlfs
#     (vfs-fs-lfs/tools) into /usr/local/bin; docker commit keeps it under
#     the same name, with STM32CUBE_F7_PATH set and the label
#     org.mongoose-os.stm32-sdk saying step 2 is done.
# An image with that label is left alone unless --force is given; an image
# without it (step 2 failed or never ran) is finished.
#
# Environment: as debian-image.sh; STM32_IMAGE_SUITE picks the Debian suite.
set -eu

say() { echo "stm32-image: $*"; }
fail() { echo "stm32-image: error: $*" >&2; exit 1; }

force=
if [ "${1:-}" = --force ]; then
	force=--force
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$top/../shared}
core=$shared/real/mongoose-os
libs=$shared/real/libs
cube=$shared/mcu/STM32Cube_FW_F7
version_file=$core/platforms/stm32/sdk.version
[ -r "$version_file" ] || fail "cannot read $version_file (is $shared the shared folder with real/mongoose-os?)"
image=$(tr -d ' \t\r\n' <"$version_file")
[ -n "$image" ] || fail "$version_file is empty"
for d in "$cube/Drivers/STM32F7xx_HAL_Driver" "$libs/vfs-fs-spiffs/tools" "$libs/vfs-fs-lfs/tools" "$core/src/frozen"; do
	[ -d "$d" ] || fail "$d is missing (see $shared/mcu/README.md)"
done

label=org.mongoose-os.stm32-sdk
cube_path=/opt/STM32Cube_FW_F7
packages="gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib make python3 python3-yaml git ccache gcc libc6-dev"
command -v docker >/dev/null 2>&1 || fail "docker client not found on PATH (apt-get install -y docker.io)"
if [ -z "$force" ] && docker image inspect "$image" >/dev/null 2>&1; then
	has=$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null || true)
	pkgs=$(docker image inspect --format '{{index .Config.Labels "org.mongoose-os.packages"}}' "$image" 2>/dev/null || true)
	# Finished (step 2's label) from the package list of this script.
	if [ -n "$has" ] && [ "$has" != "<no value>" ] && [ "$pkgs" = "$packages" ]; then
		say "image $image already present, nothing to do"
		exit 0
	fi
fi

IMAGE_SCRIPT=stm32-image DEBIAN_SUITE=${STM32_IMAGE_SUITE:-${DEBIAN_SUITE:-bookworm}} \
	"$top/scripts/debian-image.sh" $force "$image" $packages

base_id=$(docker image inspect --format '{{.Id}}' "$image")
box=stm32-image-$$
log=$(mktemp "${TMPDIR:-/tmp}/stm32-image.XXXXXX.log")
cleanup() { docker rm -f "$box" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM

say "copying the STM32Cube F7 tree to $cube_path, building the file system tools (log: $log)"
# The sources are mounted read-only; the tools' Makefiles write beside
# their sources, so they build in copies.
docker run --name "$box" --network none \
	-v "$cube:/src/cube:ro" \
	-v "$libs/vfs-fs-spiffs:/src/vfs-fs-spiffs:ro" \
	-v "$libs/vfs-fs-lfs:/src/vfs-fs-lfs:ro" \
	-v "$core/src/frozen:/src/frozen:ro" \
	"$image" /bin/sh -eux -c '
		cp -r /src/cube '"$cube_path"'
		mkdir -p /tmp/t
		cp -r /src/vfs-fs-spiffs /src/vfs-fs-lfs /src/frozen /tmp/t/
		make -C /tmp/t/vfs-fs-spiffs/tools BUILD_DIR=/usr/local/bin \
			SPIFFS_CONFIG_PATH=/tmp/t/vfs-fs-spiffs/include/stm32 FROZEN_PATH=/tmp/t/frozen
		make -C /tmp/t/vfs-fs-lfs/tools FROZEN_PATH=/tmp/t/frozen
		install -m 0755 /tmp/t/vfs-fs-lfs/tools/mklfs /tmp/t/vfs-fs-lfs/tools/unlfs /usr/local/bin/
		rm -rf /tmp/t
		for t in mkspiffs mkspiffs8 spls spls8 unspiffs unspiffs8 mklfs unlfs; do test -x /usr/local/bin/$t; done
		test -f '"$cube_path"'/Drivers/CMSIS/Include/core_cm7.h
	' >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "finishing $image failed; see $log"; }

say "docker commit -> $image"
docker commit \
	--change "ENV STM32CUBE_F7_PATH=$cube_path" \
	--change "LABEL $label=\"cube F7 at $cube_path; mkspiffs mkspiffs8 spls spls8 unspiffs unspiffs8 mklfs unlfs\"" \
	"$box" "$image" >/dev/null || fail "docker commit of $box to $image failed"
# The base lost its tag to the finished image; it stays as its parent.
[ "$(docker image inspect --format '{{.Id}}' "$image")" != "$base_id" ] || fail "docker commit left $image unchanged"
rm -f "$log"
say "built $image"
