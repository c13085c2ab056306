#!/usr/bin/env bash
# The bounce lab (see lab.py): sets up Debian's Postfix (installed: it is the system's MTA here),
# Exim and OpenSMTPD (unpacked beside it, not installed: the packages conflict), starts the scripted
# receivers on 127.0.0.2, runs every scenario through both MTAs and checks the verdicts the real
# `rebound` binary gives their bounces. Needs root (packages, port 25).
#
# Usage: tests/lab/run.sh REBOUND_BINARY [OUT_DIR]   (REBOUND_SKIP_LAB=1 leaves the lab out)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
BIN="$(realpath "$1")"
OUT="${2:-$(mktemp -d)}"
LAB=/var/lib/rebound-lab
HERE="$(cd "$(dirname "$0")" && pwd)"

if [ "${REBOUND_SKIP_LAB:-}" = 1 ]; then step "bounce lab left out (REBOUND_SKIP_LAB=1)"; exit 0; fi
is_root || die "the bounce lab needs root (it installs Postfix and listens on port 25); set REBOUND_SKIP_LAB=1 to leave it out"

setup_postfix() {
  if ! command -v postconf >/dev/null; then
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string mta.lab.example" | debconf-set-selections
    apt_install postfix
  fi
  postconf -e \
    "myhostname = mta.lab.example" "mydestination = mta.lab.example, localhost" \
    "relayhost = [127.0.0.2]:25" "default_transport = smtp" "relay_transport = relay" \
    "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
    "maximal_queue_lifetime = 0" "bounce_queue_lifetime = 0" \
    "smtp_tls_security_level = none" "transport_maps = hash:/etc/postfix/lab_transport" \
    "smtp_connect_timeout = 5s"
  printf 'refused.lab.example smtp:[127.0.0.9]:2\nbig.lab.example smtp:[127.0.0.2]:2526\n' > /etc/postfix/lab_transport
  postmap /etc/postfix/lab_transport
  postsuper -d ALL >/dev/null 2>&1 || true
  rm -f /var/mail/news
  postfix status >/dev/null 2>&1 && postfix reload >/dev/null 2>&1 || postfix start >/dev/null 2>&1
}

setup_exim() {
  local root="$LAB/exim"
  if [ ! -x "$root/bin/exim4" ]; then
    [ -e /usr/lib/x86_64-linux-gnu/libidn.so.12 ] || apt_install libidn12
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download -qq exim4-daemon-light exim4-base >/dev/null)
    mkdir -p "$root/pkg" "$root/bin"
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$root/pkg"; done
    ln -sf "$root/pkg/usr/sbin/exim4" "$root/bin/exim4"
    rm -rf "$tmp"
  fi
  getent group Debian-exim >/dev/null || groupadd -r Debian-exim
  getent passwd Debian-exim >/dev/null || useradd -r -g Debian-exim -M -d /nonexistent Debian-exim
  # Exim re-executes itself by its compiled-in path to write bounces.
  [ -e /usr/sbin/exim4 ] || ln -s "$root/pkg/usr/sbin/exim4" /usr/sbin/exim4
  mkdir -p "$root/spool" "$root/log" "$root/mail"
  rm -rf "$root/spool"/* "$root/mail"/*
  chown -R Debian-exim:Debian-exim "$root/spool" "$root/log" "$root/mail"
  install -m 0644 -o root -g root "$HERE/exim.conf" "$root/exim.conf"
  sed -i "s|@LAB@|$LAB|g" "$root/exim.conf"
}

setup_opensmtpd() {
  local root="$LAB/opensmtpd"
  # The unpacked smtpd keeps its queue where an installed one does: never clear another's queue.
  [ ! -e /usr/sbin/smtpd ] || die "an installed OpenSMTPD owns /var/spool/smtpd; the lab runs its own and would clear it"
  if [ ! -x "$root/pkg/usr/sbin/smtpd" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download -qq opensmtpd >/dev/null 2>&1)
    mkdir -p "$root/pkg"
    dpkg -x "$tmp"/opensmtpd_*.deb "$root/pkg"
    rm -rf "$tmp"
  fi
  for user in opensmtpd opensmtpq; do
    getent group "$user" >/dev/null || groupadd -r "$user"
    getent passwd "$user" >/dev/null || useradd -r -g "$user" -M -d /var/lib/opensmtpd/empty "$user"
  done
  mkdir -p /var/lib/opensmtpd/empty "$root/mail"
  # Its delivery helpers are found by their compiled-in path.
  [ -e /usr/libexec/opensmtpd ] || ln -s "$root/pkg/usr/libexec/opensmtpd" /usr/libexec/opensmtpd
  rm -rf "$root/mail"/* /var/spool/smtpd
  chown news "$root/mail"
  sed "s|@LAB@|$LAB|g" "$HERE/smtpd.conf" > "$root/smtpd.conf"
  "$root/pkg/usr/sbin/smtpd" -d -f "$root/smtpd.conf" >"$root/log" 2>&1 & SMTPD=$!
}

step "bounce lab: Postfix, Exim and OpenSMTPD"
SMTPD=""
setup_postfix
setup_exim
setup_opensmtpd
python3 "$HERE/receiver.py" 127.0.0.2 25 >/dev/null 2>&1 & RX=$!
python3 "$HERE/receiver.py" 127.0.0.2 2526 --size 1000 >/dev/null 2>&1 & RX_SIZE=$!
trap 'kill $RX $RX_SIZE $SMTPD 2>/dev/null || true' EXIT
for listener in 127.0.0.2/25 127.0.0.2/2526 127.0.0.4/25; do
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/$listener") 2>/dev/null && break; sleep 0.1; done
done
python3 "$HERE/lab.py" "$BIN" "$OUT"
