//! The counters Rebound keeps per 5-minute bucket, and the rates read from them.
//!
//! A rate needs the number of attempts as its denominator, never the number of bounces. Senders
//! report attempts in bulk (`sent`, per provider and campaign) or event by event (every delivery
//! and every bounce is the outcome of an attempt). Rebound takes the larger of the two, so a sender
//! reporting both is not counted twice and a sender reporting only outcomes still gets a true
//! denominator.

use serde::{Deserialize, Serialize};

/// The resolution of the stored time series.
pub const BUCKET_SECONDS: i64 = 300;

/// The start of the bucket a time falls in.
pub fn bucket_of(at: i64) -> i64 {
    at.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS
}

/// Events of one bucket (or a sum of buckets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Attempts reported in bulk.
    pub sent: u64,
    pub delivered: u64,
    pub hard: u64,
    pub soft: u64,
    pub block: u64,
    pub complaint: u64,
    pub unsubscribe: u64,
    /// Soft bounces that began an episode (the address had no soft bounce since its last delivery).
    pub soft_started: u64,
    /// Deliveries that ended an episode: a retry that worked.
    pub soft_recovered: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.hard += other.hard;
        self.soft += other.soft;
        self.block += other.block;
        self.complaint += other.complaint;
        self.unsubscribe += other.unsubscribe;
        self.soft_started += other.soft_started;
        self.soft_recovered += other.soft_recovered;
    }

    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }

    /// Attempts: the bulk count, or the outcomes seen, whichever is larger.
    pub fn attempts(&self) -> u64 {
        self.sent.max(self.delivered + self.hard + self.soft + self.block)
    }

    pub fn rates(&self) -> Rates {
        let attempts = self.attempts();
        let percent = |n: u64| if attempts == 0 { 0.0 } else { n as f64 * 100.0 / attempts as f64 };
        Rates {
            attempts,
            bounce_rate: percent(self.hard + self.soft),
            hard_rate: percent(self.hard),
            soft_rate: percent(self.soft),
            block_rate: percent(self.block),
            complaint_rate: percent(self.complaint),
            retry_success_rate: (self.soft_started > 0)
                .then(|| (self.soft_recovered as f64 * 100.0 / self.soft_started as f64).min(100.0)),
        }
    }
}

/// Rates in percent of attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub attempts: u64,
    /// Hard and soft bounces (blocks are the sender's problem and counted apart).
    pub bounce_rate: f64,
    pub hard_rate: f64,
    pub soft_rate: f64,
    pub block_rate: f64,
    pub complaint_rate: f64,
    /// Of the soft-bounce episodes begun, the share that ended in a delivery; none without any.
    pub retry_success_rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_five_minutes() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(299), 0);
        assert_eq!(bucket_of(300), 300);
        assert_eq!(bucket_of(-1), -300);
    }

    #[test]
    fn rates_divide_by_attempts_not_by_bounces() {
        let c = Counts { sent: 1000, hard: 20, soft: 10, block: 5, ..Counts::default() };
        let r = c.rates();
        assert_eq!(r.attempts, 1000);
        assert!((r.bounce_rate - 3.0).abs() < 1e-9);
        assert!((r.hard_rate - 2.0).abs() < 1e-9);
        assert!((r.block_rate - 0.5).abs() < 1e-9);
        assert_eq!(r.retry_success_rate, None);
    }

    #[test]
    fn outcomes_stand_in_for_attempts_when_no_sends_are_reported() {
        let c = Counts { delivered: 90, hard: 10, ..Counts::default() };
        assert_eq!(c.attempts(), 100);
        assert!((c.rates().hard_rate - 10.0).abs() < 1e-9);
        let both = Counts { sent: 100, delivered: 95, hard: 5, ..Counts::default() };
        assert_eq!(both.attempts(), 100, "a sender reporting sends and outcomes is not counted twice");
    }

    #[test]
    fn retry_success_is_recovered_episodes_over_started_ones() {
        let c = Counts { soft: 6, soft_started: 4, soft_recovered: 3, ..Counts::default() };
        assert_eq!(c.rates().retry_success_rate, Some(75.0));
    }

    #[test]
    fn no_attempts_means_zero_rates() {
        assert_eq!(Counts::default().rates().bounce_rate, 0.0);
    }
}
