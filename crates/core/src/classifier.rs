//! Turning a decoder's `Report` into a `Verdict`: the one place where reasons, kinds and actions
//! are decided.
//!
//! Order of evidence, strongest first: what the format itself says (an ARF report, an auto-reply,
//! a provider's bounce type); staff rules; built-in text rules; the enhanced status code's registry
//! meaning; the SMTP command the failure answered; last, what the mail system's notice says of the
//! message as a whole (a delay warning, or a final failure). A transient reply (4xx, 4.x.x) is
//! never `hard`, and nothing uncertain is: a permanent failure that nothing explains stays
//! `unknown`, except when a mail system's final notice names the address as failed and says
//! nothing else at all (see `unexplained_failure`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::ascii::Needle;
use crate::notice::{self, Tense};
use crate::reply::{is_exit_status, strip_repeated_codes};
use crate::report::{DsnAction, Report};
use crate::rules::{MatchContext, Rule, RuleError, RuleSet, Scan, parse_rule_file};
use crate::status::{derived_status, reason_for_status};
use crate::{Confidence, EnhancedStatus, Kind, KindTable, Reason, SmtpCommand, SmtpReply, Verdict};

/// `rules/builtin.rules` as `build.rs` writes it (comments and alignment left out).
const BUILTIN_RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/builtin.rules"));

/// Staff configuration merged over the built-in knowledge: their rules (checked first) and their
/// overrides of the reason → kind table. The same JSON is used by the server and the console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub kinds: BTreeMap<Reason, Kind>,
}

/// The compiled classifier: built-in rules, staff rules and the kind table.
#[derive(Debug)]
pub struct Classifier {
    custom: Option<RuleSet>,
    kinds: KindTable,
}

/// The built-in rules, parsed and compiled on first use.
pub fn builtin_rules() -> Result<&'static RuleSet, &'static RuleError> {
    static BUILTIN: OnceLock<Result<RuleSet, RuleError>> = OnceLock::new();
    BUILTIN.get_or_init(|| parse_rule_file(BUILTIN_RULES).and_then(|rules| RuleSet::compile(&rules))).as_ref()
}

