#!/bin/bash
# test-packages-systemd.sh: the part of scripts/test-packages.sh that runs
# in a Debian container booted with systemd as PID 1 (no network): install
# the packages from /debs, then run fwbuild-manager.service for real, with
# its user, directories and sandboxing, and build a copy of examples/hello
# (/examples) against it on 127.0.0.1.
set -eu

say() { echo "test-packages (systemd): $*"; }
fail() {
	echo "test-packages (systemd): FAIL: $*" >&2
	journalctl -u fwbuild-manager --no-pager 2>/dev/null | tail -n 40 >&2 || true
	exit 1
}

port=18000
say "apt-get install /debs/*.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /debs/*.deb >/tmp/apt.log 2>&1 ||
	{ cat /tmp/apt.log; fail "apt-get install of the packages failed"; }
[ "$(systemctl is-enabled fwbuild-manager)" = enabled ] || fail "the service is not enabled after install"

# An account, in the place the package made for it: readable by the
# service's group only (python3's crypt makes the bcrypt line htpasswd -nB
# would).
[ "$(stat -c '%U:%G %a' /etc/fwbuild-manager)" = "root:fwbuild-manager 750" ] ||
	fail "/etc/fwbuild-manager is $(stat -c '%U:%G %a' /etc/fwbuild-manager), want root:fwbuild-manager 750"
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')
case $hash in '$2b$'*) ;; *) fail "could not make a bcrypt hash (got '$hash')" ;; esac
echo "ci:$hash" >/etc/fwbuild-manager/users
chown root:fwbuild-manager /etc/fwbuild-manager/users
chmod 0640 /etc/fwbuild-manager/users

say "editing /etc/default/fwbuild-manager (native runner, 127.0.0.1:$port, --auth-file); systemctl restart"
sed -i "s|^FWBUILD_MANAGER_OPTS=.*|FWBUILD_MANAGER_OPTS=\"--v=1 --address=127.0.0.1 --port=$port --build-runner=native --auth-file=/etc/fwbuild-manager/users\"|" \
	/etc/default/fwbuild-manager
systemctl restart fwbuild-manager
i=0
until (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
	systemctl -q is-active fwbuild-manager || fail "the service is not active"
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the service did not listen on 127.0.0.1:$port"
	sleep 0.1
done
main_pid=$(systemctl show -p MainPID --value fwbuild-manager)
[ "$(stat -c %U /proc/"$main_pid")" = fwbuild-manager ] || fail "the server does not run as fwbuild-manager"
say "active, pid $main_pid as fwbuild-manager: $(tr '\0' ' ' </proc/"$main_pid"/cmdline)"

mkdir -p /tmp/w
cp -r /examples/hello /examples/sdk-host /tmp/w/
rm -rf /tmp/w/hello/build /tmp/w/hello/deps
cd /tmp/w/hello
if mos build --server "http://127.0.0.1:$port" --repo ../sdk-host >/tmp/build.log 2>&1; then
	fail "a build without the account's password succeeded"
fi
grep -q 401 /tmp/build.log || { cat /tmp/build.log; fail "a build without credentials was not refused with 401"; }
say "without credentials: refused ($(grep -m1 401 /tmp/build.log))"
for what in cold unchanged; do
	mos build --server "http://ci:s3cret@127.0.0.1:$port" --repo ../sdk-host >/tmp/build.log 2>&1 ||
		{ cat /tmp/build.log; fail "$what build failed"; }
	n=$(grep -c '^CC ' build/build.log || true)
	say "$what build: $(grep Success /tmp/build.log) ($n files compiled)"
	if [ $what = cold ]; then [ "$n" -gt 0 ] || fail "the cold build compiled nothing"; fi
	if [ $what = unchanged ]; then [ "$n" -eq 0 ] || fail "the unchanged build compiled $n files"; fi
done
journalctl -u fwbuild-manager --no-pager | grep -q 'running /usr/bin/mos build .* --sandbox' ||
	fail "the service's builds did not run with --sandbox"

systemctl stop fwbuild-manager
[ "$(systemctl show -p Result --value fwbuild-manager)" = success ] || fail "the service did not stop cleanly"
say "OK: the unit ran under systemd (sandboxed, as fwbuild-manager, accounts from /etc/fwbuild-manager, state in /var/lib/fwbuild-manager) and served builds"
