//! How many sockets this process can hold, and what it is doing: the
//! figures an operator sizes a node with (`/health`, the admin page).
//!
//! Every socket is a file descriptor, and so are the database's files and
//! connections, the listeners and files being served. At start the soft
//! descriptor limit is raised to the hard one (a process may do so without
//! privileges); the most sockets a node can hold is that limit less a
//! reserve for everything else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Descriptors kept back for the database, listeners, logs and files.
pub const RESERVED_DESCRIPTORS: u64 = 256;

static DESCRIPTOR_LIMIT: AtomicU64 = AtomicU64::new(0);

/// Raises the soft descriptor limit to the hard one; returns the limit in
/// force afterwards (the soft one, unchanged, if raising failed).
pub fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    let now = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    DESCRIPTOR_LIMIT.store(now, Ordering::Relaxed);
    now
}

/// The descriptor limit found at start (0 when it was not read).
pub fn descriptor_limit() -> u64 {
    DESCRIPTOR_LIMIT.load(Ordering::Relaxed)
}

/// The most sockets this process can hold open at once (no bound when the
/// limit was never read: a server built into a test without `run`).
pub fn max_sockets() -> u64 {
    match descriptor_limit() {
        0 => u64::MAX,
        limit => limit.saturating_sub(RESERVED_DESCRIPTORS),
    }
}

/// A rate over the last sampling window: `rate(total)` is called with a
/// running total (say, messages stored since start) whenever someone asks,
/// and answers the increase per second since the previous sample at least
/// `MIN_WINDOW` old, so two quick reads see the same figure.
pub struct Rate {
    last: Mutex<Option<(Instant, u64, f64)>>,
}

const MIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

impl Rate {
    pub const fn new() -> Rate {
        Rate {
            last: Mutex::new(None),
        }
    }

    /// The increase of `total` per second over the latest window (0 until
    /// a window has passed).
    pub fn per_second(&self, total: u64, now: Instant) -> f64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            None => {
                *last = Some((now, total, 0.0));
                0.0
            }
            Some((at, _, rate)) if now.duration_since(at) < MIN_WINDOW => rate,
            Some((at, then, _)) => {
                let rate = total.saturating_sub(then) as f64 / now.duration_since(at).as_secs_f64();
                *last = Some((now, total, rate));
                rate
            }
        }
    }
}

impl Default for Rate {
    fn default() -> Self {
        Rate::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_limit_is_raised_to_the_hard_one() {
        let limit = raise_descriptor_limit();
        let mut hard = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: reads into the struct given.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) },
            0
        );
        assert_eq!(limit, hard.rlim_max);
        assert_eq!(max_sockets(), limit - RESERVED_DESCRIPTORS);
    }

    #[test]
    fn a_rate_is_the_increase_over_the_last_window() {
        let rate = Rate::new();
        let t0 = Instant::now();
        assert_eq!(rate.per_second(100, t0), 0.0);
        assert_eq!(
            rate.per_second(150, t0 + Duration::from_secs(1)),
            0.0,
            "window not over"
        );
        assert_eq!(rate.per_second(600, t0 + Duration::from_secs(5)), 100.0);
        assert_eq!(
            rate.per_second(700, t0 + Duration::from_secs(6)),
            100.0,
            "same window"
        );
        assert_eq!(rate.per_second(1600, t0 + Duration::from_secs(15)), 100.0);
    }
}