impl Classifier {
    /// The classifier with built-in knowledge only.
    pub fn builtin() -> &'static Classifier {
        static DEFAULT: OnceLock<Classifier> = OnceLock::new();
        DEFAULT.get_or_init(|| Classifier { custom: None, kinds: KindTable::default() })
    }

    /// A classifier with staff rules and kind overrides. Fails, naming the rule, when a rule does
    /// not compile.
    pub fn new(config: &ClassifierConfig) -> Result<Self, RuleError> {
        let custom = if config.rules.is_empty() { None } else { Some(RuleSet::compile(&config.rules)?) };
        Ok(Self { custom, kinds: KindTable::with_overrides(&config.kinds) })
    }

    pub fn kinds(&self) -> &KindTable {
        &self.kinds
    }

    /// Classifies one SMTP reply (one or several lines, with or without a diagnostic-type prefix).
    /// A bare reply is taken to answer RCPT TO, as the per-recipient replies that MTAs log and
    /// providers forward do, unless its text names another command.
    /// One pass of the built-in rules' scanner finds both the command and the rule candidates.
    pub fn classify_reply(&self, reply: &str) -> Verdict {
        let report = Report { diagnostic: reply.into(), decoder: "reply", ..Report::default() };
        self.judge_as(&report, Some(SmtpCommand::RcptTo))
    }

    /// Decides the verdict for one decoded recipient report.
    pub fn judge(&self, report: &Report<'_>) -> Verdict {
        self.judge_as(report, None)
    }

    /// `judge`; a report that names no command is taken to answer `default_command` when it has
    /// one, after the command its whole diagnostic text names.
    fn judge_as(&self, report: &Report<'_>, default_command: Option<SmtpCommand>) -> Verdict {
        let text = quoted_remote_reply(report.diagnostic.as_ref());
        let reply = SmtpReply::parse(text);
        let reply_code = reply.code.or(report.reply_code);
        // Parsing `text` looked for a status in all of it; the whole diagnostic needs a search of
        // its own only when it is more than that.
        let outer_status = || {
            let searched = std::ptr::eq(text, report.diagnostic.as_ref()) && !is_exit_status(text.trim());
            if searched { None } else { EnhancedStatus::find(&report.diagnostic).map(|(s, _)| s) }
        };
        let context_status = || report.context.as_deref().and_then(|c| SmtpReply::parse(c).status);
        let reported = match prefer_status(report.status, reply.status.or_else(outer_status)) {
            Some(s) if s.subject != 0 || s.detail != 0 => Some(s),
            vague => prefer_status(vague, context_status()),
        };
        // A notice's own words on time are read only when nothing more precise gives the class.
        let class =
            reported.map(|s| s.class).or(reply_code.map(|c| (c / 100) as u8)).or(report.action.map(action_class));
        let reading = std::cell::OnceCell::new();
        let read_notice =
            || *reading.get_or_init(|| report.notice.map(|n| notice::read(n.subject, n.text)).unwrap_or_default());
        let tense = if class.is_none() { read_notice().tense } else { None };
        let class = class.or(tense.map(|t| if t == Tense::Delayed { 4 } else { 5 }));
        let cleaned = reply_code.map_or(Cow::Borrowed(text), |code| strip_repeated_codes(text, code));
        let scan = builtin_rules().ok().map(|set| set.scan(&cleaned));
        // The scanner finds the command phrases too, in one pass a fraction of the cost of
        // `SmtpCommand::find`'s searcher. The scan of `cleaned` serves for `text` as well: removing
        // the reply codes a multi-line reply repeats removes no command phrase.
        let command_in = |words: &str| match (&scan, builtin_rules()) {
            (Some(scan), _) if std::ptr::eq(words, text) || scan.is_of(words) => scan.command(),
            (_, Ok(set)) => set.scan(words).command(),
            (_, Err(_)) => SmtpCommand::find(words),
        };
        let command = match default_command {
            Some(default) => report.command.or_else(|| command_in(&report.diagnostic)).or(Some(default)),
            None => report.command.or_else(|| command_in(text)),
        };
        let recipient_domain = report.recipient.as_deref().and_then(|r| r.rsplit_once('@')).map(|(_, d)| d);
        let ctx = MatchContext { class, command, recipient_domain, remote_host: report.remote_host.as_deref() };
        let mut decision = self.decide(report, &cleaned, scan.as_ref(), reported, &ctx, tense);
        let mut kind = report
            .hint
            .as_ref()
            .and_then(|h| h.kind)
            .unwrap_or_else(|| self.kind_of(decision.kind_of.unwrap_or(decision.reason), class));
        if kind == Kind::Unknown && unexplained_failure(report, &decision, &cleaned, class, read_notice) {
            kind = Kind::Hard;
            decision.rule = Cow::Borrowed("notice.failed_without_cause");
        }
        let status = reported.or_else(|| {
            let explained_by =
                if cleaned.trim().is_empty() { report.context.as_deref().unwrap_or_default() } else { &cleaned };
            let transient = class == Some(4)
                || (decision.reason == Reason::Expired && sounds_transient(explained_by))
                || retried_until_timeout(explained_by);
            let derived_for = if exim_sender_refusal(explained_by, command) { Reason::OnHold } else { decision.reason };
            derived_status(derived_for, transient)
        });
        Verdict {
            recipient: report.recipient.clone(),
            original_recipient: report.original_recipient.clone(),
            reply_code,
            status,
            status_derived: reported.is_none() && status.is_some(),
            reason: decision.reason,
            kind,
            action: decision.reason.action(kind),
            retry_after_secs: decision.reason.retry_after_secs(kind),
            rule: decision.rule,
            evidence: decision.evidence,
            confidence: decision.confidence,
            feedback_type: report.hint.as_ref().and_then(|h| h.feedback_type.clone()),
        }
    }

    fn decide(
        &self,
        report: &Report<'_>,
        text: &str,
        scan: Option<&Scan<'_>>,
        status: Option<EnhancedStatus>,
        ctx: &MatchContext<'_>,
        tense: Option<Tense>,
    ) -> Decision {
        if let Some(hint) = &report.hint {
            return Decision {
                reason: hint.reason,
                rule: Cow::Borrowed(hint.rule),
                evidence: hint.evidence.clone(),
                confidence: Confidence::High,
                kind_of: None,
            };
        }
        let context = report.context.as_deref().filter(|c| *c != text);
        if let Some(decision) = self.rule_decision(text, scan, status, ctx, report.via_filter) {
            return self.refined_by_notice(decision, context, status, ctx);
        }
        if let Some(mut decision) = context.and_then(|c| self.rule_decision(c, None, status, ctx, report.via_filter)) {
            decision.confidence = Confidence::Medium;
            return decision;
        }
        if let Some((status, (reason, confidence))) = status.and_then(|s| reason_for_status(s).map(|r| (s, r))) {
            let rule = format!("status.x.{}.{}", status.subject, status.detail);
            return Decision { reason, rule: rule.into(), evidence: status.to_string(), confidence, kind_of: None };
        }
        let (reason, rule) = match (ctx.command, ctx.class) {
            (_, Some(2)) => (Reason::Delivered, "class.2xx"),
            (_, Some(4)) if report.action == Some(DsnAction::Failed) => (Reason::Expired, "dsn.failed_after_retries"),
            _ if report.action == Some(DsnAction::Delayed) => (Reason::Expired, "dsn.delayed"),
            _ if tense == Some(Tense::Delayed) => (Reason::Expired, "notice.delayed"),
            (Some(SmtpCommand::Connect | SmtpCommand::Helo), _) => (Reason::Blocked, "command.connect"),
            (Some(SmtpCommand::MailFrom), _) => (Reason::Rejected, "command.mail_from"),
            _ if report.decoder != "reply" && !text.trim().is_empty() => (Reason::OnHold, report.decoder),
            _ => (Reason::Undefined, report.decoder),
        };
        // What no rule explained is the evidence of an undecided verdict: staff group these by
        // their shape to write the rules they lack.
        let evidence = match reason {
            Reason::OnHold | Reason::Undefined => unexplained_text(text),
            _ => ctx.command.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        };
        Decision { reason, rule: Cow::Borrowed(rule), evidence, confidence: Confidence::Low, kind_of: None }
    }

    /// The first staff or built-in rule that decides `text`; `scan` is the built-in rules' scan of
    /// it, when the caller has one.
    fn rule_decision(
        &self,
        text: &str,
        scan: Option<&Scan<'_>>,
        status: Option<EnhancedStatus>,
        ctx: &MatchContext<'_>,
        via_filter: bool,
    ) -> Option<Decision> {
        // A built-in rule's id lives as long as the program and is lent to the verdict; a staff
        // rule's is copied.
        let staff =
            || self.custom.as_ref().and_then(|set| set.find(text, ctx)).map(|hit| (Cow::Owned(hit.id.to_owned()), hit));
        let builtin = || {
            let set = builtin_rules().ok()?;
            let hit = match scan.filter(|scan| scan.is_of(text)) {
                Some(scan) => set.find_scanned(scan, ctx),
                None => set.find(text, ctx),
            }?;
            Some((Cow::Borrowed(hit.id), hit))
        };
        let (rule, hit) = staff().or_else(builtin)?;
        let evidence = text.get(hit.span.clone()).unwrap_or_default().to_owned();
        let (reason, confidence, kind_of) = if hit.command_scoped {
            (hit.reason, Confidence::High, None)
        } else {
            confirm_user_unknown(hit.reason, status, ctx.command, via_filter)
        };
        Some(Decision { reason, rule, evidence, confidence, kind_of })
    }

    /// A notice that names precisely what the relayed reply only hints at. Under au's `The user(s)
    /// account is disabled.` a relayed `550 user unknown` is a disabled account: the system that
    /// knows the account speaks more precisely than the reply it passes on. Under a content
    /// filter's notice that names a malformed message (amavis: `Duplicate header field: "From"`
    /// above `554 5.7.0 Reject ... - SPAM`), the spam verdict is the defect's consequence, and the
    /// defect is what the sender must fix.
    fn refined_by_notice(
        &self,
        decision: Decision,
        context: Option<&str>,
        status: Option<EnhancedStatus>,
        ctx: &MatchContext<'_>,
    ) -> Decision {
        // Built-in rule ids start with their reason: a `user_unknown.*` rule doubted into
        // `filtered` is still a relayed "user unknown".
        let precise = if decision.reason == Reason::UserUnknown || decision.rule.starts_with("user_unknown.") {
            Reason::Suspend
        } else if decision.reason == Reason::SpamDetected {
            Reason::NotCompliantRfc
        } else {
            return decision;
        };
        match context.and_then(|c| self.rule_decision(c, None, status, ctx, false)) {
            Some(notice) if notice.reason == precise => Decision { confidence: Confidence::Medium, ..notice },
            _ => decision,
        }
    }

    /// The kind of a reason for a reply of this class: the table's answer, except that a transient
    /// reply is never hard and a success is delivered.
    fn kind_of(&self, reason: Reason, class: Option<u8>) -> Kind {
        match (self.kinds.kind(reason), class) {
            (Kind::Hard, Some(4)) => Kind::Soft,
            (Kind::Unknown, Some(4)) => Kind::Soft,
            (_, Some(2)) if reason == Reason::Undefined => Kind::Delivered,
            (kind, _) => kind,
        }
    }
}

