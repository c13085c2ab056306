//! Provider webhook events through the one entry point for whole inputs, `classify_message`: the
//! reference samples of each provider (in `fixtures/providers/`) and the rules that bind them —
//! the remote server's text decides, a provider's block is never hard, a provider that already
//! suppresses an address says so.

use rebound_core::{Kind, Reason, Verdict, classify_message};

fn fixture(path: &str) -> Vec<Verdict> {
    let full = format!("{}/tests/fixtures/providers/{path}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    classify_message(&raw)
}

/// The single verdict of a one-event sample: recipient, reason, kind.
fn only(path: &str) -> (String, Reason, Kind) {
    let verdicts = fixture(path);
    assert_eq!(verdicts.len(), 1, "{path}: {verdicts:#?}");
    let v = &verdicts[0];
    (v.recipient.clone().unwrap_or_default(), v.reason, v.kind)
}

fn status(v: &Verdict) -> String {
    v.status.map(|s| s.to_string()).unwrap_or_default()
}

#[test]
fn sendgrid_events() {
    assert_eq!(only("sendgrid/bounce.json"), ("alice@example.net".into(), Reason::UserUnknown, Kind::Hard));
    let blocked = &fixture("sendgrid/blocked.json")[0];
    assert_eq!((blocked.reason, blocked.kind, status(blocked).as_str()), (Reason::Blocked, Kind::Block, "5.7.1"));
    assert_eq!(only("sendgrid/deferred.json").2, Kind::Block, "Yahoo's TSS04 deferral is about reputation");
    assert_eq!(only("sendgrid/delivered.json").2, Kind::Delivered);
    assert_eq!(only("sendgrid/dropped.json"), ("alice@example.net".into(), Reason::Suppressed, Kind::Suppressed));
    assert_eq!(only("sendgrid/spamreport.json").2, Kind::Complaint);
    assert_eq!(only("sendgrid/unsubscribe.json").2, Kind::Unsubscribe);
    assert_eq!(only("sendgrid/group_unsubscribe.json").2, Kind::Unsubscribe);
}

#[test]
fn a_batch_yields_one_verdict_per_event_in_order() {
    let verdicts = fixture("sendgrid/batch-bounce-dropped.json");
    let kinds: Vec<Kind> = verdicts.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, [Kind::Hard, Kind::Suppressed]);
    assert!(verdicts.iter().all(|v| v.recipient.as_deref() == Some("alice@example.net")));
    assert_eq!(verdicts[0].rule, "user_unknown.unknown_user", "the remote text decides, not the label");
}

#[test]
fn mailgun_events() {
    let permanent = &fixture("mailgun/failed-permanent.json")[0];
    assert_eq!((permanent.reason, permanent.kind, permanent.reply_code), (Reason::UserUnknown, Kind::Hard, Some(550)));
    let temporary = &fixture("mailgun/failed-temporary.json")[0];
    assert_eq!((temporary.kind, status(temporary).as_str()), (Kind::Block, "4.7.650"));
    assert_eq!(only("mailgun/delivered.json").2, Kind::Delivered);
    assert_eq!(only("mailgun/complained.json"), ("dave@example.net".into(), Reason::Feedback, Kind::Complaint));
    assert_eq!(only("mailgun/unsubscribed.json").2, Kind::Unsubscribe);
}

#[test]
fn postmark_events() {
    assert_eq!(only("postmark/bounce-hardbounce.json"), ("alice@example.net".into(), Reason::UserUnknown, Kind::Hard));
    assert_eq!(only("postmark/bounce-softbounce.json"), ("bob@example.org".into(), Reason::MailboxFull, Kind::Soft));
    assert_eq!(only("postmark/spamcomplaint.json").2, Kind::Complaint);
    assert_eq!(only("postmark/delivery.json"), ("erin@example.com".into(), Reason::Delivered, Kind::Delivered));
    assert_eq!(only("postmark/subscriptionchange.json").2, Kind::Suppressed);
}

#[test]
fn sparkpost_events() {
    assert_eq!(only("sparkpost/bounce.json"), ("alice@example.net".into(), Reason::UserUnknown, Kind::Hard));
    let delay = &fixture("sparkpost/delay.json")[0];
    assert_eq!((delay.kind, status(delay).as_str()), (Kind::Soft, "4.4.4"));
    assert_eq!(only("sparkpost/delivery.json").2, Kind::Delivered);
    assert_eq!(classify_message(br#"[{"msys": {}}]"#).len(), 1, "a ping still yields the one undecided verdict");
}

#[test]
fn ses_notifications_bare_and_in_an_sns_envelope() {
    assert_eq!(only("ses/bounce-permanent.json").2, Kind::Hard);
    assert_eq!(only("ses/sns-notification-bounce.json").2, Kind::Hard);
    assert_eq!(only("ses/bounce-transient-mailboxfull.json").1, Reason::MailboxFull);
    assert_eq!(only("ses/bounce-undetermined.json").2, Kind::Unknown);
    assert_eq!(only("ses/complaint-abuse.json").2, Kind::Complaint);
    assert_eq!(only("ses/delivery.json").2, Kind::Delivered);
    assert_eq!(only("ses/event-publishing-bounce.json").2, Kind::Hard);
}

#[test]
fn a_provider_block_is_never_hard_even_when_the_text_reads_like_an_address_error() {
    let raw = br#"[{"email": "a@example.com", "event": "bounce", "sg_event_id": "x", "type": "blocked",
        "reason": "550 5.1.1 user unknown", "status": "5.1.1"}]"#;
    let v = &classify_message(raw)[0];
    assert_eq!((v.kind, v.rule.as_ref()), (Kind::Block, "sendgrid.bounce_classification"));
    let postmark = br#"{"RecordType": "Bounce", "Type": "SpamNotification", "Email": "a@example.com",
        "Details": "550 no such user"}"#;
    assert_eq!(classify_message(postmark)[0].kind, Kind::Block);
    let sparkpost = br#"[{"msys": {"message_event": {"type": "bounce", "bounce_class": "51",
        "rcpt_to": "a@example.com", "raw_reason": "550 5.1.1 mailbox unavailable", "error_code": "550"}}}]"#;
    assert_eq!(classify_message(sparkpost)[0].kind, Kind::Block);
}

#[test]
fn the_label_decides_only_what_the_text_leaves_unexplained() {
    let no_text = br#"{"RecordType": "Bounce", "Type": "HardBounce", "Email": "a@example.com", "Details": ""}"#;
    let v = &classify_message(no_text)[0];
    assert_eq!((v.reason, v.rule.as_ref()), (Reason::UserUnknown, "postmark.bounce_type"));
    let full = br#"{"RecordType": "Bounce", "Type": "HardBounce", "Email": "a@example.com",
        "Details": "smtp;552 5.2.2 mailbox full"}"#;
    assert_eq!(classify_message(full)[0].kind, Kind::Soft, "the remote server said the mailbox is full");
    let suppressed = br#"{"event-data": {"event": "failed", "severity": "permanent", "reason": "suppress-bounce",
        "recipient": "a@example.com", "delivery-status": {"code": 605,
        "message": "Not delivering to previously bounced address"}}}"#;
    assert_eq!(classify_message(suppressed)[0].kind, Kind::Suppressed);
}

#[test]
fn json_that_is_no_provider_event_is_read_as_text() {
    let verdicts = classify_message(br#"{"hello": "world"}"#);
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].kind, Kind::Unknown);
    assert!(classify_message(b"[1, 2, 3]").iter().all(|v| v.kind == Kind::Unknown));
}
