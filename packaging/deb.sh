#!/usr/bin/env bash
# Builds Porta's Debian package with cargo-deb, installs it on this machine with dpkg -i,
# checks what it put where, verifies the systemd unit where systemd-analyze exists, and
# runs Porta the way the unit does (user porta, /etc/porta/porta.toml, in /var/lib/porta)
# until it answers discovery on 127.0.0.1. Then removes and purges the package (KEEP=1
# keeps it installed). Needs root; talks to 127.0.0.1 only.
#
#   packaging/deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dpkg-shlibdeps >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev
fi
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
START=$(date +%s)
cargo deb
echo "cargo deb: $(( $(date +%s) - START )) s"
DEB=$(ls -t target/debian/porta_*.deb | head -n1)
echo "== $DEB ($(du -h "$DEB" | cut -f1))"
dpkg-deb -I "$DEB" | sed -n '/Package:/,$p'
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $DEPENDS"
if echo "$DEPENDS" | grep -Eq -- '-dev|libpq|libssl'; then
  echo "the package must not depend on -dev packages, libpq or libssl" >&2; exit 1
fi
# A binary with packed relocations (DT_RELR) loads only on glibc 2.36 or later, which the
# package's Depends says (Cargo.toml); one built without them (PORTA_PACK_RELOCATIONS=0, or
# on an older glibc) is not what this package is for: build it on Debian 12 or later.
if ! readelf -d target/release/porta | grep -q '(RELR)'; then
  echo "the binary has no packed relocations: its libc6 (>= 2.36) dependency would be needless" >&2; exit 1
fi
if ! echo "$DEPENDS" | grep -q 'libc6 (>= 2.36)'; then
  echo "the binary has packed relocations: the package must depend on libc6 (>= 2.36)" >&2; exit 1
fi

dpkg -i "$DEB"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  if [ "${KEEP:-0}" != 1 ]; then
    dpkg -r porta >/dev/null && dpkg -P porta >/dev/null || true
    ! getent passwd porta >/dev/null || { echo "purge left the porta user" >&2; exit 1; }
  fi
}
trap cleanup EXIT
UNIT=$(dpkg -L porta | grep -E '/systemd/system/porta\.service$')
echo "== installed: /usr/bin/porta, $UNIT, /etc/porta/porta.toml"
test -x /usr/bin/porta
getent passwd porta >/dev/null
[ "$(stat -c '%U:%G %a' /var/lib/porta)" = "porta:porta 750" ]
[ "$(stat -c '%U:%G %a' /etc/porta/porta.toml)" = "root:porta 640" ]
dpkg-query -W -f='${Conffiles}\n' porta | grep -q /etc/porta/porta.toml
grep -q '^ExecStart=/usr/bin/porta --config /etc/porta/porta.toml serve$' "$UNIT"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$UNIT" && echo "systemd-analyze verify: ok"
else
  echo "systemd-analyze is not on this machine: the unit was not verified"
fi

# Run it as the unit does: the ExecStart line, as User=porta, in WorkingDirectory.
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
runuser -u porta -- sh -c "cd /var/lib/porta && umask 0027 && exec $EXEC" >/tmp/porta-deb.log 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:8080/.well-known/openid-configuration >/dev/null && break
  sleep 0.1
done
curl -sf http://127.0.0.1:8080/.well-known/openid-configuration | grep -q '"issuer":"http://127.0.0.1:8080"'
curl -sf http://127.0.0.1:8080/health/ready >/dev/null
[ "$(stat -c %U /var/lib/porta/porta.db)" = porta ]
[ "$(stat -c %a /var/lib/porta/master.key)" = 600 ]
echo "== Porta answers on 127.0.0.1:8080 as user porta; data in /var/lib/porta:"
ls -l /var/lib/porta