struct Decision {
    reason: Reason,
    rule: Cow<'static, str>,
    evidence: String,
    confidence: Confidence,
    /// The reason whose row of the kind table gives the kind, when it is not `reason` itself: a
    /// "user unknown" that a gateway relayed keeps the doubt in its reason (`filtered`) while
    /// the address it names is as dead as the text says.
    kind_of: Option<Reason>,
}

/// A mail system's final notice that lists the address as failed and says nothing more about it:
/// no rule, status or command explained it, the recipient's text is only the notice's boilerplate,
/// and nothing in the notice points at the sender. The recipient's system refused the address for
/// good without a word, which is how a dead address is most often returned (the providers that
/// publish their bounce handling treat such a "permanent, general" failure as a hard bounce). A
/// delay, a transient class, a report that is not a mail system's notice by its form, or any hint
/// of a refusal of the sender keeps it `unknown`.
fn unexplained_failure(
    report: &Report<'_>,
    decision: &Decision,
    text: &str,
    class: Option<u8>,
    read_notice: impl Fn() -> notice::Reading,
) -> bool {
    let Some(notice) = report.notice else { return false };
    let fallback =
        decision.confidence == Confidence::Low && matches!(decision.reason, Reason::OnHold | Reason::Undefined);
    fallback
        && notice.from_mail_system
        && report.recipient.is_some()
        && !report.recipient_inferred
        && matches!(class, None | Some(5))
        && report.action != Some(DsnAction::Delayed)
        && notice::says_only_failed(text)
        && {
            let reading = read_notice();
            !reading.sender_side && reading.tense != Some(Tense::Delayed)
        }
}

