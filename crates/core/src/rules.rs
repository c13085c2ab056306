//! Classification rules: ordered `pattern → reason` data, compiled once into one matcher.
//!
//! Built-in rules live in `rules/*.rules` inside this crate, embedded at compile time; staff rules
//! arrive as `Rule`s (JSON in the server and the console) and are checked before them. Each
//! set compiles into one literal scanner (`literals`: an Aho-Corasick DFA) over the literal
//! prefixes of its patterns' top-level alternatives and the SMTP command phrases (one pass over the
//! text finds which alternatives of which rules could match, where, and which command the text
//! names). Each alternative is then checked anchored at those places on its own: one that matches
//! only a few literals by comparing bytes, one with a long gap first by looking for what must
//! follow the gap, the rest by a small dense DFA, a table walk with no cache, no lock and no
//! allocation (in wasm32, to keep the download small, the alternative's regex does that check with
//! its lazy DFA instead).
//! Patterns whose alternatives start with literals keep this fast. The first rule in file order
//! whose pattern matches and whose scope fits the reply wins.
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
use std::sync::OnceLock;

use regex_automata::dfa::{Automaton as _, StartKind, dense};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};
use serde::{Deserialize, Serialize};

use crate::ascii::{Needle, starts_with_ignore_case};
use crate::command::PHRASES;
use crate::literals::LiteralSet;
use crate::{Reason, SmtpCommand};

/// Room for each rule's lazy DFA, so that long bounce texts stay on the fast path.
const DFA_BUDGET: usize = 2 << 20;
/// Largest dense DFA precompiled for one rule; a rule whose DFA would be larger is checked by its
/// regex (lazy DFA) instead.
#[cfg(not(target_arch = "wasm32"))]
const DENSE_DFA_LIMIT: usize = 1 << 20;
/// Shortest literal worth prefiltering on; a rule whose match can start with something shorter is
/// tried on every text.
const MIN_LITERAL: usize = 3;
/// Longest literal the scanner looks for: rules' prefix literals are cut to this length (longer
/// ones named fewer rules to check, for more memory), command phrases are looked for by their
/// first bytes and compared in full where those occur.
const MAX_LITERAL: usize = 12;
/// The scanner's tag bit for a literal that starts command phrases (the rest is the literal's index).
const PHRASE: u32 = 1 << 31;
/// Rules counted in a fixed-size bit set on the stack; larger sets use the heap.
const STACK_RULES: usize = 512;
/// Literal occurrences kept on the stack; a text with more (a long bounce notice) keeps them all
/// on the heap instead.
const INLINE_OCCURRENCES: usize = 16;
/// Occurrence counts up to this are put in order by insertion.
const SMALL_SORT: usize = 24;

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
    /// Each rule's matcher; `None` for `*` rules, which match by scope alone.
    patterns: Vec<Option<Matcher>>,
    ids: Vec<String>,
    reasons: Vec<Reason>,
    scopes: Vec<CompiledScope>,
    /// The top-level alternatives of the rules checked where their literals occur, in rule order
    /// and, within a rule, in the pattern's order (the order of preference).
    alternatives: Vec<Alternative>,
    /// The scanner's tags for rule literals: `entries[t]` is a rule and the alternatives of it
    /// that can start where literal occurrences tagged `t` start, in order.
    entries: Vec<Entry>,
    /// Finds the prefix literals of rules and the command phrases in one pass.
    scanner: Option<LiteralSet>,
    /// `phrases[p]`: the indices in `PHRASES` (the command phrases) of the phrases that start with
    /// scanner literal `p` (their first `MAX_LITERAL` bytes), in priority order.
    phrases: Vec<Vec<usize>>,
    /// Rules without usable prefix literals: tried on every text.
    unfiltered: Vec<usize>,
}

/// A rule's literal as the scanner reports it: the rule, and its alternatives that can start with
/// the literal or with a shorter literal of the rule that the literal begins with (all of these
/// occur where it does), in order.
#[derive(Debug)]
struct Entry {
    rule: u32,
    alternatives: Box<[u32]>,
}

