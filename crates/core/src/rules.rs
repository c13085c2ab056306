//! Classification rules: ordered `pattern → reason` data, compiled once into one matcher.
//!
//! Built-in rules live in `rules/*.rules` inside this crate, embedded at compile time; staff rules
//! arrive as `Rule`s (JSON in the server and the console) and are checked before them. Each
//! set compiles into one Aho-Corasick automaton over the literal prefixes of its patterns (one pass
//! over the text finds which rules could match, and where) plus one regex per rule, tried anchored
//! at those places; patterns that start with a literal keep this fast. The first rule in file
//! order whose pattern matches and whose scope fits the reply wins.
//!
//! Rule file syntax, one rule per line (`#` starts a comment line):
//!
//! ```text
//! [mailbox_full]                       section: the reason of the rules below it
//! over_quota      over ?quota          id, then the pattern (case-insensitive regex)
//! @rcpt,5xx  unknown  user unknown     optional scope first: commands and/or reply classes
//! @helo  greeting  *                   `*`: any text, when the scope fits (a scope is required)
//! ```
//!
//! A rule scoped to commands is taken at its word: the classifier's own doubts about a reply's
//! command ("user unknown" after DATA is usually a filter) do not override it.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use serde::{Deserialize, Serialize};

use crate::{Reason, SmtpCommand};

/// Room for each rule's lazy DFA, so that long bounce texts stay on the fast path.
const DFA_BUDGET: usize = 2 << 20;
/// Shortest literal worth prefiltering on; a rule whose match can start with something shorter is
/// tried on every text.
const MIN_LITERAL: usize = 3;
/// Rules counted in a fixed-size bit set on the stack; larger sets use the heap.
const STACK_RULES: usize = 512;
/// Literal occurrences remembered per search; past this, candidates are searched unanchored.
const MAX_OCCURRENCES: usize = 256;

/// When a rule applies, beyond its pattern matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Only replies of these classes (4 for transient, 5 for permanent); empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<u8>,
    /// Only replies to these SMTP commands (`connect`, `helo`, `mail`, `rcpt`, `data`); empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Only for this mailbox provider: a domain matched against the recipient's domain and the
    /// remote MTA's host name, including their subdomains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// One rule: when `pattern` matches (and the scope fits), the reason is `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub pattern: String,
    pub reason: Reason,
    #[serde(default)]
    pub scope: Scope,
}

/// Why a rule set could not be built. Every variant names the rule (or line) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule file line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("rule `{id}`: the pattern does not compile: {message}")]
    Pattern { id: String, message: String },
    #[error("rule `{id}`: {message}")]
    Scope { id: String, message: String },
    #[error("rule id `{id}` is used twice")]
    DuplicateId { id: String },
    #[error("the rules' literal prefilter could not be built: {message}")]
    TooLarge { message: String },
}

/// What a reply looks like to the scope check.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchContext<'a> {
    pub class: Option<u8>,
    pub command: Option<SmtpCommand>,
    pub recipient_domain: Option<&'a str>,
    pub remote_host: Option<&'a str>,
}

/// The rule that decided, and where its pattern matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHit<'r> {
    pub id: &'r str,
    pub reason: Reason,
    pub span: Range<usize>,
    /// The rule is scoped to SMTP commands: its author has weighed where in the session the reply
    /// came, so the classifier does not second-guess its reason by the command.
    pub command_scoped: bool,
}

#[derive(Debug)]
struct CompiledScope {
    classes: Vec<u8>,
    commands: Vec<SmtpCommand>,
    provider: Option<String>,
}

impl CompiledScope {
    fn new(id: &str, scope: &Scope) -> Result<Self, RuleError> {
        let error = |message: String| RuleError::Scope { id: id.to_owned(), message };
        if let Some(bad) = scope.classes.iter().find(|c| !matches!(c, 2 | 4 | 5)) {
            return Err(error(format!("reply class {bad} is not 2, 4 or 5")));
        }
        let commands = scope
            .commands
            .iter()
            .map(|name| SmtpCommand::from_name(name).ok_or_else(|| error(format!("`{name}` is not an SMTP command"))))
            .collect::<Result<_, _>>()?;
        let provider = scope.provider.as_deref().map(|p| p.trim().trim_start_matches('.').to_ascii_lowercase());
        if provider.as_deref() == Some("") {
            return Err(error("the provider is empty".to_owned()));
        }
        Ok(Self { classes: scope.classes.clone(), commands, provider })
    }

