#!/usr/bin/env bash
# The bounce lab (see lab.py): sets up Debian's Postfix (installed: it is the system's MTA here),
# Exim, OpenSMTPD and Sendmail (unpacked beside it, not installed: the packages conflict), starts the
# scripted receivers on 127.0.0.2 and a DNS server (Debian's dnsmasq) on 127.0.0.5 that holds the lab's
# domains, runs every scenario through every MTA and checks the verdicts the real `rebound` binary
# gives their bounces. Needs root (packages, port 25, a mount namespace).
#
# The MTAs must ask the lab's DNS server, and the system's resolver must not change: the lab runs
# in a mount namespace of its own where /etc/resolv.conf names 127.0.0.5 (Postfix's chrooted SMTP
# client reads its own copy, set likewise). dnsmasq answers lab.example itself and forwards the
# rest to the system's resolver, so the installs still work.
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
if [ -z "${REBOUND_LAB_NAMESPACE:-}" ]; then
  command -v dnsmasq >/dev/null || apt_install dnsmasq-base
  exec env REBOUND_LAB_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
fi

# nxdomain: no such domain; nullmx: "MX 0 ." (RFC 7505); nohost: an MX naming a host that does not exist.
# The machine's own name gets a qualified name for both address families in the namespace's hosts
# file: Sendmail waits a minute at every start for a canonical name it cannot find.
start_dns() {
  local upstream; upstream="$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)"
  mkdir -p "$LAB"
  dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.5 --bind-interfaces --no-resolv --no-hosts \
    ${upstream:+--server="$upstream"} --local=/lab.example/ --mx-host=nullmx.lab.example,.,0 \
    --mx-host=nohost.lab.example,mx.nowhere.lab.example,10 >"$LAB/dns.log" 2>&1 & DNS=$!
  echo "nameserver 127.0.0.5" > "$LAB/resolv.conf"
  mount --bind "$LAB/resolv.conf" /etc/resolv.conf
  local name; name="$(hostname)"
  { cat /etc/hosts; printf '127.0.0.1 %s.lab.example\n::1 %s.lab.example %s\n' "$name" "$name" "$name"; } > "$LAB/hosts"
  mount --bind "$LAB/hosts" /etc/hosts
}

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
    "smtp_connect_timeout = 5s" "smtp_helo_timeout = 5s" "maillog_file = $LAB/postfix.log"
  local domain
  {
    printf 'refused.lab.example smtp:[127.0.0.9]:2\nbig.lab.example smtp:[127.0.0.2]:2526\n'
    printf 'stall.lab.example smtp:[127.0.0.2]:2527\ntls.lab.example smtp:[127.0.0.2]:2528\n'
    for domain in nxdomain nullmx nohost; do printf '%s.lab.example smtp:%s.lab.example\n' "$domain" "$domain"; done
  } > /etc/postfix/lab_transport
  postmap /etc/postfix/lab_transport
  # The SMTP client runs chrooted in the queue directory and reads the resolver's file there.
  mkdir -p /var/spool/postfix/etc
  cp "$LAB/resolv.conf" /var/spool/postfix/etc/resolv.conf
  postsuper -d ALL >/dev/null 2>&1 || true
  : > "$LAB/postfix.log"
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

setup_sendmail() {
  local root="$LAB/sendmail" sbin="$LAB/sendmail/pkg/usr/libexec/sendmail"
  command -v m4 >/dev/null || apt_install m4
  if [ ! -x "$sbin/sendmail" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download -qq sendmail-bin sendmail-cf >/dev/null 2>&1)
    mkdir -p "$root/pkg"
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$root/pkg"; done
    rm -rf "$tmp"
  fi
  mkdir -p "$root/queue" "$root/mail"
  rm -rf "$root/queue"/* "$root/mail"/*
  # Sendmail refuses maps and files in a directory others may write to.
  chmod 0755 "$LAB" "$root"
  sed "s|@LAB@|$LAB|g" "$HERE/sendmail.mc" | m4 > "$root/sendmail.cf"
  printf '#!/bin/sh\ncat > "$(mktemp %s/bounce-XXXXXX.eml)"\n' "$root/mail" > "$root/deliver"
  chmod 0755 "$root/deliver"
  printf 'postmaster: news\n' > "$root/aliases"
  {
    printf 'refused.lab.example esmtp:[127.0.0.9]\nbig.lab.example port2526:[127.0.0.2]\n'
    printf 'stall.lab.example port2527:[127.0.0.2]\ntls.lab.example port2528:[127.0.0.2]\n'
    for domain in nxdomain nullmx nohost; do printf '%s.lab.example esmtp:%s.lab.example\n' "$domain" "$domain"; done
    printf '. esmtp:[127.0.0.2]\n'
  } | "$sbin/makemap" -C "$root/sendmail.cf" hash "$root/mailertable"
}

step "bounce lab: Postfix, Exim, OpenSMTPD and Sendmail"
SMTPD="" DNS=""
trap 'kill $DNS $SMTPD 2>/dev/null || true' EXIT
start_dns
setup_postfix
setup_exim
setup_sendmail
setup_opensmtpd
python3 "$HERE/receiver.py" 127.0.0.2 25 >/dev/null 2>&1 & RX=$!
python3 "$HERE/receiver.py" 127.0.0.2 2526 --size 1000 >/dev/null 2>&1 & RX_SIZE=$!
python3 "$HERE/receiver.py" 127.0.0.2 2527 --stall >/dev/null 2>&1 & RX_STALL=$!
python3 "$HERE/receiver.py" 127.0.0.2 2528 --require-tls >/dev/null 2>&1 & RX_TLS=$!
trap 'kill $RX $RX_SIZE $RX_STALL $RX_TLS $SMTPD $DNS 2>/dev/null || true' EXIT
for listener in 127.0.0.2/25 127.0.0.2/2526 127.0.0.2/2527 127.0.0.2/2528 127.0.0.4/25 127.0.0.5/53; do
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/$listener") 2>/dev/null && break; sleep 0.1; done
done
python3 "$HERE/lab.py" "$BIN" "$OUT"