/// One top-level alternative of a rule's pattern (`a` and `b` of `a|b`). Anchored at a place,
/// the rule matches as its first alternative that matches there does, so each is checked on its
/// own: a few literals by comparing bytes, the others by a DFA that holds only what the
/// alternative needs, small enough to stay in the cache, where the whole rule's DFA (up to a
/// megabyte for the long alternations) missed it at nearly every step.
#[derive(Debug)]
struct Alternative {
    /// Every text the alternative matches, when those are a few literals without look-around, in
    /// order of preference: it matches as the first of them found at a place.
    literals: Option<Box<[Box<[u8]>]>>,
    /// For an alternative with a long gap (`message .{0,20}exceeds`): what must follow the gap.
    gap: Option<Gap>,
    matcher: Matcher,
}

/// What every match of an alternative with a long gap (`x.{0,40}y`, `[a-z.]+ not found`) has
/// after the gap: one of `literals` (lower-case, matched in any case), starting `min` to `max`
/// bytes after the match's start. A DFA checking such an alternative walks the whole gap before it
/// can fail, and most places where `x` occurs have no `y` near: looking for `y` in that window is
/// a vectorised search instead of a walk of dozens of dependent steps.
#[derive(Debug)]
struct Gap {
    min: usize,
    /// `None`: up to the end of the text.
    max: Option<usize>,
    literals: Vec<Needle>,
}

impl Gap {
    /// The shortest repetition taken for a gap.
    const LONG: u32 = 8;

    /// The gap of an alternative (the first long repetition in its sequence), when what follows
    /// it starts with a short, finite set of literals and what precedes it has a bounded length.
    fn of(hir: &Hir) -> Option<Self> {
        let HirKind::Concat(items) = hir.kind() else { return None };
        let at = items.iter().position(|item| match item.kind() {
            HirKind::Repetition(repetition) => repetition.max.is_none_or(|max| max >= Self::LONG),
            _ => false,
        })?;
        let HirKind::Repetition(repetition) = items[at].kind() else { return None };
        let before = Hir::concat(items[..at].to_vec());
        let literals = prefix_literals(&Hir::concat(items[at + 1..].to_vec()))?;
        let each = repetition.sub.properties();
        let min = before.properties().minimum_len()? + repetition.min as usize * each.minimum_len()?;
        let max = match repetition.max {
            Some(max) => Some(before.properties().maximum_len()? + max as usize * each.maximum_len()?),
            None => None,
        };
        Some(Self { min, max, literals: literals.into_iter().map(Needle::owned).collect() })
    }

    /// Whether one of the literals starts in the window after `start`.
    fn may_match(&self, hay: &[u8], start: usize) -> bool {
        let from = start.saturating_add(self.min);
        self.literals.iter().any(|literal| {
            let to = self.max.map_or(hay.len(), |max| hay.len().min(start + max + literal.len()));
            hay.get(from..to).is_some_and(|window| literal.is_in_bytes(window))
        })
    }
}

impl Alternative {
    /// The alternative's match starting exactly at `start`; `Err` when it cannot be compiled on
    /// its own (beyond the size limits), and the rule's whole pattern must answer instead.
    fn match_at(&self, hay: &[u8], start: usize) -> Result<Option<Range<usize>>, Unavailable> {
        match &self.literals {
            Some(literals) => {
                let rest = hay.get(start..).unwrap_or_default();
                let found = literals.iter().find(|l| rest.get(..l.len()).is_some_and(|t| t.eq_ignore_ascii_case(l)));
                Ok(found.map(|literal| start..start + literal.len()))
            }
            None if self.gap.as_ref().is_some_and(|gap| !gap.may_match(hay, start)) => Ok(None),
            None => self.matcher.match_at(hay, start),
        }
    }
}

/// A pattern that could not be compiled within the size limits.
#[derive(Debug)]
struct Unavailable;

/// A pattern, compiled twice: a regex (lazy DFA; built at once for a whole rule, whose compiling
/// checks the pattern, on first use for an alternative) and a dense DFA built on the first check
/// (for anchored checks: a table walk with no cache, no lock and no allocation). Determinizing
/// every pattern up front would cost more time at start, in the browser too, than most texts ever
/// need.
#[derive(Debug)]
struct Matcher {
    regex: OnceLock<Option<meta::Regex>>,
    source: String,
    /// Anchored for rules with prefix literals (checked where those occur), unanchored for others.
    start: StartKind,
    /// The longest text the pattern can match, when that is bounded.
    max_len: Option<usize>,
    dense: OnceLock<Option<dense::DFA<Vec<u32>>>>,
}