/// The text an undecided verdict keeps as its evidence: trimmed, at most `MAX_UNEXPLAINED` bytes.
fn unexplained_text(text: &str) -> String {
    const MAX_UNEXPLAINED: usize = 500;
    let text = text.trim();
    text[..text.floor_char_boundary(MAX_UNEXPLAINED)].to_owned()
}

fn action_class(action: DsnAction) -> u8 {
    match action {
        DsnAction::Failed => 5,
        DsnAction::Delayed => 4,
        DsnAction::Delivered | DsnAction::Relayed | DsnAction::Expanded => 2,
    }
}

/// "User unknown" is a dead mailbox unless something says otherwise: it came after the message was
/// sent (in reply to DATA), from a filtering gateway, or with a status code of another kind
/// (system, policy, or X.2.0/X.2.1: a mailbox that exists but refuses). Then it is more often a
/// filter or a catch-all refusal speaking, so it is `filtered` (a soft failure that escalates), not
/// a hard bounce. An address-error status (X.1.1) always keeps it a hard bounce; a sender-address
/// status (X.1.7, X.1.8) says the unknown address is the sender's, a rejected sender.
///
/// The doubt is recorded in the reason; the kind follows the evidence. Only a refusal after the
/// content was seen (DATA), or one that a policy (X.7.X) or mailbox status (X.2.0, X.2.1) code
/// contradicts, may be a filter hiding behind the words: those are soft. A gateway's or a generic
/// `X.3.0` "user unknown" before the content still names a mailbox that is not there (Sendmail
/// answers `553 5.3.0 ... Addressee unknown` from its own user tables, and gateways check
/// recipients against the directory of the system they guard), so its kind is user_unknown's.
fn confirm_user_unknown(
    reason: Reason,
    status: Option<EnhancedStatus>,
    command: Option<SmtpCommand>,
    via_filter: bool,
) -> (Reason, Confidence, Option<Reason>) {
    if reason != Reason::UserUnknown {
        return (reason, Confidence::High, None);
    }
    if status.is_some_and(|s| s.subject == 1 && matches!(s.detail, 7 | 8)) {
        return (Reason::Rejected, Confidence::Medium, None);
    }
    let status_says_so = status.and_then(reason_for_status).is_some_and(|(r, _)| r == Reason::UserUnknown);
    let contradicted = status.is_some_and(|s| matches!((s.subject, s.detail), (7, _) | (2, 0 | 1)));
    let status_says_otherwise = contradicted || status.is_some_and(|s| s.subject == 3);
    let after_content = command == Some(SmtpCommand::Data);
    let doubted = after_content || (command != Some(SmtpCommand::RcptTo) && (via_filter || status_says_otherwise));
    if status_says_so || !doubted {
        (Reason::UserUnknown, Confidence::High, None)
    } else if after_content || contradicted {
        (Reason::Filtered, Confidence::Medium, None)
    } else {
        (Reason::Filtered, Confidence::Medium, Some(Reason::UserUnknown))
    }
}

