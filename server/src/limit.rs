//! Failed-login throttling with growing delays, counted per (account, client address) and per
//! client address.
//!
//! - Per (account, address): after `PAIR_FREE` failures, each further attempt must wait, the
//!   wait doubling with each failure (1 s, 2 s, 4 s… up to `MAX_DELAY`). A guesser at one address
//!   slows to a crawl; the account's owner, signing in from another address, is not held up by the
//!   guesser's failures, so failed guesses are no lever to lock the owner out.
//! - Per address: after `ADDRESS_FREE` failures over any accounts, the same growing waits, so one
//!   client cannot walk through many accounts at full speed either.
//!
//! A refused attempt is not checked and not counted. Counts are forgotten `MAX_DELAY` after their
//! last failure; a successful sign-in clears its (account, address) count. Kept in memory per
//! replica: with several replicas a guesser gets at most that many times the budget, which
//! argon2's cost per attempt still bounds. A guess spread over many addresses meets each
//! address's budget and that cost, and never the owner's own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one account from one address before waits begin.
pub const PAIR_FREE: u32 = 5;
/// Failures from one address, over any accounts, before waits begin.
pub const ADDRESS_FREE: u32 = 20;
/// The first wait; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait, and how long after its last failure a count is forgotten.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
const MAX_TRACKED: usize = 100_000;

/// One key's failures.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    /// No attempt before this.
    blocked_until: Instant,
}

#[derive(Default)]
pub struct LoginLimiter(Mutex<HashMap<String, Failures>>);

fn pair_key(ip: IpAddr, username: &str) -> String {
    format!("pair:{ip}|{}", username.to_lowercase())
}

fn address_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// The wait after `count` failures when the first `free` cost nothing.
fn delay(count: u32, free: u32) -> Duration {
    match count.checked_sub(free) {
        None => Duration::ZERO,
        Some(over) => FIRST_DELAY.saturating_mul(1u32 << over.min(16)).min(MAX_DELAY),
    }
}

impl LoginLimiter {
    /// `Some(wait)` when this attempt must be refused.
    pub fn check(&self, ip: IpAddr, username: &str) -> Option<Duration> {
        let map = self.0.lock().ok()?;
        let now = Instant::now();
        [pair_key(ip, username), address_key(ip)]
            .iter()
            .filter_map(|key| map.get(key))
            .map(|f| f.blocked_until.saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    pub fn failed(&self, ip: IpAddr, username: &str) {
        let Ok(mut map) = self.0.lock() else { return };
        let now = Instant::now();
        if map.len() >= MAX_TRACKED {
            map.retain(|_, f| now.duration_since(f.last) < MAX_DELAY);
        }
        for (key, free) in [(pair_key(ip, username), PAIR_FREE), (address_key(ip), ADDRESS_FREE)] {
            let entry = map.entry(key).or_insert(Failures { count: 0, last: now, blocked_until: now });
            if now.duration_since(entry.last) >= MAX_DELAY {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            entry.blocked_until = now + delay(entry.count, free);
        }
    }

    /// A successful sign-in clears the count of its account from its address.
    pub fn succeeded(&self, ip: IpAddr, username: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&pair_key(ip, username));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_begin_after_the_free_failures_and_double() {
        assert_eq!(delay(PAIR_FREE - 1, PAIR_FREE), Duration::ZERO);
        assert_eq!(delay(PAIR_FREE, PAIR_FREE), Duration::from_secs(1));
        assert_eq!(delay(PAIR_FREE + 3, PAIR_FREE), Duration::from_secs(8));
        assert_eq!(delay(PAIR_FREE + 40, PAIR_FREE), MAX_DELAY);
    }

    #[test]
    fn a_guesser_slows_down_without_locking_the_owner_out() {
        let limiter = LoginLimiter::default();
        let (guesser, owner) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([198, 51, 100, 7]));
        for _ in 0..PAIR_FREE - 1 {
            limiter.failed(guesser, "Admin");
            assert!(limiter.check(guesser, "admin").is_none());
        }
        limiter.failed(guesser, "Admin");
        let wait = limiter.check(guesser, "admin").expect("the guesser waits");
        assert!(wait <= Duration::from_secs(1) && !wait.is_zero(), "{wait:?}");
        assert!(limiter.check(owner, "admin").is_none(), "the owner, elsewhere, is not held up");
        assert!(limiter.check(guesser, "someone-else").is_none(), "another account from there is not yet");
        limiter.succeeded(owner, "admin");
        assert!(limiter.check(guesser, "admin").is_some(), "the owner's sign-in clears only its own count");
    }

    #[test]
    fn one_address_walking_through_accounts_waits_too() {
        let limiter = LoginLimiter::default();
        let walker = IpAddr::from([192, 0, 2, 9]);
        for i in 0..ADDRESS_FREE {
            assert!(limiter.check(walker, &format!("user{i}")).is_none());
            limiter.failed(walker, &format!("user{i}"));
        }
        assert!(limiter.check(walker, "anyone").is_some());
        assert!(limiter.check(IpAddr::from([192, 0, 2, 10]), "anyone").is_none());
    }
}