impl Matcher {
    /// A matcher for `source`, with its regex when it is already built.
    fn new(source: String, start: StartKind, max_len: Option<usize>, regex: Option<meta::Regex>) -> Self {
        let built = OnceLock::new();
        if let Some(regex) = regex {
            built.get_or_init(|| Some(regex));
        }
        Self { regex: built, source, start, max_len, dense: OnceLock::new() }
    }

    fn dense(&self) -> Option<&dense::DFA<Vec<u32>>> {
        self.dense.get_or_init(|| build_dense(&self.source, self.start)).as_ref()
    }

    fn regex(&self) -> Option<&meta::Regex> {
        self.regex.get_or_init(|| build_regex(&self.source).ok()).as_ref()
    }

    /// The match starting exactly at `start`.
    /// The regex (the only matcher in wasm32) is given no more text than the longest match could
    /// take: look-around still sees the whole text, but the search does less work, and the
    /// backtracker's record of visited states, sized by the text it searches, is cleared for less.
    fn match_at(&self, hay: &[u8], start: usize) -> Result<Option<Range<usize>>, Unavailable> {
        let input = Input::new(hay).span(start..hay.len()).anchored(Anchored::Yes);
        match self.dense().filter(|_| self.start == StartKind::Anchored).map(|dfa| dfa.try_search_fwd(&input)) {
            Some(Ok(found)) => Ok(found.map(|end| start..end.offset())),
            _ => {
                let end = self.max_len.map_or(hay.len(), |len| hay.len().min(start.saturating_add(len)));
                let regex = self.regex().ok_or(Unavailable)?;
                Ok(regex.search(&input.span(start..end)).map(|m| m.range()))
            }
        }
    }

    /// The leftmost match anywhere: the dense DFA (when it is an unanchored one) rules texts out
    /// without touching the regex, which then finds the span.
    fn find(&self, hay: &[u8]) -> Option<Range<usize>> {
        let dfa = self.dense().filter(|_| self.start == StartKind::Unanchored);
        if let Some(Ok(None)) = dfa.map(|dfa| dfa.try_search_fwd(&Input::new(hay))) {
            return None;
        }
        self.regex()?.find(hay).map(|m| m.range())
    }
}

/// Where a literal of a rule occurs: `key` is `rule << 32 | start`, `entry` the scanner's entry.
#[derive(Debug, Clone, Copy, Default)]
struct Occurrence {
    key: u64,
    entry: u32,
}

/// What one pass of a rule set's scanner found in a text: the rules that could match there and
/// where, and the SMTP command phrase it names. Lives on the stack: no allocation for sets of up to
/// `STACK_RULES` rules and texts with up to `INLINE_OCCURRENCES` literal occurrences.
#[derive(Debug)]
pub struct Scan<'t> {
    text: &'t str,
    stack: [u64; STACK_RULES / 64],
    heap: Vec<u64>,
    /// Literal occurrences, in ascending order of rule and place once the scan is complete: the
    /// first `count` here, all of them in `spilled` when there are more.
    occurrences: [Occurrence; INLINE_OCCURRENCES],
    count: usize,
    spilled: Vec<Occurrence>,
    /// `(start, phrase index)` of the leftmost command phrase (the first listed, at one start).
    command: Option<(usize, usize)>,
}

impl<'t> Scan<'t> {
    fn new(text: &'t str, rules: usize) -> Self {
        let heap = if rules > STACK_RULES { vec![0; rules.div_ceil(64)] } else { Vec::new() };
        Scan {
            text,
            stack: [0; STACK_RULES / 64],
            heap,
            occurrences: [Occurrence::default(); INLINE_OCCURRENCES],
            count: 0,
            spilled: Vec::new(),
            command: None,
        }
    }

    /// Whether this is the scan of exactly this text (the same slice, not only equal contents).
    pub fn is_of(&self, text: &str) -> bool {
        std::ptr::eq(self.text, text)
    }

    /// The command the text says it answered, by the leftmost phrase of `SmtpCommand::find`.
    pub fn command(&self) -> Option<SmtpCommand> {
        self.command.map(|(_, phrase)| PHRASES[phrase].1)
    }

    fn bits(&self) -> &[u64] {
        if self.heap.is_empty() { &self.stack } else { &self.heap }
    }

    fn mark(&mut self, rule: usize) {
        let bits = if self.heap.is_empty() { &mut self.stack[..] } else { &mut self.heap[..] };
        if let Some(word) = bits.get_mut(rule / 64) {
            *word |= 1 << (rule % 64);
        }
    }

