//! Failed-login throttling: after `MAX_FAILURES` failed sign-ins within `WINDOW`, from one client
//! address or for one username, further attempts are refused with 429 until the window passes.
//! Counting per username stops a distributed guess at one account; counting per address stops
//! one client from walking through many accounts. Kept in memory per replica: with several
//! replicas an attacker gets at most that many times the budget, which argon2's cost still bounds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(300);
const MAX_TRACKED: usize = 100_000;

#[derive(Default)]
pub struct LoginLimiter(Mutex<HashMap<String, (u32, Instant)>>);

fn keys(ip: IpAddr, username: &str) -> [String; 2] {
    [format!("ip:{ip}"), format!("user:{}", username.to_lowercase())]
}

impl LoginLimiter {
    /// `Some(wait)` when this attempt must be refused.
    pub fn check(&self, ip: IpAddr, username: &str) -> Option<Duration> {
        let map = self.0.lock().ok()?;
        keys(ip, username)
            .iter()
            .filter_map(|key| map.get(key))
            .filter(|(count, start)| *count >= MAX_FAILURES && start.elapsed() < WINDOW)
            .map(|(_, start)| WINDOW.saturating_sub(start.elapsed()))
            .max()
    }

    pub fn failed(&self, ip: IpAddr, username: &str) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, start)| start.elapsed() < WINDOW);
        }
        for key in keys(ip, username) {
            let entry = map.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&format!("user:{}", username.to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_is_refused_for_the_account_from_anywhere() {
        let limiter = LoginLimiter::default();
        let (a, b) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2]));
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(a, "Admin").is_none());
            limiter.failed(a, "Admin");
        }
        assert!(limiter.check(b, "admin").is_some(), "counted per account");
        assert!(limiter.check(a, "someone-else").is_some(), "counted per address");
        assert!(limiter.check(b, "someone-else").is_none());
    }
}
