#!/usr/bin/env python3
"""The bounce lab: real MTAs (Debian's Postfix, Exim, Sendmail and OpenSMTPD) send real messages to a scripted receiving
server (`receiver.py`) that answers each recipient as a scenario says, and to cases the MTAs fail
on their own (an unknown local user, a refused connection, a size limit). Every bounce they write
is collected and classified by the real `rebound` binary, and each verdict is checked against
what the scenario is by construction: the recipient, the kind, the reason and the status class.

Postfix's own log of the same run (`maillog_file`) is then read by `rebound ingest postfix`: the
addresses that suppresses must be exactly those whose scenario is hard.

Usage: lab.py REBOUND_BINARY OUT_DIR
Needs root and the MTAs set up by `tests/lab/run.sh` (which installs or unpacks them). The bounces
are kept in OUT_DIR as `<mta>-<scenario>.eml`: a corpus of real MTA output for the benchmarks too.
"""
import email
import json
import mailbox
import smtplib
import os
import re
import subprocess
import sys
import time

LAB = "/var/lib/rebound-lab"
RECEIVER = ("127.0.0.2", 25)
SIZE_RECEIVER = ("127.0.0.2", 2526)
SENDMAIL = [f"{LAB}/sendmail/pkg/usr/libexec/sendmail/sendmail", "-C", f"{LAB}/sendmail/sendmail.cf"]

# name -> (recipients, expected kind, acceptable reasons, expected status class)
SCENARIOS = {
    "dead": (["dead1@rx.lab.example"], "hard", {"user_unknown"}, 5),
    "full": (["full1@rx.lab.example"], "soft", {"mailbox_full"}, 5),
    "spam": (["spam1@rx.lab.example"], "block", {"blocked"}, 5),
    "moved": (["moved1@rx.lab.example"], "hard", {"has_moved"}, 5),
    "disabled": (["disabled1@rx.lab.example"], "hard", {"suspend"}, 5),
    "relay": (["relay1@rx.lab.example"], "block", {"no_relaying"}, 5),
    "content": (["content1@rx.lab.example"], "block", {"spam_detected"}, 5),
    # A 4xx (a greylisting deferral) that the MTA gives up on (queue lifetime 0 / no retry): never hard; the
    # notice that quotes the reply reads as that reply, one that does not as an expiry.
    "later": (["later1@rx.lab.example"], "soft", {"greylisted", "expired", "system_error", "on_hold"}, 4),
    "quota": (["quota1@rx.lab.example"], "soft", {"mailbox_full"}, 4),
    # One transaction, three recipients: two refused for different reasons, one accepted.
    "multi": (["dead2@rx.lab.example", "full2@rx.lab.example"], None, None, 5),
    "local": (None, "hard", {"user_unknown"}, 5),
    "refused": (["anyone@refused.lab.example"], "soft", {"network_error", "expired"}, 4),
    "big": (["big1@big.lab.example"], "soft", {"message_too_big", "exceed_limit"}, 5),
    # Found in DNS (the lab's dnsmasq): a domain that does not exist, a null MX (RFC 7505), an MX
    # whose host does not exist. Each says the address cannot receive mail: hard.
    "nxdomain": (["user1@nxdomain.lab.example"], "hard", {"host_unknown"}, 5),
    "nullmx": (["user1@nullmx.lab.example"], "hard", {"not_accept", "host_unknown"}, 5),
    "nohost": (["user1@nohost.lab.example"], "hard", {"host_unknown"}, 5),
    # A server that never greets: the sending MTA times out and gives up. Never a block.
    "stall": (["user1@stall.lab.example"], "soft", {"network_error", "expired"}, 4),
    # A server that wants TLS the sender did not offer: the sender's problem, not the address's.
    "tls": (["user1@tls.lab.example"], "block", {"failed_starttls", "security_error"}, 5),
}
# What an MTA's bounce cannot say: OpenSMTPD's notice for a 4xx it gave up on says only
# "Envelope expired", the reply before it is lost.
# Exim's notice says "Unrouteable address" for a domain DNS does not know, as for an unknown local user.
REASONS_OF = {("opensmtpd", "quota"): {"expired"}, ("opensmtpd", "later"): {"expired"},
              ("exim", "nxdomain"): {"host_unknown", "user_unknown"}}