    fn record(&mut self, rule: usize, start: usize, entry: u32) {
        self.mark(rule);
        let key = Occurrence { key: (rule as u64) << 32 | start as u64, entry };
        match self.occurrences.get_mut(self.count) {
            Some(slot) => {
                *slot = key;
                self.count += 1;
            }
            None => {
                if self.spilled.is_empty() {
                    self.spilled.extend_from_slice(&self.occurrences);
                }
                self.spilled.push(key);
            }
        }
    }

    fn found(&self) -> &[Occurrence] {
        if self.spilled.is_empty() { &self.occurrences[..self.count] } else { &self.spilled }
    }

    /// Puts the occurrences in order. A reply has a handful, which an insertion sort orders faster
    /// than the general sort can start; a long bounce text may have hundreds.
    fn sort(&mut self) {
        let found = if self.spilled.is_empty() { &mut self.occurrences[..self.count] } else { &mut self.spilled[..] };
        if found.len() > SMALL_SORT {
            found.sort_unstable_by_key(|o| o.key);
            return;
        }
        for next in 1..found.len() {
            let key = found[next];
            let mut at = next;
            while at > 0 && found[at - 1].key > key.key {
                found[at] = found[at - 1];
                at -= 1;
            }
            found[at] = key;
        }
    }

    /// The candidate rules in priority order.
    fn candidates(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits().iter().enumerate().flat_map(|(word, &value)| {
            let mut rest = value;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    word * 64 + bit
                })
            })
        })
    }
}

