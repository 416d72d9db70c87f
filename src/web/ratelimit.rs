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

    /// Whether `client` may try now; counts nothing.
    pub fn check(&self, client: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut s = self.state.lock().expect("rate limiter lock");
        if *s.1.current(now, self.window) >= self.global {
            return Err(Refusal::Everyone);
        }
        if *s.0.count(client, now) >= self.per_client {
            return Err(Refusal::Client);
        }
        Ok(())
    }

    /// Counts one failed attempt of `client`.
    pub fn failed(&self, client: IpAddr) {
        let now = Instant::now();
        let mut s = self.state.lock().expect("rate limiter lock");
        *s.0.count(client, now) += 1;
        *s.1.current(now, self.window) += 1;
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
            assert_eq!(f.check(ip(1)), Ok(()));
        }
        for _ in 0..3 {
            f.failed(ip(1));
        }
        assert_eq!(f.check(ip(1)), Err(Refusal::Client));
        assert_eq!(f.check(ip(2)), Ok(()), "another address is not affected");
        f.failed(ip(2));
        f.failed(ip(3));
        assert_eq!(f.check(ip(4)), Err(Refusal::Everyone), "5 failures in all");
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let f = Failures::new(1, 10, Duration::from_millis(50));
        f.failed(ip(1));
        assert_eq!(f.check(ip(1)), Err(Refusal::Client));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(f.check(ip(1)), Ok(()));
        let v = Volume::new(2, Duration::from_secs(60));
        assert!(v.allow(ip(1)) && v.allow(ip(1)) && !v.allow(ip(1)));
        assert!(v.allow(ip(2)));
    }
}
