//! Every built-in rule has a sample reply, and each sample is decided by its rule: a rule that an
//! earlier one shadows, or whose pattern stops matching what it was written for, fails here.

use std::collections::BTreeSet;

use rebound_core::{Classifier, builtin_rules};

const SAMPLES: &str = include_str!("rule_samples.txt");

fn samples() -> Vec<(&'static str, &'static str)> {
    SAMPLES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').unwrap_or_else(|| panic!("sample line without a tab: {l}")))
        .collect()
}

#[test]
fn every_builtin_rule_has_a_sample() {
    let rules = builtin_rules().expect("the built-in rules compile");
    let sampled: BTreeSet<&str> = samples().into_iter().map(|(id, _)| id).collect();
    let missing: Vec<&str> = rules.ids().filter(|id| !sampled.contains(id)).collect();
    assert!(missing.is_empty(), "rules without a sample: {missing:?}");
    let unknown: Vec<&&str> = sampled.iter().filter(|id| !rules.ids().any(|r| r == **id)).collect();
    assert!(unknown.is_empty(), "samples for rules that do not exist: {unknown:?}");
}

#[test]
fn each_sample_is_decided_by_its_rule() {
    let classifier = Classifier::builtin();
    let wrong: Vec<String> = samples()
        .into_iter()
        .filter_map(|(id, reply)| {
            let verdict = classifier.classify_reply(reply);
            (verdict.rule != id).then(|| format!("{id}: `{reply}` was decided by {}", verdict.rule))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