impl RuleSet {
    /// Compiles rules in priority order. Fails on the first rule that does not compile, naming it.
    pub fn compile(rules: &[Rule]) -> Result<Self, RuleError> {
        let mut set = RuleSet {
            patterns: Vec::with_capacity(rules.len()),
            ids: Vec::with_capacity(rules.len()),
            reasons: Vec::with_capacity(rules.len()),
            scopes: Vec::with_capacity(rules.len()),
            alternatives: Vec::new(),
            entries: Vec::new(),
            scanner: None,
            phrases: Vec::new(),
            unfiltered: Vec::new(),
        };
        if rules.len() >= PHRASE as usize {
            return Err(RuleError::TooLarge { message: format!("{} rules are more than a set can hold", rules.len()) });
        }
        let mut literals: Vec<Vec<u8>> = Vec::new();
        // `owners[p]`: the entries (rules' alternatives) whose matches can start with scanner literal `p`.
        let mut owners: Vec<Vec<u32>> = Vec::new();
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
                // The regex compiled, so its syntax parses; the parse feeds the prefilter and the bound.
                let hir =
                    regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(&rule.pattern).ok();
                let split = hir.as_ref().and_then(|hir| alternatives_with_literals(hir, &rule.pattern));
                let start = match split {
                    Some(split) => {
                        set.add_alternatives(index, split, &mut literals, &mut owners)?;
                        StartKind::Anchored
                    }
                    None => {
                        set.unfiltered.push(index);
                        StartKind::Unanchored
                    }
                };
                let max_len = hir.as_ref().and_then(|hir| hir.properties().maximum_len());
                set.patterns.push(Some(Matcher::new(rule.pattern.clone(), start, max_len, Some(regex))));
            }
            set.scopes.push(scope);
            set.ids.push(rule.id.clone());
            set.reasons.push(rule.reason);
        }
        set.phrases = vec![Vec::new(); literals.len()];
        for (phrase, (text, _)) in PHRASES.iter().enumerate() {
            let head = &text.as_bytes()[..text.len().min(MAX_LITERAL)];
            let at = literal_index(&mut literals, &mut owners, head.to_ascii_lowercase());
            set.phrases.resize(literals.len(), Vec::new());
            set.phrases[at].push(phrase);
        }
        // A literal's tags: the entries it starts, and `PHRASE` with its index if it starts phrases.
        let tags: Vec<Vec<u32>> = owners
            .into_iter()
            .zip(&set.phrases)
            .enumerate()
            .map(|(literal, (mut entries, phrases))| {
                entries.extend((!phrases.is_empty()).then_some(PHRASE | literal as u32));
                entries
            })
            .collect();
        let scanner = LiteralSet::new(&literals, &tags).map_err(|e| RuleError::TooLarge { message: e.to_string() })?;
        set.scanner = Some(scanner);
        Ok(set)
    }

    /// Adds rule `rule`'s alternatives, each with its prefix literals, and the scanner entries for
    /// those literals.
    fn add_alternatives(
        &mut self,
        rule: usize,
        split: Vec<Split>,
        literals: &mut Vec<Vec<u8>>,
        owners: &mut Vec<Vec<u32>>,
    ) -> Result<(), RuleError> {
        let too_many =
            || RuleError::TooLarge { message: "the rules have more literals than a set can hold".to_owned() };
        // The rule's literals, each with the alternatives that start with it.
        let mut starting: Vec<(Vec<u8>, Vec<u32>)> = Vec::new();
        for Split { alternative: checked, prefixes } in split {
            let alternative = u32::try_from(self.alternatives.len()).map_err(|_| too_many())?;
            self.alternatives.push(checked);
            for prefix in prefixes {
                match starting.iter_mut().find(|(known, _)| *known == prefix) {
                    Some((_, alternatives)) => alternatives.push(alternative),
                    None => starting.push((prefix, vec![alternative])),
                }
            }
        }
        for (literal, _) in &starting {
            let mut alternatives: Vec<u32> = starting
                .iter()
                .filter(|(shorter, _)| literal.starts_with(shorter))
                .flat_map(|(_, alternatives)| alternatives.iter().copied())
                .collect();
            alternatives.sort_unstable();
            alternatives.dedup();
            let entry = u32::try_from(self.entries.len()).ok().filter(|&e| e < PHRASE).ok_or_else(too_many)?;
            self.entries.push(Entry { rule: rule as u32, alternatives: alternatives.into_boxed_slice() });
            let at = literal_index(literals, owners, literal.clone());
            owners[at].push(entry);
        }
        Ok(())
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

    /// Bytes of memory held by the literal scanner and the dense DFAs built so far.
    pub fn memory_usage(&self) -> usize {
        let matchers = self.patterns.iter().flatten().chain(self.alternatives.iter().map(|a| &a.matcher));
        let dense: usize = matchers.filter_map(|m| m.dense.get()?.as_ref()).map(|d| d.memory_usage()).sum();
        dense + self.scanner.as_ref().map_or(0, |s| s.memory_usage())
    }

    /// The first rule whose pattern matches `text` and whose scope fits.
    pub fn find<'r>(&'r self, text: &str, ctx: &MatchContext<'_>) -> Option<RuleHit<'r>> {
        self.find_scanned(&self.scan(text), ctx)
    }

    /// One pass over `text`: where each rule's literals occur, and the command phrase it names.
    pub fn scan<'t>(&self, text: &'t str) -> Scan<'t> {
        let mut scan = Scan::new(text, self.ids.len());
        for &rule in &self.unfiltered {
            scan.mark(rule);
        }
        let Some(scanner) = &self.scanner else { return scan };
        scanner.for_each(text.as_bytes(), |tag, start| {
            if tag & PHRASE == 0 {
                if let Some(entry) = self.entries.get(tag as usize) {
                    scan.record(entry.rule as usize, start, tag);
                }
                return;
            }
            let phrases = &self.phrases[(tag & !PHRASE) as usize];
            let rest = text.get(start..).unwrap_or_default();
            if let Some(&phrase) = phrases.iter().find(|&&p| starts_with_ignore_case(rest, PHRASES[p].0)) {
                scan.command = match scan.command {
                    Some(best) if best <= (start, phrase) => Some(best),
                    _ => Some((start, phrase)),
                };
            }
        });
        scan.sort();
        scan
    }

    /// The first rule that matches the scanned text and whose scope fits. A rule is tried only
    /// where one of its matches could start (an anchored search that stops within a few bytes
    /// when it fails), in priority order.
    pub fn find_scanned<'r>(&'r self, scan: &Scan<'_>, ctx: &MatchContext<'_>) -> Option<RuleHit<'r>> {
        let hay = scan.text.as_bytes();
        let occurrences = scan.found();
        for index in scan.candidates() {
            if index >= self.ids.len() || !self.scopes[index].fits(ctx) {
                continue;
            }
            let span = match &self.patterns[index] {
                None => Some(0..hay.len()),
                Some(matcher) if self.unfiltered.binary_search(&index).is_ok() => matcher.find(hay),
                Some(matcher) => {
                    let rule = index as u64;
                    let first = occurrences.partition_point(|o| o.key >> 32 < rule);
                    let count = occurrences[first..].iter().take_while(|o| o.key >> 32 == rule).count();
                    self.first_match(hay, &occurrences[first..first + count], matcher)
                }
            };
            if let Some(span) = span {
                let command_scoped = !self.scopes[index].commands.is_empty();
                return Some(RuleHit { id: &self.ids[index], reason: self.reasons[index], span, command_scoped });
            }
        }
        None
    }

    /// A rule's leftmost match, from its literal occurrences (`found`, in ascending order): at each
    /// place, the first of the rule's alternatives that can start there and matches. All the
    /// literals of a rule found at one place begin with the shortest of them, so the entry with the
    /// most alternatives names them all.
    fn first_match(&self, hay: &[u8], found: &[Occurrence], whole: &Matcher) -> Option<Range<usize>> {
        let place = |o: &Occurrence| (o.key & u64::from(u32::MAX)) as usize;
        let mut rest = found;
        while let Some(first) = rest.first() {
            let start = place(first);
            let here = rest.iter().take_while(|o| place(o) == start).count();
            let alternatives = rest[..here]
                .iter()
                .filter_map(|o| self.entries.get(o.entry as usize))
                .map(|entry| &entry.alternatives[..])
                .max_by_key(|alternatives| alternatives.len())
                .unwrap_or_default();
            rest = &rest[here..];
            for &alternative in alternatives {
                let Some(alternative) = self.alternatives.get(alternative as usize) else { continue };
                match alternative.match_at(hay, start) {
                    Ok(Some(span)) => return Some(span),
                    Ok(None) => {}
                    // The whole pattern's first match here is the first of this alternative's
                    // and those after it, the ones before having failed.
                    Err(Unavailable) => match whole.match_at(hay, start) {
                        Ok(Some(span)) => return Some(span),
                        _ => break,
                    },
                }
            }
        }
        None
    }
}

