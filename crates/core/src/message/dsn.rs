//! RFC 3464 delivery-status reports: one `Report` per recipient group of the `message/
//! delivery-status` part, enriched from the human-readable part (which often names the SMTP
//! command that failed, or carries the only diagnostic).

use super::{Bounce, fields, text};
use crate::ascii::lines_inclusive;
use crate::report::{DsnAction, Report};
use crate::{EnhancedStatus, SmtpCommand};

/// The recipient groups of the delivery-status part; `None` when the bounce has none.
pub fn decode<'b>(bounce: &'b Bounce) -> Option<Vec<Report<'b>>> {
    let body = bounce.delivery_status.as_deref()?;
    let notification = text::notification_text(&bounce.human);
    // The notification's own account of each recipient, read only when a field leaves a gap.
    let read_blocks = std::cell::OnceCell::new();
    let blocks = || read_blocks.get_or_init(|| text::recipient_blocks(notification, &[])).as_slice();
    let mut reports = Vec::new();
    let paragraphs: Vec<Vec<(&str, String)>> = paragraphs(body).into_iter().map(fields::parse).collect();
    for group in paragraphs.iter().flat_map(|fields| recipient_groups(fields)) {
        let (recipient, recipient_inferred) = match group.recipient() {
            Some(r) => (r, false),
            None if group.get("Status").is_some() => {
                let named = text::failed_recipients_header(bounce).into_iter().next();
                match named.or_else(|| blocks().first().map(|b| b.address.clone())) {
                    Some(r) => (r, false),
                    None => match bounce.original_recipient() {
                        Some(r) => (r, true),
                        None => continue,
                    },
                }
            }
            None => continue,
        };
        let block = || blocks().iter().find(|b| b.address.eq_ignore_ascii_case(&recipient)).map(|b| b.text.as_str());
        let diagnostic = group.get("Diagnostic-Code").map(fields::diagnostic_value).filter(|d| !d.is_empty());
        let command = diagnostic.and_then(SmtpCommand::find).or_else(|| block().and_then(SmtpCommand::find));
        let status_comment =
            group.get("Status").and_then(comment).filter(|c| c.bytes().any(|b| b.is_ascii_alphabetic()));
        // A comment the diagnostic does not replace is the reporting MTA's own word on the status
        // (`5.2.1 (mailbox disabled, not accepting messages)`): it joins the notification.
        let (diagnostic, remark) = match (diagnostic, status_comment) {
            (Some(d), c) => (d.to_owned(), c),
            (None, Some(c)) => (c.to_owned(), None),
            (None, None) => (block().filter(|b| !b.is_empty()).unwrap_or_default().to_owned(), None),
        };
        let context = match remark {
            Some(r) => Some(format!("{r} {}", text::compact(notification)).into()),
            None => diagnostic.is_empty().then(|| text::compact(notification).into()),
        };
        let original_recipient = group.original().filter(|o| !o.eq_ignore_ascii_case(&recipient) && o.contains('@'));
        reports.push(Report {
            recipient: Some(recipient),
            recipient_inferred,
            original_recipient,
            status: group.get("Status").and_then(EnhancedStatus::find).map(|(s, _)| s),
            diagnostic: diagnostic.into(),
            command,
            action: group.get("Action").and_then(DsnAction::parse),
            remote_host: group.get("Remote-MTA").map(|v| fields::typed_value(v).to_owned()),
            via_filter: bounce.via_filter,
            decoder: "rfc3464",
            notice: Some(bounce.notice(notification)),
            context,
            ..Report::default()
        });
    }
    if let [only] = reports.as_mut_slice() {
        only.context.get_or_insert_with(|| text::compact(notification).into());
    }
    Some(reports)
}

/// The comment of a field value (`4.0.0 (example.net: host name lookup failure)`): some MTAs
/// explain a recipient's status there and nowhere else.
fn comment(value: &str) -> Option<&str> {
    let open = value.find('(')?;
    let close = value.rfind(')').filter(|&c| c > open)?;
    Some(value[open + 1..close].trim())
}

