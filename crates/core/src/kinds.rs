//! The reason → kind table: which reasons suppress an address, which retry, which are blocks.
//!
//! The default follows `Reason::default_kind`; staff may override any row (the server stores the
//! overrides and both the server and the console apply them). Whatever the table says, a transient
//! reply (4xx, 4.x.x) is never `hard`: the classifier demotes it to `soft`.

use std::collections::BTreeMap;

use crate::{Kind, Reason};

/// A complete reason → kind mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTable {
    kinds: [Kind; Reason::ALL.len()],
}

impl Default for KindTable {
    fn default() -> Self {
        let mut kinds = [Kind::Unknown; Reason::ALL.len()];
        for (slot, reason) in kinds.iter_mut().zip(Reason::ALL) {
            *slot = reason.default_kind();
        }
        Self { kinds }
    }
}

impl KindTable {
    /// The default table with `overrides` applied.
    pub fn with_overrides(overrides: &BTreeMap<Reason, Kind>) -> Self {
        let mut table = Self::default();
        for (reason, kind) in overrides {
            table.kinds[reason.index()] = *kind;
        }
        table
    }

    pub fn kind(&self, reason: Reason) -> Kind {
        self.kinds[reason.index()]
    }

    /// Every row, in reason order, for display and export.
    pub fn rows(&self) -> impl Iterator<Item = (Reason, Kind)> + '_ {
        Reason::ALL.iter().map(|r| (*r, self.kind(*r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_only_their_row() {
        let table = KindTable::with_overrides(&BTreeMap::from([(Reason::Filtered, Kind::Hard)]));
        assert_eq!(table.kind(Reason::Filtered), Kind::Hard);
        assert_eq!(table.kind(Reason::MailboxFull), Kind::Soft);
        assert_eq!(KindTable::default().kind(Reason::Filtered), Kind::Soft);
        assert_eq!(table.rows().count(), Reason::ALL.len());
    }
}
