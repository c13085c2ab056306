//! Finding every occurrence of a set of literals in a text, ASCII case-insensitively, in one pass:
//! the rule sets' scanner for their rules' prefix literals and the SMTP command phrases.
//!
//! An Aho-Corasick automaton, built here as a full DFA laid out for the cache rather than taken
//! from the `aho-corasick` crate, whose DFA rows are a power of two wide. The built-in rules give
//! ~1,300 literals of up to 24 bytes over ~150 byte classes there (upper and lower case apart), so
//! each state's row was 1 KB, and a row's entry for one byte sat at the same offset in every row:
//! the transitions on, say, `e` of all states competed for 4 of the first-level cache's 64 sets.
//! In a cache simulation about two steps in five missed that cache, each step waiting on the one
//! before: about 17 cycles a byte, 45% of a reply's time. Here upper and lower case share a class,
//! bytes that occur in no literal share one, and a row is exactly as wide as the classes, so rows
//! start at every offset; states are numbered breadth first (the shallow states, where a walk
//! spends most of its steps, sit together), except that the states where literals end come last,
//! so that one comparison tells whether a step found something. The layout alone made the scan
//! about a quarter faster; walking a longer text in interleaved parts (`for_each`) did about as
//! much again.

use std::collections::VecDeque;

/// Where every literal of a set occurs in a text. Literals are matched with ASCII letters in
/// either case; other bytes exactly.
#[derive(Debug)]
pub(crate) struct LiteralSet {
    /// The class of each byte.
    classes: [u8; 256],
    /// The transitions: state `s`'s row is `next[s..=s + column]` (state ids are premultiplied by the
    /// row's width), its entry for class `c` the state after a byte of that class. The row's last
    /// entry, at `column`, is for match states where their list in `hits` starts.
    next: Box<[u32]>,
    /// States from this id on are those where at least one literal ends.
    first_match: u32,
    column: u32,
    /// For each match state, the tags of the literals that end there with their lengths, and an
    /// `END` entry: what a match reports, in one place.
    hits: Box<[Hit]>,
    /// The longest literal's length.
    max_len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    tag: u32,
    len: u32,
}

/// The tag that ends a match state's list of hits.
const END: u32 = u32::MAX;

/// Most transitions a set may hold (64 MB): a staff rule set of thousands of long alternations
/// is refused rather than allowed to take the server's memory.
const MAX_TRANSITIONS: usize = 1 << 24;

/// Why a set of literals could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LiteralError {
    #[error("literal {index} is empty")]
    Empty { index: usize },
    #[error("the literals need more than {MAX_TRANSITIONS} transitions")]
    TooLarge,
}

impl LiteralSet {
    /// The set of `literals`, each reported with each of its `tags` (`tags[i]` for `literals[i]`;
    /// `u32::MAX` is reserved).
    pub(crate) fn new(literals: &[Vec<u8>], tags: &[Vec<u32>]) -> Result<Self, LiteralError> {
        if let Some(index) = literals.iter().position(Vec::is_empty) {
            return Err(LiteralError::Empty { index });
        }
        let classes = byte_classes(literals);
        let stride = usize::from(classes.iter().copied().max().unwrap_or(0)) + 1;
        let nodes = 1 + literals.iter().map(Vec::len).sum::<usize>();
        if nodes.saturating_mul(stride + 1) > MAX_TRANSITIONS {
            return Err(LiteralError::TooLarge);
        }
        let trie = Trie::new(literals, &classes, stride);
        let (order, transitions, outputs) = trie.into_dfa();
        // Renumber: breadth-first order, states without output first.
        let mut ranked: Vec<usize> = order.iter().copied().filter(|&s| outputs[s].is_empty()).collect();
        let quiet = ranked.len();
        ranked.extend(order.iter().copied().filter(|&s| !outputs[s].is_empty()));
        let mut id = vec![0u32; ranked.len()];
        let width = stride + 1;
        for (rank, &state) in ranked.iter().enumerate() {
            id[state] = (rank * width) as u32;
        }
        let mut next = Vec::with_capacity(ranked.len() * width);
        let mut hits = Vec::new();
        for &state in &ranked {
            next.extend(transitions[state * stride..][..stride].iter().map(|&to| id[to as usize]));
            next.push(hits.len() as u32);
            if !outputs[state].is_empty() {
                for &literal in &outputs[state] {
                    let len = literals[literal].len() as u32;
                    hits.extend(tags.get(literal).into_iter().flatten().map(|&tag| Hit { tag, len }));
                }
                hits.push(Hit { tag: END, len: 0 });
            }
        }
        Ok(Self {
            classes,
            next: next.into_boxed_slice(),
            first_match: (quiet * width) as u32,
            column: stride as u32,
            hits: hits.into_boxed_slice(),
            max_len: literals.iter().map(Vec::len).max().unwrap_or(0),
        })
    }