    fn fits(&self, ctx: &MatchContext<'_>) -> bool {
        let class_ok = self.classes.is_empty() || ctx.class.is_some_and(|c| self.classes.contains(&c));
        let command_ok = self.commands.is_empty() || ctx.command.is_some_and(|c| self.commands.contains(&c));
        let provider_ok = self.provider.as_deref().is_none_or(|p| {
            [ctx.recipient_domain, ctx.remote_host].into_iter().flatten().any(|host| is_domain_or_sub(host, p))
        });
        class_ok && command_ok && provider_ok
    }
}

fn is_domain_or_sub(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.len() >= domain.len()
        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
        && (host.len() == domain.len() || host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// The pattern of a rule that matches any text (within its scope).
pub const ANY_TEXT: &str = "*";

/// A compiled, ordered set of rules.
#[derive(Debug)]
pub struct RuleSet {
    /// Each rule's regex; `None` for `*` rules, which match by scope alone.
    patterns: Vec<Option<meta::Regex>>,
    ids: Vec<String>,
    reasons: Vec<Reason>,
    scopes: Vec<CompiledScope>,
    /// Finds the prefix literals of rules in one pass; `owners[p]` are the rules of literal `p`.
    prefilter: Option<AhoCorasick>,
    owners: Vec<Vec<usize>>,
    /// Rules without usable prefix literals: tried on every text.
    unfiltered: Vec<usize>,
}

impl RuleSet {
    /// Compiles rules in priority order. Fails on the first rule that does not compile, naming it.
    pub fn compile(rules: &[Rule]) -> Result<Self, RuleError> {
        let mut set = RuleSet {
            patterns: Vec::with_capacity(rules.len()),
            ids: Vec::with_capacity(rules.len()),
            reasons: Vec::with_capacity(rules.len()),
            scopes: Vec::with_capacity(rules.len()),
            prefilter: None,
            owners: Vec::new(),
            unfiltered: Vec::new(),
        };
        let mut literals: Vec<Vec<u8>> = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.id.trim().is_empty() {
                return Err(RuleError::Scope { id: rule.id.clone(), message: "the id is empty".to_owned() });
            }
            if set.ids.contains(&rule.id) {
                return Err(RuleError::DuplicateId { id: rule.id.clone() });
            }
            let scope = CompiledScope::new(&rule.id, &rule.scope)?;
            if rule.pattern == ANY_TEXT {
                if scope.classes.is_empty() && scope.commands.is_empty() && scope.provider.is_none() {
                    let message = "a `*` rule needs a scope, or it would match everything".to_owned();
                    return Err(RuleError::Scope { id: rule.id.clone(), message });
                }
                set.patterns.push(None);
                set.unfiltered.push(index);
            } else {
                let regex = build_regex(&rule.pattern)
                    .map_err(|message| RuleError::Pattern { id: rule.id.clone(), message })?;
                if regex.is_match(b"".as_slice()) {
                    let message = "the pattern matches empty text, so it would match everything".to_owned();
                    return Err(RuleError::Pattern { id: rule.id.clone(), message });
                }
                match prefix_literals(&rule.pattern) {
                    Some(found) => {
                        for literal in found {
                            match literals.iter().position(|l| *l == literal) {
                                Some(at) if set.owners[at].last() != Some(&index) => set.owners[at].push(index),
                                Some(_) => {}
                                None => {
                                    literals.push(literal);
                                    set.owners.push(vec![index]);
                                }
                            }
                        }
                    }
                    None => set.unfiltered.push(index),
                }
                set.patterns.push(Some(regex));
            }
            set.scopes.push(scope);
            set.ids.push(rule.id.clone());
            set.reasons.push(rule.reason);
        }
        if !literals.is_empty() {
            let automaton = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&literals)
                .map_err(|e| RuleError::TooLarge { message: e.to_string() })?;
            set.prefilter = Some(automaton);
        }
        Ok(set)
    }

    /// The rule ids, in priority order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The first rule whose pattern matches `text` and whose scope fits.
    ///
    /// One prefilter pass records where each rule's literals occur; a rule is then tried only where
    /// one of its matches could start (an anchored search that stops within a few bytes when it
    /// fails), in priority order.
    pub fn find<'r>(&'r self, text: &str, ctx: &MatchContext<'_>) -> Option<RuleHit<'r>> {
        let n = self.ids.len();
        if n == 0 {
            return None;
        }
        let hay = text.as_bytes();
        let mut stack = [0u64; STACK_RULES / 64];
        let mut heap = Vec::new();
        let bits: &mut [u64] = if n <= STACK_RULES {
            &mut stack
        } else {
            heap.resize(n.div_ceil(64), 0);
            &mut heap
        };
        for &i in &self.unfiltered {
            bits[i / 64] |= 1 << (i % 64);
        }
        let mut occurrences = [(0u32, 0u32); MAX_OCCURRENCES];
        let mut count = 0;
        let mut overflow = false;
        if let Some(prefilter) = &self.prefilter {
            for found in prefilter.find_overlapping_iter(hay) {
                for &rule in &self.owners[found.pattern().as_usize()] {
                    bits[rule / 64] |= 1 << (rule % 64);
                    match occurrences.get_mut(count) {
                        Some(slot) => {
                            *slot = (rule as u32, found.start() as u32);
                            count += 1;
                        }
                        None => overflow = true,
                    }
                }
            }
        }
        let occurrences = &mut occurrences[..count];
        occurrences.sort_unstable();
        let candidates = bits.iter().enumerate().flat_map(|(word, &value)| {
            (0..64).filter(move |bit| value & (1 << bit) != 0).map(move |bit| word * 64 + bit)
        });
        for index in candidates {
            if !self.scopes[index].fits(ctx) {
                continue;
            }
            let span = match &self.patterns[index] {
                None => Some(0..hay.len()),
                Some(regex) if overflow || self.unfiltered.binary_search(&index).is_ok() => {
                    regex.find(hay).map(|m| m.range())
                }
                Some(regex) => {
                    let first = occurrences.partition_point(|(rule, _)| (*rule as usize) < index);
                    occurrences[first..].iter().take_while(|(rule, _)| *rule as usize == index).find_map(
                        |&(_, start)| {
                            let input = Input::new(hay).span(start as usize..hay.len()).anchored(Anchored::Yes);
                            regex.search(&input).map(|m| m.range())
                        },
                    )
                }
            };
            if let Some(span) = span {
                let command_scoped = !self.scopes[index].commands.is_empty();
                return Some(RuleHit { id: &self.ids[index], reason: self.reasons[index], span, command_scoped });
            }
        }
        None
    }
}