# What an MTA does differently: OpenSMTPD knows no null MX and takes an MX host it cannot find for a
# temporary failure, so it retries until its queue lifetime ends; its notice says only that.
EXPIRED = ("soft", {"expired"}, 4)
EXPECTED_OF = {("opensmtpd", "nullmx"): EXPIRED, ("opensmtpd", "nohost"): EXPIRED}
MULTI_EXTRA = ["ok1@rx.lab.example"]
MULTI_EXPECT = {"dead2@rx.lab.example": ("hard", {"user_unknown"}), "full2@rx.lab.example": ("soft", {"mailbox_full"})}

MTAS = {
    "postfix": {"sender": "news@mta.lab.example", "local": "nosuchuser@mta.lab.example", "mbox": "/var/mail/news"},
    "exim": {"sender": "news@exim.lab.example", "local": "nosuchuser@exim.lab.example", "mbox": f"{LAB}/exim/mail/news"},
    "sendmail": {"sender": "news@sendmail.lab.example", "local": "nosuchuser@sendmail.lab.example",
                 "maildir": f"{LAB}/sendmail/mail"},
    # OpenSMTPD takes mail over SMTP, so it refuses an unknown local user at RCPT: no bounce to read.
    # Its SMTP client's timeouts are fixed at minutes: no stalled server either.
    "opensmtpd": {"sender": "news@osmtpd.lab.example", "local": None, "maildir": f"{LAB}/opensmtpd/mail",
                  "without": {"stall"}},
}


def scenarios_of(mta):
    without = MTAS[mta].get("without", set())
    return [s for s in SCENARIOS if s not in without and not (s == "local" and MTAS[mta]["local"] is None)]


def send(mta, scenario, recipients):
    sender = MTAS[mta]["sender"]
    # Over the size receiver's 1000-byte limit, in lines short enough for any transport.
    body = ("x" * 70 + "\n") * 60 if scenario == "big" else "A message of the bounce lab."
    message = (
        f"From: {sender}\nTo: {', '.join(recipients)}\nSubject: lab {scenario} {mta}\n"
        f"Message-ID: <{scenario}.{mta}.{time.time_ns()}@lab.example>\n\n{body}\n"
    )
    if mta == "opensmtpd":
        with smtplib.SMTP("127.0.0.4", 25, timeout=30) as smtp:
            smtp.sendmail(sender, recipients, message.encode())
        return
    if mta == "postfix":
        command = ["/usr/sbin/sendmail", "-f", sender] + recipients
    elif mta == "sendmail":
        command = SENDMAIL + ["-odi", "-f", sender] + recipients
    else:
        command = [f"{LAB}/exim/bin/exim4", "-C", f"{LAB}/exim/exim.conf", "-odi", "-f", sender] + recipients
    # Sendmail delivering at once (-odi) exits with the failure's sysexits code; its bounce is what counts.
    subprocess.run(command, input=message.encode(), check=mta != "sendmail", timeout=60, capture_output=True)


def recipients_of(mta, scenario):
    listed = SCENARIOS[scenario][0]
    if listed is None:
        return [MTAS[mta]["local"]]
    if scenario == "multi":
        return listed + MULTI_EXTRA
    return listed


def collect(mta, expected, deadline):
    """The bounces in the MTA's mailbox, by scenario (from the returned message's subject)."""
    found = {}
    while time.time() < deadline:
        if "maildir" in MTAS[mta]:
            folder = MTAS[mta]["maildir"]
            raws = [open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))]
        else:
            path = MTAS[mta]["mbox"]
            raws = [m.as_bytes() for m in mailbox.mbox(path)] if os.path.exists(path) else []
        for raw in raws:
            hit = re.search(rb"Subject: lab (\w+) " + mta.encode(), raw)
            # OpenSMTPD warns of a delay before it gives up: the final notice is the one kept.
            if hit and (hit.group(1).decode() not in found or b"Action: failed" in raw or b"expired" in raw):
                found[hit.group(1).decode()] = raw
        if len(found) >= expected:
            break
        if mta == "opensmtpd":
            pass
        elif mta == "postfix":
            subprocess.run(["/usr/sbin/postqueue", "-f"], check=False, capture_output=True)
        elif mta == "sendmail":
            subprocess.run(SENDMAIL + ["-q"], check=False, capture_output=True, timeout=60)
        else:
            command = [f"{LAB}/exim/bin/exim4", "-C", f"{LAB}/exim/exim.conf", "-qff"]
            subprocess.run(command, check=False, capture_output=True)
        time.sleep(2)
    return found