/// The index of `literal` among the scanner's patterns, added (with no owners yet) if new.
fn literal_index(literals: &mut Vec<Vec<u8>>, owners: &mut Vec<Vec<u32>>, literal: Vec<u8>) -> usize {
    match literals.iter().position(|l| *l == literal) {
        Some(at) => at,
        None => {
            literals.push(literal);
            owners.push(Vec::new());
            literals.len() - 1
        }
    }
}

/// A rule's pattern as a dense DFA, with the same syntax and match semantics as its regex, or
/// `None` when it would exceed `DENSE_DFA_LIMIT`.
#[cfg(not(target_arch = "wasm32"))]
fn build_dense(pattern: &str, start: StartKind) -> Option<dense::DFA<Vec<u32>>> {
    dense::Builder::new()
        .syntax(syntax::Config::new().case_insensitive(true).unicode(false).utf8(false))
        .configure(
            dense::Config::new()
                .start_kind(start)
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .dfa_size_limit(Some(DENSE_DFA_LIMIT))
                .determinize_size_limit(Some(DENSE_DFA_LIMIT)),
        )
        .build(pattern)
        .ok()
}

/// No dense DFAs in the browser: it classifies one text at a time, and regex-automata's DFA
/// builder (which the meta regexes then also embed) would cost more download than its speed saves
/// there. The regexes, with their lazy DFAs, find the same matches.
#[cfg(target_arch = "wasm32")]
fn build_dense(_pattern: &str, _start: StartKind) -> Option<dense::DFA<Vec<u32>>> {
    None
}

/// Every text a pattern matches, in the order a leftmost-first search prefers them, when they are
/// few (`mailbox (is )?full`: `mailbox is full`, then `mailbox full`) and the pattern has no
/// look-around (which the literals cannot express). Anchored at a place, the pattern matches as
/// the first of them found there.
fn exact_literals(hir: &Hir) -> Option<Box<[Box<[u8]>]>> {
    if !hir.properties().look_set().is_empty() {
        return None;
    }
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_class(4).limit_repeat(2).limit_literal_len(256).limit_total(16);
    let seq = extractor.extract(hir);
    let literals = seq.literals()?;
    let exact = !literals.is_empty() && literals.iter().all(|l| l.is_exact() && !l.as_bytes().is_empty());
    exact.then(|| literals.iter().map(|l| l.as_bytes().into()).collect())
}

/// Whether a pattern sets flags inline (`(?i)`, `(?-i:...)`); any `(?` not opening a plain group
/// counts, which errs on the side of keeping the pattern whole.
fn has_inline_flags(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(at, _)| pattern.as_bytes().get(at + 2) != Some(&b':'))
}