/// Exim's `SMTP error from remote mail server after MAIL FROM:<...>`: the refusal came before any
/// recipient was named, so it says nothing about this one. Whatever the text gives as the sender's
/// fault, the recipient's own derived status is the undecided one (`X.0.901`), as Sisimai reports
/// Exim's sender refusals; other MTAs' transcripts of a refused MAIL FROM keep the reason's code.
fn exim_sender_refusal(text: &str, command: Option<SmtpCommand>) -> bool {
    const EXIM: Needle = Needle::new("smtp error from remote");
    command == Some(SmtpCommand::MailFrom) && EXIM.is_in(text)
}

/// Whether an expiry notice speaks of a temporary failure that ran out of time (deferrals, delays,
/// retries, a 4xx reply) rather than of a permanent one.
fn sounds_transient(text: &str) -> bool {
    const WORDS: [Needle; 7] = [
        Needle::new("delayed"),
        Needle::new("deferred"),
        Needle::new("retry timeout"),
        Needle::new("have been failing"),
        Needle::new("temporary"),
        Needle::new("error_code :4"),
        Needle::new("responsecode 4"),
    ];
    WORDS.iter().any(|w| w.is_in(text))
}

/// Exim's `retry timeout exceeded`: the failure was a temporary one (a full mailbox, a host that did
/// not answer) that lasted longer than the retry period, so a derived status keeps class 4.
fn retried_until_timeout(text: &str) -> bool {
    const RETRY: Needle = Needle::new("retry timeout exceeded");
    RETRY.is_in(text)
}

