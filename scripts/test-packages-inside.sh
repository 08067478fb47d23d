#!/bin/bash
# test-packages-inside.sh: the part of scripts/test-packages.sh that runs in
# a fresh Debian container (no network, no systemd): install the packages
# from /debs, check `mos version`, start fwbuild-manager with the unit's own
# ExecStart line (as systemd would: its user, StateDirectory,
# EnvironmentFile), and build a copy of examples/hello (/examples) against
# it on 127.0.0.1 with the packaged mos.
set -eu

say() { echo "test-packages: $*"; }
fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }

want_version=$1
port=18000
unit=/lib/systemd/system/fwbuild-manager.service

say "apt-get install /debs/*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /debs/*.deb >/tmp/apt.log 2>&1 ||
	{ cat /tmp/apt.log; fail "apt-get install of the packages failed"; }

say "mos version"
mos version | tee /tmp/version.txt
grep -qx 'Version: 2.20.0' /tmp/version.txt || fail "mos version does not present 2.20.0"
grep -qx "Package version: $want_version" /tmp/version.txt || fail "mos version does not show package version $want_version"
[ -s /usr/share/man/man1/mos.1.gz ] || fail "no man page mos(1)"
grep -q 'complete' /usr/share/bash-completion/completions/mos || fail "no bash completion"
[ -s /usr/share/zsh/vendor-completions/_mos ] || fail "no zsh completion"

getent passwd fwbuild-manager >/dev/null || fail "postinst made no fwbuild-manager user"
[ -f /etc/default/fwbuild-manager ] || fail "no /etc/default/fwbuild-manager"
[ -d /etc/fwbuild-manager ] || fail "no /etc/fwbuild-manager/"
. /etc/default/fwbuild-manager
[ -n "${FWBUILD_MANAGER_OPTS:-}" ] || fail "/etc/default/fwbuild-manager sets no FWBUILD_MANAGER_OPTS"

# An admin's edit of the defaults: this machine's toolchain and loopback
# only (the container has no network anyway, nor Docker).
say "editing /etc/default/fwbuild-manager: --address=127.0.0.1 --port=$port --build-runner=native"
sed -i "s|^FWBUILD_MANAGER_OPTS=.*|FWBUILD_MANAGER_OPTS=\"--v=1 --address=127.0.0.1 --port=$port --build-runner=native\"|" \
	/etc/default/fwbuild-manager

# What systemd would do before ExecStart, read from the unit itself.
unit_value() { sed -n "s/^$1=//p" "$unit"; }
user=$(unit_value User)
group=$(unit_value Group)
for d in $(unit_value StateDirectory); do
	install -d -o "$user" -g "$group" -m 0755 "/var/lib/$d"
done
for d in $(unit_value CacheDirectory); do
	install -d -o "$user" -g "$group" -m 0755 "/var/cache/$d"
done
env_assignments=$(unit_value Environment)
execstart=$(unit_value ExecStart)
[ -n "$execstart" ] || fail "no ExecStart in $unit"
say "ExecStart=$execstart (as $user)"

# systemd splits an unbraced $VAR at white space, as this shell does.
(
	set -a
	# shellcheck disable=SC1091
	. /etc/default/fwbuild-manager
	# shellcheck disable=SC2086
	export $env_assignments
	set +a
	eval "set -- $execstart"
	exec setpriv --reuid="$user" --regid="$group" --init-groups "$@"
) >/tmp/server.log 2>&1 &
server=$!

i=0
until (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	kill -0 $server 2>/dev/null || { cat /tmp/server.log; fail "fwbuild-manager exited at start"; }
	i=$((i + 1))
	[ $i -lt 300 ] || { cat /tmp/server.log; fail "fwbuild-manager did not listen on 127.0.0.1:$port"; }
	sleep 0.1
done
say "fwbuild-manager listens on 127.0.0.1:$port"

mkdir -p /tmp/w
cp -r /examples/hello /examples/sdk-host /tmp/w/
rm -rf /tmp/w/hello/build /tmp/w/hello/deps
cd /tmp/w/hello
compiled() { grep -c '^CC ' build/build.log || true; }

say "mos build --server http://127.0.0.1:$port --repo ../sdk-host (cold)"
mos build --server "http://127.0.0.1:$port" --repo ../sdk-host >/tmp/build1.log 2>&1 ||
	{ cat /tmp/build1.log; echo "--- server log:"; cat /tmp/server.log; fail "remote build with the packaged mos failed"; }
cat /tmp/build1.log
grep -q 'Success, built hello/host' /tmp/build1.log || fail "no Success line"
[ -s build/fw.zip ] || fail "no build/fw.zip"
n=$(compiled)
[ "$n" -gt 0 ] || fail "the cold build compiled nothing"

say "mos build again (unchanged)"
mos build --server "http://127.0.0.1:$port" --repo ../sdk-host >/tmp/build2.log 2>&1 ||
	{ cat /tmp/build2.log; fail "unchanged rebuild failed"; }
n2=$(compiled)
[ "$n2" -eq 0 ] || fail "unchanged rebuild compiled $n2 files, want 0"

# The build ran sandboxed (bubblewrap: the default --sandbox on), as the
# service's user, inside its state dir.
grep -q 'running /usr/bin/mos build .* --sandbox' /tmp/server.log ||
	{ cat /tmp/server.log; fail "the server did not run its builds with --sandbox"; }
if grep -qi 'warning.*sandbox' /tmp/server.log; then
	cat /tmp/server.log
	fail "the server warns about its sandbox"
fi

owner=$(find /var/lib/fwbuild-manager/volumes -name build_ctx.txt -printf '%u\n' | sort -u)
[ "$owner" = "$user" ] || fail "build context files owned by '$owner', want $user"

kill -TERM $server
wait $server || true
say "OK: installed, mos version shows $want_version, the service's command line served builds (cold: $n files compiled, unchanged: 0)"