/// The literals that every match of `pattern` starts with (lower-cased, for a case-insensitive
/// search), or `None` when there is no short, finite set of them of useful length.
fn prefix_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_class(8).limit_repeat(3).limit_literal_len(8).limit_total(512);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().len() < MIN_LITERAL) {
        return None;
    }
    let mut lowered: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_ascii_lowercase()).collect();
    lowered.sort();
    lowered.dedup();
    Some(lowered)
}

/// Compiles one rule's pattern: case-insensitive (ASCII), over bytes, leftmost-first.
fn build_regex(pattern: &str) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(syntax::Config::new().case_insensitive(true).unicode(false).utf8(false))
        .configure(meta::Config::new().nfa_size_limit(Some(1 << 20)).hybrid_cache_capacity(DFA_BUDGET))
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// Parses the rule file syntax described in the module docs.
pub fn parse_rule_file(text: &str) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut reason = None;
    for (number, raw) in text.lines().enumerate() {
        let line = number + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let parsed =
                name.trim().parse::<Reason>().map_err(|e| RuleError::Syntax { line, message: e.to_string() })?;
            reason = Some(parsed);
            continue;
        }
        let reason = reason
            .ok_or_else(|| RuleError::Syntax { line, message: "a rule before any [reason] section".to_owned() })?;
        rules.push(parse_rule_line(trimmed, reason).map_err(|message| RuleError::Syntax { line, message })?);
    }
    Ok(rules)
}

fn parse_rule_line(line: &str, reason: Reason) -> Result<Rule, String> {
    let (scope, rest) = match line.strip_prefix('@') {
        Some(scoped) => {
            let (tokens, rest) = scoped.split_once(char::is_whitespace).ok_or("a scope without a rule")?;
            (parse_scope(tokens)?, rest.trim_start())
        }
        None => (Scope::default(), line),
    };
    let (name, pattern) = rest.split_once(char::is_whitespace).ok_or("expected `id pattern`")?;
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err(format!("rule `{name}` has no pattern"));
    }
    Ok(Rule { id: format!("{reason}.{name}"), pattern: pattern.to_owned(), reason, scope })
}