/// Amazon SES wraps the remote server's reply in its own words: in older texts as
/// `5.1.0 - Unknown address error '5.7.1 <...>... Access denied' (delivery attempts: 0)`, in newer
/// expiry notices as `554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2
/// Connection timed out>`. The quoted part is what the remote server said, and what decides.
fn quoted_remote_reply(text: &str) -> &str {
    if let Some(inner) = bracketed_last_reply(text) {
        return inner;
    }
    let bytes = text.as_bytes();
    let spaced_dash = |&at: &usize| at > 0 && bytes[at - 1] == b' ' && bytes.get(at + 1) == Some(&b' ');
    let Some(head) = memchr::memchr_iter(b'-', bytes).find(spaced_dash).map(|at| at - 1) else { return text };
    const ATTEMPTS: &[u8] = b"(delivery attempts:";
    if !memchr::memchr_iter(b'(', bytes).any(|at| bytes[at..].starts_with(ATTEMPTS)) {
        return text;
    }
    let rest = &text[head..];
    match (rest.find('\''), rest.rfind('\'')) {
        (Some(open), Some(close)) if close > open + 1 => &rest[open + 1..close],
        _ => text,
    }
}

/// A complete SMTP reply (`NNN C.S.D text`) in angle brackets at the very end of a text.
fn bracketed_last_reply(text: &str) -> Option<&str> {
    let body = text.trim_end().strip_suffix('>')?;
    let open = body.rfind('<')?;
    let inner = &body[open + 1..];
    let (code, rest) = inner.split_once(' ')?;
    let is_code =
        code.len() == 3 && matches!(code.as_bytes()[0], b'2' | b'4' | b'5') && code.bytes().all(|b| b.is_ascii_digit());
    let status = rest.split_whitespace().next().and_then(EnhancedStatus::parse);
    (is_code && status.is_some() && open > 0).then_some(inner)
}

/// Chooses between the status a format states (the DSN `Status` field) and the one inside the
/// diagnostic text: the text's is the remote server's own word and usually more specific (a
/// `Status: 4.4.7` expiry hiding a `4.7.1` refusal), unless it is the catch-all `X.0.0`.
fn prefer_status(field: Option<EnhancedStatus>, in_text: Option<EnhancedStatus>) -> Option<EnhancedStatus> {
    match (field, in_text) {
        (Some(f), Some(t)) if t.subject == 0 && t.detail == 0 => Some(f),
        (Some(f), Some(t)) if (f.class == 2) != (t.class == 2) => Some(f),
        (_, Some(t)) => Some(t),
        (f, None) => f,
    }
}