    /// Calls `found(tag, start)` for every tag of every occurrence of every literal in `hay`,
    /// overlapping occurrences included.
    ///
    /// Each step of a walk waits for the one before (its table read depends on the state the step
    /// before yields), so a text long enough is walked in two or four parts at once: their steps
    /// interleave and the processor overlaps their waits.
    #[inline]
    pub(crate) fn for_each(&self, hay: &[u8], mut found: impl FnMut(u32, usize)) {
        let overlap = self.max_len.saturating_sub(1);
        let shortest_part = overlap + 8;
        if hay.len() >= 4 * shortest_part {
            self.interleaved::<4>(hay, overlap, &mut found);
        } else if hay.len() >= 2 * shortest_part {
            self.interleaved::<2>(hay, overlap, &mut found);
        } else {
            self.walk(hay, 0, 0, &mut found);
        }
    }

    /// `K` walks in step, the `k`-th over the `k`-th of `K` parts of the text. Each walk covers
    /// `overlap` bytes (a literal's length, less one) more than its part: the first the start of
    /// the second part, where it reports nothing; the others the end of the part before theirs,
    /// from which they are in the right state at their part's start. Each reports only what ends
    /// inside its own part. The last walks the few bytes the parts leave at the end on its own.
    fn interleaved<const K: usize>(&self, hay: &[u8], overlap: usize, found: &mut impl FnMut(u32, usize)) {
        let part = hay.len() / K;
        let len = part + overlap;
        let starts: [usize; K] = std::array::from_fn(|k| if k == 0 { 0 } else { k * part - overlap });
        let walks: [&[u8]; K] = std::array::from_fn(|k| &hay[starts[k]..starts[k] + len]);
        let mut states = [0u32; K];
        let (next, classes, first_match) = (&*self.next, &self.classes, self.first_match);
        for i in 0..len {
            let mut any = false;
            for k in 0..K {
                let class = classes[usize::from(walks[k][i])];
                states[k] = next[(states[k] + u32::from(class)) as usize];
                any |= states[k] >= first_match;
            }
            if any {
                for k in 0..K {
                    let own = if k == 0 { i < part } else { i >= overlap };
                    if states[k] >= first_match && own {
                        self.report(states[k], starts[k] + i + 1, found);
                    }
                }
            }
        }
        self.walk(hay, K * part, states[K - 1], found);
    }

    /// Walks `hay` from `at` in `state`, reporting what ends after `at`.
    fn walk(&self, hay: &[u8], mut at: usize, mut state: u32, found: &mut impl FnMut(u32, usize)) {
        while let Some(end) = self.advance(hay, &mut at, &mut state) {
            self.report(state, end, found);
        }
    }

    /// Walks from `at` to the next state where literals end, leaving `at` and `state` there and
    /// returning the end offset; `None` at the end of the text. Small enough to keep everything in
    /// registers, and eight bytes a round with one end check.
    fn advance(&self, hay: &[u8], at: &mut usize, state: &mut u32) -> Option<usize> {
        let (next, classes, first_match) = (&*self.next, &self.classes, self.first_match);
        let (mut current, mut i) = (*state, *at);
        let mut step = |byte: u8| {
            current = next[(current + u32::from(classes[usize::from(byte)])) as usize];
            current >= first_match
        };
        while let Some(round) = hay.get(i..i + 8).and_then(|c| <&[u8; 8]>::try_from(c).ok()) {
            for (k, &byte) in round.iter().enumerate() {
                if step(byte) {
                    (*at, *state) = (i + k + 1, current);
                    return Some(i + k + 1);
                }
            }
            i += 8;
        }
        while let Some(&byte) = hay.get(i) {
            i += 1;
            if step(byte) {
                (*at, *state) = (i, current);
                return Some(i);
            }
        }
        *at = i;
        None
    }