fn parse_scope(tokens: &str) -> Result<Scope, String> {
    let mut scope = Scope::default();
    for token in tokens.split(',') {
        match token {
            "2xx" => scope.classes.push(2),
            "4xx" => scope.classes.push(4),
            "5xx" => scope.classes.push(5),
            _ if SmtpCommand::from_name(token).is_some() => scope.commands.push(token.to_owned()),
            _ => return Err(format!("`{token}` is not a scope (use 4xx, 5xx, connect, helo, mail, rcpt, data)")),
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> RuleSet {
        RuleSet::compile(&parse_rule_file(text).unwrap()).unwrap()
    }

    #[test]
    fn first_matching_rule_wins_and_names_its_evidence() {
        let set = rules("[mailbox_full]\nquota  over ?quota\n[user_unknown]\nunknown  user unknown\n");
        let text = "550 User Unknown and over quota";
        let hit = set.find(text, &MatchContext::default()).unwrap();
        assert_eq!((hit.id, hit.reason), ("mailbox_full.quota", Reason::MailboxFull));
        assert_eq!(&text[hit.span], "over quota");
    }

    #[test]
    fn rules_without_prefix_literals_still_match() {
        let set = rules("[blocked]\nshort  (ip|rbl) listed\n");
        assert_eq!(set.find("your RBL listed host", &MatchContext::default()).map(|h| h.span), Some(5..15));
    }

    #[test]
    fn a_rule_matches_at_a_later_occurrence_of_its_literal() {
        let set = rules("[mailbox_full]\nfull  mailbox (is )?full\n");
        let text = "mailbox ok, but mailbox is full";
        let hit = set.find(text, &MatchContext::default()).unwrap();
        assert_eq!(&text[hit.span], "mailbox is full");
    }

    #[test]
    fn scopes_restrict_rules() {
        let set = rules("[filtered]\n@data unknown_after_data  user unknown\n[user_unknown]\nunknown  user unknown\n");
        let at = |command| MatchContext { command: Some(command), ..Default::default() };
        assert_eq!(set.find("user unknown", &at(SmtpCommand::Data)).unwrap().reason, Reason::Filtered);
        assert_eq!(set.find("user unknown", &at(SmtpCommand::RcptTo)).unwrap().reason, Reason::UserUnknown);
    }

    #[test]
    fn provider_scope_matches_domains_and_subdomains_only() {
        let rule = Rule {
            id: "custom.gmail".into(),
            pattern: "try again".into(),
            reason: Reason::RateLimited,
            scope: Scope { provider: Some("gmail.com".into()), ..Default::default() },
        };
        let set = RuleSet::compile(&[rule]).unwrap();
        let ctx = |domain| MatchContext { recipient_domain: Some(domain), ..Default::default() };
        assert!(set.find("try again", &ctx("gmail.com")).is_some());
        assert!(set.find("try again", &ctx("mx.gmail.com")).is_some());
        assert!(set.find("try again", &ctx("notgmail.com")).is_none());
    }

    #[test]
    fn errors_name_the_rule_or_line() {
        let bad = Rule {
            id: "custom.bad".into(),
            pattern: "(unclosed".into(),
            reason: Reason::Blocked,
            scope: Scope::default(),
        };
        assert!(matches!(RuleSet::compile(&[bad]), Err(RuleError::Pattern { id, .. }) if id == "custom.bad"));
        let empty =
            Rule { id: "custom.empty".into(), pattern: "x*".into(), reason: Reason::Blocked, scope: Scope::default() };
        assert!(matches!(RuleSet::compile(&[empty]), Err(RuleError::Pattern { .. })));
        assert!(matches!(parse_rule_file("[nonsense]\n"), Err(RuleError::Syntax { line: 1, .. })));
        assert!(matches!(parse_rule_file("orphan  x\n"), Err(RuleError::Syntax { line: 1, .. })));
        assert!(matches!(parse_rule_file("[blocked]\n@sometimes x  y\n"), Err(RuleError::Syntax { line: 2, .. })));
    }
}