/// Classifies one SMTP reply with the built-in rules.
pub fn classify_reply(reply: &str) -> Verdict {
    Classifier::builtin().classify_reply(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;

    fn kind_reason(input: &str) -> (Kind, Reason) {
        let v = classify_reply(input);
        (v.kind, v.reason)
    }

    #[test]
    fn the_builtin_rules_compile() {
        let rules = builtin_rules().map_err(|e| e.to_string());
        assert!(rules.as_ref().is_ok_and(|r| r.len() > 50), "{:?}", rules.err());
    }

    #[test]
    fn user_unknown_is_hard_and_suppressed() {
        let v = classify_reply("550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown");
        assert_eq!((v.kind, v.reason, v.action), (Kind::Hard, Reason::UserUnknown, Action::Suppress));
        assert_eq!((v.reply_code, v.status.map(|s| s.to_string())), (Some(550), Some("5.1.1".into())));
        assert_eq!(v.rule, "user_unknown.unknown_user");
        assert!(v.evidence.contains("User"), "{}", v.evidence);
        assert!(!v.status_derived);
    }

    #[test]
    fn policy_and_spam_rejections_are_blocks_not_hard_bounces() {
        for reply in [
            "550 5.7.1 Message rejected as spam",
            "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints",
        ] {
            assert_eq!(classify_reply(reply).kind, Kind::Block, "{reply}");
        }
    }

    #[test]
    fn a_block_mentioning_the_recipient_is_still_a_block() {
        let v =
            classify_reply("550 5.7.1 <jane@example.com>: Recipient address rejected: blocked using bl.example.org");
        assert_eq!(v.kind, Kind::Block);
    }

    #[test]
    fn spam_in_a_host_name_is_not_evidence() {
        let dead = "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown (mx.spam-filter.example.net)";
        assert_eq!(kind_reason(dead), (Kind::Hard, Reason::UserUnknown));
        let vague = "550 5.0.0 rejected by spamgate.example.com";
        assert_ne!(classify_reply(vague).kind, Kind::Hard);
        assert_ne!(classify_reply(vague).reason, Reason::SpamDetected);
    }

    #[test]
    fn transient_address_errors_are_soft() {
        assert_eq!(kind_reason("450 4.1.1 <a@b.example>: Recipient address rejected: User unknown").0, Kind::Soft);
        assert_eq!(
            kind_reason("452 4.2.2 The email account that you tried to reach is over quota"),
            (Kind::Soft, Reason::MailboxFull)
        );
    }

    #[test]
    fn uncertain_permanent_failures_are_never_hard() {
        assert_eq!(kind_reason("550 5.0.0 rejected"), (Kind::Unknown, Reason::Undefined));
        assert_eq!(kind_reason("550 go away"), (Kind::Unknown, Reason::Undefined));
        assert_eq!(kind_reason("no codes at all").0, Kind::Unknown);
        assert_eq!(kind_reason("550 5.7.1 Message refused by spamfilter.mx.example.com").0, Kind::Block);
    }

    #[test]
    fn the_remote_reply_bracketed_at_the_end_of_an_expiry_decides() {
        let v = classify_reply(
            "554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>",
        );
        assert_eq!(
            (v.reason, v.kind, v.status.map(|s| s.to_string())),
            (Reason::Expired, Kind::Soft, Some("4.4.2".into()))
        );
        let address = classify_reply("550 5.1.1 <jane@example.com>");
        assert_eq!(address.status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
    }

    #[test]
    fn an_unknown_sender_address_is_a_rejected_sender_not_a_dead_recipient() {
        assert_eq!(kind_reason("550 5.1.7 Invalid address (sender)"), (Kind::Block, Reason::Rejected));
        assert_eq!(kind_reason("553 5.1.8 Unknown user in sender domain"), (Kind::Block, Reason::Rejected));
    }

    #[test]
    fn the_remote_reply_quoted_by_ses_decides() {
        let v = classify_reply(
            "5.1.0 - Unknown address error '5.7.1 <a@b.example>... Access denied' (delivery attempts: 0)",
        );
        assert_eq!((v.kind, v.status.map(|s| s.to_string())), (Kind::Block, Some("5.7.1".into())));
    }

    #[test]
    fn a_notice_that_the_account_is_disabled_outranks_a_relayed_user_unknown() {
        let report = Report {
            recipient: Some("taro@example.jp".into()),
            diagnostic: "550 user unknown (in reply to RCPT TO command)".into(),
            context: Some("The user(s) account is disabled. 550 user unknown (in reply to RCPT TO command)".into()),
            decoder: "rfc3464",
            ..Report::default()
        };
        let v = Classifier::builtin().judge(&report);
        assert_eq!((v.reason, v.kind), (Reason::Suspend, Kind::Hard));
    }

    #[test]
    fn a_filter_notice_naming_a_malformed_message_outranks_its_spam_verdict() {
        let report = Report {
            recipient: Some("jane@example.com".into()),
            diagnostic: "554 5.7.0 Reject, id=20025-09 - SPAM".into(),
            context: Some(
                "was considered unsolicited bulk e-mail (UBE). We do try to minimize backscatter for more \
                 prominent cases of UBE and for infected mail. Duplicate header field: \"From\""
                    .into(),
            ),
            decoder: "rfc3464",
            ..Report::default()
        };
        let v = Classifier::builtin().judge(&report);
        assert_eq!((v.reason, v.kind), (Reason::NotCompliantRfc, Kind::Block));
        let plain = Report { context: Some("was considered unsolicited bulk e-mail (UBE).".into()), ..report };
        assert_eq!(Classifier::builtin().judge(&plain).reason, Reason::SpamDetected);
    }

    #[test]
    fn a_failure_retried_until_timeout_keeps_a_transient_derived_status() {
        let v = classify_reply("mailbox is full: retry timeout exceeded");
        assert_eq!((v.reason, v.status.map(|s| s.to_string())), (Reason::MailboxFull, Some("4.0.922".into())));
    }

    #[test]
    fn an_exim_refusal_of_mail_from_leaves_the_recipient_status_undecided() {
        let v = classify_reply(
            "SMTP error from remote mail server after MAIL FROM:<a@example.com> SIZE=1024: 550 Unroutable sender address",
        );
        assert_eq!((v.reason, v.status.map(|s| s.to_string())), (Reason::Rejected, Some("5.0.901".into())));
        let transcript =
            classify_reply(">>> MAIL FROM:<a@example.com>\n<<< 501 no access from [192.0.2.5], an open relay");
        assert_eq!(
            (transcript.reason, transcript.status.map(|s| s.to_string())),
            (Reason::Blocked, Some("5.0.971".into()))
        );
    }

    #[test]
    fn success_is_delivered() {
        assert_eq!(kind_reason("250 2.0.0 OK queued"), (Kind::Delivered, Reason::Delivered));
        assert_eq!(classify_reply("250 ok").action, Action::Ignore);
    }

    #[test]
    fn a_missing_status_is_derived_and_flagged() {
        let v = classify_reply("550 Mailbox is full");
        assert_eq!(v.reason, Reason::MailboxFull);
        assert_eq!(v.status.map(|s| s.to_string()).as_deref(), Some("5.0.922"));
        assert!(v.status_derived);
    }

    #[test]
    fn staff_rules_come_first_and_kind_overrides_apply() {
        let config: ClassifierConfig = serde_json::from_str(
            r#"{"rules": [{"id": "acme.greylist", "pattern": "greylisted", "reason": "rate_limited",
                           "scope": {"classes": [4]}}],
                "kinds": {"mailbox_full": "hard"}}"#,
        )
        .unwrap();
        let classifier = Classifier::new(&config).unwrap();
        let v = classifier.classify_reply("451 4.7.1 User unknown, greylisted, try again");
        assert_eq!((v.reason, v.rule.as_ref()), (Reason::RateLimited, "acme.greylist"));
        assert_eq!(classifier.classify_reply("552 5.2.2 mailbox full").kind, Kind::Hard);
        assert_eq!(Classifier::builtin().classify_reply("552 5.2.2 mailbox full").kind, Kind::Soft);
    }

    #[test]
    fn a_bad_staff_rule_is_an_error_naming_it() {
        let config = ClassifierConfig {
            rules: vec![Rule {
                id: "acme.bad".into(),
                pattern: "[".into(),
                reason: Reason::Blocked,
                scope: Default::default(),
            }],
            kinds: BTreeMap::new(),
        };
        let err = Classifier::new(&config).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("acme.bad"), "{err}");
    }
}
