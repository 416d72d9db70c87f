//! A fixed-window limit per client address, kept in memory. With several
//! app nodes each node counts separately, so the effective limit is the
//! per-node limit times the nodes: still far below what guessing a 55-bit
//! code needs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt; false when the client is over the limit.
    pub fn allow(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("rate limiter lock");
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }
}
