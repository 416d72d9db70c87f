//! Limits kept in memory, per node, in fixed windows.
//!
//! [`Volume`] counts every request of a client address (the sign-in form:
//! sending a link costs a thread and a database lookup). [`Failures`]
//! counts only failed attempts (paper codes): people who share a device or
//! a public address (a staff meeting on one tablet, a municipality behind
//! one NAT address) never use up each other's attempts with valid codes,
//! while guessing stays bounded per address and, across all addresses, by a
//! global ceiling. With several app nodes each node counts separately.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A window's count for one key.
#[derive(Clone, Copy)]
struct Count {
    since: Instant,
    n: u32,
}

impl Count {
    fn current(&mut self, now: Instant, window: Duration) -> &mut u32 {
        if now.duration_since(self.since) >= window {
            *self = Count { since: now, n: 0 };
        }
        &mut self.n
    }
}

/// Counts per client address in one window; forgets old windows when the
/// table grows large.
struct PerClient {
    window: Duration,
    seen: HashMap<IpAddr, Count>,
}

impl PerClient {
    fn count(&mut self, client: IpAddr, now: Instant) -> &mut u32 {
        if self.seen.len() > 100_000 {
            let window = self.window;
            self.seen
                .retain(|_, c| now.duration_since(c.since) < window);
        }
        self.seen
            .entry(client)
            .or_insert(Count { since: now, n: 0 })
            .current(now, self.window)
    }
}

/// Every request counts.
pub struct Volume {
    max: u32,
    state: Mutex<PerClient>,
}

impl Volume {
    pub fn new(max: u32, window: Duration) -> Volume {
        Volume {
            max,
            state: Mutex::new(PerClient {
                window,
                seen: HashMap::new(),
            }),
        }
    }

    /// Counts one request; false when the client is over the limit.
    pub fn allow(&self, client: IpAddr) -> bool {
        let mut s = self.state.lock().expect("rate limiter lock");
        let n = s.count(client, Instant::now());
        *n += 1;
        *n <= self.max
    }
}

/// Why an attempt is refused before it is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address has failed too often in the window.
    Client,
    /// All addresses together have failed too often in the window.
    Everyone,
}

/// Only failures count: per client address, and all together.
pub struct Failures {
    per_client: u32,
    global: u32,
    window: Duration,
    state: Mutex<(PerClient, Count)>,
}

impl Failures {
    pub fn new(per_client: u32, global: u32, window: Duration) -> Failures {
        Failures {
            per_client,
            global,
            window,
            state: Mutex::new((
                PerClient {
                    window,
                    seen: HashMap::new(),
                },
                Count {
                    since: Instant::now(),
                    n: 0,
                },
            )),
        }
    }

    /// Starts an attempt of `client`: refused when the address or everyone
    /// has failed too often, else counted as a failure at once, until
    /// [`Attempt::succeeded`] takes it back. Counting before the attempt is
    /// tried keeps the ceilings hard: attempts in flight at the same moment
    /// cannot all pass a check that none of them has counted in yet.
    pub fn begin(&self, client: IpAddr) -> Result<Attempt<'_>, Refusal> {
        let now = Instant::now();
        let mut s = self.state.lock().expect("rate limiter lock");
        if *s.1.current(now, self.window) >= self.global {
            return Err(Refusal::Everyone);
        }
        if *s.0.count(client, now) >= self.per_client {
            return Err(Refusal::Client);
        }
        *s.0.count(client, now) += 1;
        *s.1.current(now, self.window) += 1;
        Ok(Attempt {
            limits: self,
            client,
        })
    }
}

/// An attempt counted as failed until it [`succeeded`](Attempt::succeeded).
#[must_use = "an attempt counts as failed unless it succeeded"]
pub struct Attempt<'a> {
    limits: &'a Failures,
    client: IpAddr,
}

impl Attempt<'_> {
    /// The attempt did not fail (a valid code, or input that cannot be a
    /// code): it no longer counts.
    pub fn succeeded(self) {
        let now = Instant::now();
        let mut s = self.limits.state.lock().expect("rate limiter lock");
        let n = s.0.count(self.client, now);
        *n = n.saturating_sub(1);
        let all = s.1.current(now, self.limits.window);
        *all = all.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn successes_never_count_and_failures_do() {
        let f = Failures::new(3, 5, Duration::from_secs(60));
        for _ in 0..100 {
            f.begin(ip(1)).unwrap().succeeded();
        }
        for _ in 0..3 {
            let _failed = f.begin(ip(1)).unwrap();
        }
        assert_eq!(f.begin(ip(1)).err(), Some(Refusal::Client));
        let _failed = f.begin(ip(2)).expect("another address is not affected");
        let _failed = f.begin(ip(3)).unwrap();
        assert_eq!(
            f.begin(ip(4)).err(),
            Some(Refusal::Everyone),
            "5 failures in all"
        );
    }

    #[test]
    fn attempts_in_flight_count_before_they_are_tried() {
        let f = Failures::new(3, 100, Duration::from_secs(60));
        // Three attempts under way at once, none finished: a fourth waits.
        let a = f.begin(ip(1)).unwrap();
        let b = f.begin(ip(1)).unwrap();
        let _c = f.begin(ip(1)).unwrap();
        assert_eq!(f.begin(ip(1)).err(), Some(Refusal::Client));
        // Two of them turn out valid: room for two more.
        a.succeeded();
        b.succeeded();
        let _d = f.begin(ip(1)).unwrap();
        let _e = f.begin(ip(1)).unwrap();
        assert_eq!(f.begin(ip(1)).err(), Some(Refusal::Client));
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let f = Failures::new(1, 10, Duration::from_millis(50));
        let _failed = f.begin(ip(1)).unwrap();
        assert_eq!(f.begin(ip(1)).err(), Some(Refusal::Client));
        std::thread::sleep(Duration::from_millis(60));
        assert!(f.begin(ip(1)).is_ok());
        let v = Volume::new(2, Duration::from_secs(60));
        assert!(v.allow(ip(1)) && v.allow(ip(1)) && !v.allow(ip(1)));
        assert!(v.allow(ip(2)));
    }
}