/// One top-level alternative of a pattern, and the literals its matches start with.
struct Split {
    alternative: Alternative,
    prefixes: Vec<Vec<u8>>,
}

/// The top-level alternatives of a pattern (the pattern itself when it is no alternation), each
/// with the literals its matches start with; `None` when one of them has no useful set. A pattern
/// that sets flags inline (`(?-i:...)`) stays whole: its parse, made to find literals, drops the
/// flags, so neither an alternative printed from it nor its literals would match as the pattern
/// does.
fn alternatives_with_literals(hir: &Hir, pattern: &str) -> Option<Vec<Split>> {
    let alternatives: Vec<&Hir> = match hir.kind() {
        HirKind::Alternation(alternatives) => alternatives.iter().collect(),
        _ => vec![hir],
    };
    if has_inline_flags(pattern) {
        let mut prefixes = Vec::new();
        for alternative in alternatives {
            prefixes.extend(prefix_literals(alternative)?);
        }
        prefixes.sort();
        prefixes.dedup();
        let matcher = Matcher::new(pattern.to_owned(), StartKind::Anchored, hir.properties().maximum_len(), None);
        return Some(vec![Split { alternative: Alternative { literals: None, gap: None, matcher }, prefixes }]);
    }
    alternatives
        .into_iter()
        .map(|hir| {
            let prefixes = prefix_literals(hir)?;
            let matcher = Matcher::new(hir.to_string(), StartKind::Anchored, hir.properties().maximum_len(), None);
            Some(Split {
                alternative: Alternative { literals: exact_literals(hir), gap: Gap::of(hir), matcher },
                prefixes,
            })
        })
        .collect()
}

/// The literals that every match of `pattern` starts with (lower-cased, for a case-insensitive
/// search), or `None` when there is no short, finite set of them of useful length.
fn prefix_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_class(8).limit_repeat(3).limit_literal_len(MAX_LITERAL).limit_total(512);
    let seq = extractor.extract(hir);
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

    /// A rule without prefix literals is tried on every text; each built-in one costs every
    /// classification, so only the `*` rules (which a scope alone decides) may be one.
    #[test]
    fn every_builtin_pattern_has_prefix_literals() {
        let set = crate::classifier::builtin_rules().unwrap();
        let unfiltered: Vec<&str> = set
            .unfiltered
            .iter()
            .filter(|&&rule| set.patterns[rule].is_some())
            .map(|&rule| set.ids[rule].as_str())
            .collect();
        assert_eq!(unfiltered, Vec::<&str>::new());
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
    fn alternatives_checked_apart_find_what_the_whole_pattern_finds() {
        let patterns = [
            "abc.{0,5}z|abcd",
            "zzz x|abc",
            "user (is )?unknown|user unknown here|unknown user",
            "mailbox (is )?full|mailbox is full now|\\bfull mailbox",
            "(user|mailbox) .{0,10}(gone|dead)|mailbox gone",
            "over ?quota|quota (exceeded|full)|\\bquota\\b",
            "exceed(ed|s)?|quota (exceed|exceeded|full)",
            "(?-i:User Unknown)|mailbox (is )?full|(?-i)USER gone",
            "容量(が)?一杯|容量オーバー",
            "host [a-z0-9.-]+ not found|no such host",
        ];
        let texts = [
            "abcdz",
            "abcdy abcz",
            "abc zzz x",
            "xx USER unknown here, unknown user",
            "user is unknown",
            "the Mailbox is full now; mailbox full",
            "full mailbox; mailbox X is gone",
            "mailbox gone and user was dead",
            "quota exceeded, overquota, quota",
            "it exceeds; abc",
            "user unknown; User Unknown; user gone; USER gone",
            "容量が一杯です 容量オーバー",
            "host mx.example.com not found; host a b not found",
            "host mx.example.com said: no such host",
            "mailbox 0123456789Xgone; mailbox 0123456789gone",
            "",
        ];
        for pattern in patterns {
            let set = rules(&format!("[blocked]\nrule  {pattern}\n"));
            let whole = build_regex(pattern).unwrap();
            for text in texts {
                let expected = whole.find(text.as_bytes()).map(|m| m.range());
                let found = set.find(text, &MatchContext::default()).map(|hit| hit.span);
                assert_eq!(found, expected, "{pattern} in {text:?}");
            }
        }
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