    /// The tags of the literals that end at `end` in match state `state`.
    fn report(&self, state: u32, end: usize, found: &mut impl FnMut(u32, usize)) {
        let first = self.next[(state + self.column) as usize] as usize;
        for hit in self.hits[first..].iter().take_while(|hit| hit.tag != END) {
            found(hit.tag, end - hit.len as usize);
        }
    }

    /// Bytes of memory the set holds.
    pub(crate) fn memory_usage(&self) -> usize {
        self.classes.len() + self.next.len() * 4 + std::mem::size_of_val(&*self.hits)
    }
}

/// Classes of bytes: one for each byte that occurs in a literal (upper and lower case ASCII
/// letters together), and class 0 for all the others, which no literal can continue with.
fn byte_classes(literals: &[Vec<u8>]) -> [u8; 256] {
    let mut used = [false; 256];
    for &byte in literals.iter().flatten() {
        used[usize::from(byte.to_ascii_lowercase())] = true;
    }
    let mut classes = [0u8; 256];
    let mut count = 0u8;
    for byte in 0..=255u8 {
        if used[usize::from(byte)] && !byte.is_ascii_uppercase() {
            count += 1;
            classes[usize::from(byte)] = count;
        }
    }
    for upper in b'A'..=b'Z' {
        classes[usize::from(upper)] = classes[usize::from(upper.to_ascii_lowercase())];
    }
    classes
}

/// The literals' trie, from which the DFA is built.
struct Trie {
    /// `child[node * stride + class]`: the child on that class, or `NONE`.
    child: Vec<u32>,
    /// The literals that end at each node.
    ends: Vec<Vec<usize>>,
    stride: usize,
}

const NONE: u32 = u32::MAX;

impl Trie {
    fn new(literals: &[Vec<u8>], classes: &[u8; 256], stride: usize) -> Self {
        let mut trie = Trie { child: vec![NONE; stride], ends: vec![Vec::new()], stride };
        for (index, literal) in literals.iter().enumerate() {
            let mut node = 0;
            for &byte in literal {
                let slot = node * stride + usize::from(classes[usize::from(byte)]);
                if trie.child[slot] == NONE {
                    trie.child[slot] = trie.ends.len() as u32;
                    trie.child.extend(std::iter::repeat_n(NONE, stride));
                    trie.ends.push(Vec::new());
                }
                node = trie.child[slot] as usize;
            }
            trie.ends[node].push(index);
        }
        trie
    }