/// The blank-line separated blocks of a delivery-status body.
fn paragraphs(body: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let (mut start, mut offset) = (0, 0);
    for line in lines_inclusive(body) {
        if line.trim().is_empty() {
            found.push(&body[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    found.push(&body[start..]);
    found.retain(|p| !p.trim().is_empty());
    found
}

/// The fields of one recipient.
struct Group<'f> {
    fields: Vec<&'f (&'f str, String)>,
}

impl Group<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn recipient(&self) -> Option<String> {
        self.get("Final-Recipient").and_then(fields::typed_address).or_else(|| self.original())
    }

    /// The `Original-Recipient`: the address as the sender gave it, before aliases or forwarding.
    fn original(&self) -> Option<String> {
        self.get("Original-Recipient").and_then(fields::typed_address)
    }
}

/// Splits one paragraph's fields into per-recipient groups. A paragraph without recipient fields
/// is the per-message part and yields none; fields before the first recipient field belong to the
/// first group (some MTAs put `Diagnostic-Code` first). Another group starts at a recipient field
/// that the current group already has (RFC 3464 puts `Original-Recipient` first, Postfix puts it
/// second), so reports that forget the blank line between recipients still split correctly.
fn recipient_groups<'f>(all: &'f [(&'f str, String)]) -> Vec<Group<'f>> {
    let is_recipient =
        |name: &str| name.eq_ignore_ascii_case("Final-Recipient") || name.eq_ignore_ascii_case("Original-Recipient");
    if !all.iter().any(|(name, _)| is_recipient(name)) {
        return Vec::new();
    }
    let mut groups: Vec<Group<'f>> = vec![Group { fields: Vec::new() }];
    let (mut has_final, mut has_original) = (false, false);
    for field in all {
        let is_final = field.0.eq_ignore_ascii_case("Final-Recipient");
        let is_original = field.0.eq_ignore_ascii_case("Original-Recipient");
        let starts_group = (is_final || is_original)
            && (groups.is_empty() || (is_final && has_final) || (is_original && has_original));
        if starts_group {
            groups.push(Group { fields: Vec::new() });
            (has_final, has_original) = (false, false);
        }
        if let Some(group) = groups.last_mut() {
            group.fields.push(field);
            has_final |= is_final;
            has_original |= is_original;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use crate::{Kind, Reason, classify_message};

    #[test]
    fn a_status_comment_saying_the_mailbox_is_disabled_outranks_a_relayed_user_unknown() {
        let raw = b"From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\nSubject: Delivery failure\n\
MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n\
--b\nContent-Type: text/plain\n\n  <a@example.jp>  delivery failed; will not continue trying\n\n\
--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;mx.example.net\n\n\
Final-Recipient: rfc822;a@example.jp\nAction: failed\nStatus: 5.2.1 (mailbox disabled, not accepting messages)\n\
Diagnostic-Code: smtp;550 5.2.1 <a@example.jp>... User Unknown\n\n--b--\n";
        let v = &classify_message(raw)[0];
        assert_eq!((v.reason, v.kind), (Reason::Suspend, Kind::Hard));
    }

    #[test]
    fn the_original_recipient_is_reported_beside_the_final_one() {
        let raw = b"From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\nSubject: failure\n\
MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nfailed\n\n--b\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns;mx.example.net\n\nOriginal-Recipient: rfc822;Sales@example.com\n\
Final-Recipient: rfc822;jane.doe@mailhost.example.com\nAction: failed\nStatus: 5.1.1\n\n--b--\n";
        let v = &classify_message(raw)[0];
        assert_eq!(v.recipient.as_deref(), Some("jane.doe@mailhost.example.com"));
        assert_eq!(v.original_recipient.as_deref(), Some("Sales@example.com"));
        let same = String::from_utf8_lossy(raw).replace("Sales@example.com", "jane.doe@mailhost.example.com");
        assert_eq!(classify_message(same.as_bytes())[0].original_recipient, None, "reported only when it differs");
    }
}