def classify(binary, path):
    out = subprocess.run([binary, "classify", path], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def check(mta, scenario, verdicts):
    """Problems with one bounce's verdicts, as text."""
    problems = []
    listed, kind, reasons, status_class = SCENARIOS[scenario]
    kind, reasons, status_class = EXPECTED_OF.get((mta, scenario), (kind, reasons, status_class))
    reasons = REASONS_OF.get((mta, scenario), reasons)
    if scenario == "multi":
        by_recipient = {(v["recipient"] or "").lower(): v for v in verdicts}
        for address, (want_kind, want_reasons) in MULTI_EXPECT.items():
            v = by_recipient.get(address)
            if v is None:
                problems.append(f"no verdict for {address} (got {sorted(by_recipient)})")
            elif v["kind"] != want_kind or v["reason"] not in want_reasons:
                problems.append(f"{address}: {v['kind']}/{v['reason']} ({v['rule']}), want {want_kind}/{want_reasons}")
        extra = set(by_recipient) - set(MULTI_EXPECT)
        if extra:
            problems.append(f"verdicts for addresses that did not bounce: {sorted(extra)}")
        return problems
    want = [a.lower() for a in (listed or [MTAS[mta]["local"]])]
    got = [(v["recipient"] or "").lower() for v in verdicts]
    if got != want:
        problems.append(f"recipients {got}, want {want}")
    for v in verdicts:
        if v["kind"] != kind or v["reason"] not in reasons:
            problems.append(f"{v['kind']}/{v['reason']} ({v['rule']}: {v['evidence']!r}), want {kind}/{sorted(reasons)}")
        status = v.get("status") or ""
        if status and int(status[0]) != status_class and not (status_class == 4 and v["kind"] != "hard"):
            problems.append(f"status {status}, want class {status_class}")
    return problems


def check_postfix_log(binary, out_dir):
    """Problems with `rebound ingest postfix` of the log Postfix wrote while it ran the scenarios:
    the addresses it suppresses must be exactly those whose scenario is hard."""
    data = os.path.join(out_dir, "postfix-log-data")
    subprocess.run(["rm", "-rf", data], check=True)
    run = subprocess.run([binary, "ingest", "postfix", "--data-dir", data, f"{LAB}/postfix.log"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return [f"rebound ingest postfix failed: {run.stdout} {run.stderr}"]
    summary = json.loads(run.stdout)
    problems = [f"{summary['errors']} log records left out: {run.stderr}"] if summary["errors"] else []
    export = subprocess.run([binary, "export", "--data-dir", data], capture_output=True, text=True, check=True)
    suppressed = sorted(l for l in export.stdout.splitlines() if l and not l.startswith("#"))
    want = {address for address, (kind, _) in MULTI_EXPECT.items() if kind == "hard"}
    for scenario in scenarios_of("postfix"):
        kind = EXPECTED_OF.get(("postfix", scenario), SCENARIOS[scenario][1:])[0]
        if kind == "hard":
            want.update(recipients_of("postfix", scenario))
    if suppressed != sorted(want):
        problems.append(f"suppressed {suppressed}, want {sorted(want)} ({summary})")
    return problems


def main():
    binary, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    failures, checked = [], 0
    for mta in MTAS:
        for scenario in scenarios_of(mta):
            send(mta, scenario, recipients_of(mta, scenario))
        found = collect(mta, len(scenarios_of(mta)), time.time() + 120)
        for scenario in scenarios_of(mta):
            raw = found.get(scenario)
            if raw is None:
                failures.append(f"{mta}/{scenario}: no bounce arrived")
                continue
            path = os.path.join(out_dir, f"{mta}-{scenario}.eml")
            with open(path, "wb") as f:
                f.write(raw)
            checked += 1
            for problem in check(mta, scenario, classify(binary, path)):
                failures.append(f"{mta}/{scenario}: {problem}")
    failures += [f"postfix log: {problem}" for problem in check_postfix_log(binary, out_dir)]
    print(f"bounce lab: {checked} bounces from {len(MTAS)} MTAs checked, and Postfix's log read by `rebound ingest "
          f"postfix`; {len(failures)} problems; kept in {out_dir}")
    for failure in failures:
        print("  " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
