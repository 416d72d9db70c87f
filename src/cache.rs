//! The service's one cache: what it reads often and parses at a cost
//! (a round's snapshot and its scores, a round's questionnaires, the empty
//! first page of a questionnaire, an AMU analysis). It lives in the
//! application state, so each service (and each test's service) has its
//! own, over its own database; entries are keyed by what they were made
//! from, revision included, so a stale entry is never found, only aged
//! out. Bounded by entries and by bytes (least recently used goes first),
//! with hit and miss counts to read.
//!
//! Commands and tests that run domain functions without a service pass
//! [`Cache::none`], which keeps nothing.

use crate::ids::RoundId;
use crate::lang::Lang;
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What an entry was made from. A round's id is random, its revision
/// counts every change of its snapshot (raising k), and the absence
/// revision every change of what an analysis reads beside its round's
/// snapshot (`db::absence_series::bump_revision`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Snapshot {
        round: RoundId,
        revision: i32,
    },
    Scores {
        round: RoundId,
        revision: i32,
    },
    /// A round's questionnaires, stored at its creation, never changed.
    Surveys {
        round: RoundId,
    },
    /// The questionnaire's first page, empty, for a round as it is now
    /// (`round_stamp`: a hash of the round's row) in one language.
    FirstPage {
        round: RoundId,
        round_stamp: u64,
        lang: Lang,
    },
    Analysis {
        round: RoundId,
        revision: i32,
        window: String,
        level: Option<u32>,
        lang: Lang,
        /// The revision of the absence data, the targets, the national
        /// rates, the unit tree and the previous round's k
        /// (`db::absence_series::revision`).
        absence: i64,
    },
}

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    bytes: usize,
    clock: u64,
}

pub struct Cache {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The counts [`Cache::stats`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// The service's default bounds: a few hundred entries, 256 MB. A
/// 50 000-employee snapshot weighs ~12 MB as text.
pub const DEFAULT_ENTRIES: usize = 512;
pub const DEFAULT_BYTES: usize = 256 * 1024 * 1024;

impl Default for Cache {
    fn default() -> Cache {
        Cache::new(DEFAULT_ENTRIES, DEFAULT_BYTES)
    }
}

impl Cache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Cache {
        Cache {
            inner: Mutex::new(Inner::default()),
            max_entries,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that keeps nothing: for one-off commands and tests.
    pub fn none() -> Cache {
        Cache::new(0, 0)
    }

    /// The entry for `key`, if there is one of type `T`.
    pub fn get<T: Any + Send + Sync>(&self, key: &Key) -> Option<Arc<T>> {
        let mut inner = self.inner.lock().expect("cache lock");
        inner.clock += 1;
        let now = inner.clock;
        let found = inner.map.get_mut(key).and_then(|e| {
            e.used = now;
            e.value.clone().downcast::<T>().ok()
        });
        match &found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Keeps `value` (weighing about `bytes`) under `key`, making room by
    /// dropping the least recently used entries. A value heavier than the
    /// whole cache is not kept.
    pub fn insert<T: Any + Send + Sync>(&self, key: Key, value: Arc<T>, bytes: usize) {
        if self.max_entries == 0 || bytes > self.max_bytes {
            return;
        }
        let mut inner = self.inner.lock().expect("cache lock");
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.map.insert(key, Entry { value, bytes, used }) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.map.len() > self.max_entries || inner.bytes > self.max_bytes {
            let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.bytes;
            }
        }
    }

    /// The entry for `key`, or else what `make` gives (with its weight),
    /// kept for next time.
    pub fn get_or_try<T: Any + Send + Sync, E>(
        &self,
        key: Key,
        make: impl FnOnce() -> Result<(T, usize), E>,
    ) -> Result<Arc<T>, E> {
        if let Some(v) = self.get::<T>(&key) {
            return Ok(v);
        }
        let (value, bytes) = make()?;
        let value = Arc::new(value);
        self.insert(key, value.clone(), bytes);
        Ok(value)
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock().expect("cache lock");
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: inner.map.len(),
            bytes: inner.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> Key {
        Key::Surveys {
            round: RoundId::from(n.to_string()),
        }
    }

    #[test]
    fn hits_misses_and_the_bounds_hold() {
        let c = Cache::new(3, 100);
        assert!(c.get::<String>(&key(1)).is_none()); // miss 1
        c.insert(key(1), Arc::new("one".to_string()), 10);
        assert_eq!(*c.get::<String>(&key(1)).unwrap(), "one"); // hit 1
        assert!(c.get::<u32>(&key(1)).is_none(), "another type is a miss"); // miss 2
        c.insert(key(2), Arc::new(2usize), 10);
        c.insert(key(3), Arc::new(3usize), 10);
        assert!(c.get::<String>(&key(1)).is_some()); // hit 2: 1 is now newer than 2
        c.insert(key(4), Arc::new(4usize), 10);
        let s = c.stats();
        assert_eq!((s.entries, s.bytes), (3, 30), "at most three entries");
        assert!(
            c.get::<usize>(&key(2)).is_none(),
            "the least recently used went"
        ); // miss 3
        assert!(c.get::<String>(&key(1)).is_some()); // hit 3
        c.insert(key(5), Arc::new(5usize), 95);
        let s = c.stats();
        assert!(s.bytes <= 100 && s.entries == 1, "{s:?}");
        c.insert(key(6), Arc::new(6usize), 101);
        assert!(c.get::<usize>(&key(6)).is_none(), "heavier than the cache"); // miss 4
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (3, 4));
    }

    #[test]
    fn get_or_try_makes_once_and_none_keeps_nothing() {
        let c = Cache::default();
        let mut made = 0;
        for _ in 0..3 {
            let v: Arc<u32> = c
                .get_or_try(key(1), || {
                    made += 1;
                    Ok::<_, ()>((7, 4))
                })
                .unwrap();
            assert_eq!(*v, 7);
        }
        assert_eq!(made, 1);
        let none = Cache::none();
        let mut made = 0;
        for _ in 0..2 {
            none.get_or_try(key(1), || {
                made += 1;
                Ok::<_, ()>((7u32, 4))
            })
            .unwrap();
        }
        assert_eq!(made, 2);
    }
}