    /// The DFA: its states in breadth-first order, every state's full row of transitions (node
    /// numbers), and the literals that end at each state (its own and those of its suffixes).
    fn into_dfa(self) -> (Vec<usize>, Vec<u32>, Vec<Vec<usize>>) {
        let Trie { child, mut ends, stride } = self;
        let mut next = child.clone();
        let mut fail = vec![0usize; ends.len()];
        let mut order = Vec::with_capacity(ends.len());
        let mut queue = VecDeque::from([0usize]);
        while let Some(node) = queue.pop_front() {
            order.push(node);
            for class in 0..stride {
                let slot = node * stride + class;
                let via_fail = if node == 0 { 0 } else { next[fail[node] * stride + class] };
                match child[slot] {
                    NONE => next[slot] = via_fail,
                    to => {
                        let to = to as usize;
                        fail[to] = via_fail as usize;
                        let inherited = ends[fail[to]].clone();
                        ends[to].extend(inherited);
                        queue.push_back(to);
                    }
                }
            }
        }
        (order, next, ends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occurrences(literals: &[&str], text: &str) -> Vec<(usize, usize)> {
        let bytes: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
        let tags: Vec<Vec<u32>> = (0..literals.len() as u32).map(|i| vec![i]).collect();
        let set = LiteralSet::new(&bytes, &tags).unwrap();
        let mut found = Vec::new();
        set.for_each(text.as_bytes(), |literal, start| found.push((literal as usize, start)));
        found.sort();
        found
    }

    #[test]
    fn finds_every_occurrence_in_either_case_overlaps_included() {
        let found = occurrences(&["user unknown", "unknown", "USER", "nkno"], "User Unknown; user unknown.");
        assert_eq!(found, [(0, 0), (0, 14), (1, 5), (1, 19), (2, 0), (2, 14), (3, 6), (3, 20)]);
    }

    #[test]
    fn literals_that_are_suffixes_and_prefixes_of_others() {
        assert_eq!(occurrences(&["abcd", "bc", "abc", "c"], "xabcd"), [(0, 1), (1, 2), (2, 1), (3, 3)]);
        assert_eq!(occurrences(&["aaa"], "aaaaa"), [(0, 0), (0, 1), (0, 2)]);
        assert_eq!(occurrences(&["abc"], "ab"), []);
    }

    #[test]
    fn bytes_beyond_ascii_are_matched_exactly() {
        let japanese = "宛先不明";
        assert_eq!(occurrences(&[japanese], &format!("550 {japanese}")), [(0, 4)]);
        assert_eq!(occurrences(&["é!x"], "É!x"), []);
    }

    #[test]
    fn an_empty_literal_is_refused() {
        let err = LiteralSet::new(&[b"abc".to_vec(), Vec::new()], &[]).err();
        assert_eq!(err, Some(LiteralError::Empty { index: 1 }));
    }

    #[test]
    fn a_set_too_large_is_refused_before_it_is_built() {
        let literals: Vec<Vec<u8>> =
            (0..1500u32).map(|i| (0..100).map(|j| (i * 7 + j) as u8 | 0x80).collect()).collect();
        assert_eq!(LiteralSet::new(&literals, &[]).err(), Some(LiteralError::TooLarge));
    }

    /// Hundreds of literals sharing prefixes and suffixes (ASCII in both cases, and UTF-8), over
    /// texts of every length up to a few hundred bytes, against the `aho-corasick` crate's
    /// overlapping search: the same occurrences, no more, no fewer.
    #[test]
    fn finds_what_the_aho_corasick_crate_finds() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let pieces = ["a", "b", "C", "d", " ", ".", "é", "不"];
        let mut literals: Vec<String> =
            (0..400).map(|_| (0..1 + next(12)).map(|_| pieces[next(8) as usize]).collect()).collect();
        literals.sort();
        literals.dedup();
        let oracle = aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(&literals).unwrap();
        for len in 0..300 {
            let text: String = (0..len).map(|_| pieces[next(8) as usize]).collect();
            let literal_refs: Vec<&str> = literals.iter().map(String::as_str).collect();
            let mut expected: Vec<(usize, usize)> =
                oracle.find_overlapping_iter(&text).map(|m| (m.pattern().as_usize(), m.start())).collect();
            expected.sort();
            assert_eq!(occurrences(&literal_refs, &text), expected, "{text:?}");
        }
    }

    /// Texts long enough to be walked in two and in four parts, with literals straddling every
    /// part boundary, against a plain search at every position.
    #[test]
    fn walks_in_parts_find_what_a_plain_search_finds() {
        let literals = ["ab", "abab", "bba", "abcabcabc", "c", "cab", "aaaaaaaaaaaaaaaaaaaaaa"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in (0..400).step_by(7) {
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ['a', 'b', 'c', 'A', ' '][(seed % 5) as usize]
                })
                .collect();
            let mut expected = Vec::new();
            for (index, literal) in literals.iter().enumerate() {
                for start in 0..text.len() {
                    if text.as_bytes()[start..].len() >= literal.len()
                        && text.as_bytes()[start..start + literal.len()].eq_ignore_ascii_case(literal.as_bytes())
                    {
                        expected.push((index, start));
                    }
                }
            }
            expected.sort();
            assert_eq!(occurrences(&literals, &text), expected, "{text:?}");
        }
    }
}
