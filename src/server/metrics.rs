//! Metrics in the Prometheus text format, for the operator's dashboard
//! (`GET /metrics`; docs/deploy.md, docs/grafana-dashboard.json). Counters
//! and histograms are updated where things happen, with one atomic add
//! each (the writer once per batch, not per message); gauges are read when
//! Prometheus scrapes, from what the hub, the pool and the kernel already
//! know. Imports nothing of the server but the process's own limits
//! (`capacity`): the store, the cluster and the services all report into it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use super::capacity::{self, Rate};
use crate::model::NodeSizing;

use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// Everything measured, registered once for the process.
pub struct Metrics {
    registry: Registry,
    /// Messages and system lines stored (not resends answered as before).
    pub messages_stored: Counter,
    /// Writes per writer transaction (group commit).
    pub writer_batch_size: Histogram,
    /// One writer transaction, begin to commit.
    pub writer_commit_seconds: Histogram,
    /// Wrong passwords and unknown accounts at login.
    pub login_failures: Counter,
    /// From another node's NOTIFY to its arrival here.
    pub fanout_lag_seconds: Histogram,
    /// Messages and changes another node announced, handed out here from
    /// the frames its NOTIFY carried, and those read back from the
    /// database instead.
    fanout_carried: Counter,
    fanout_read_back: Counter,
    /// Postgres writer batches of plain texts stored as one statement
    /// against the heads the writer remembered, and those that found a
    /// head moved (or a text to refuse) and went the long way.
    writer_one_statement: Counter,
    writer_one_statement_missed: Counter,
    sockets_open: Gauge,
    socket_queue_frames: Gauge,
    sockets_dropped_slow: Counter,
    writer_queue: Gauge,
    db_pool_connections: Gauge,
    db_pool_idle: Gauge,
    resident_memory: Gauge,
    /// Writer transactions and the writes in them, since start (the mean
    /// batch size over a window, for sizing).
    writer_batches: AtomicU64,
    writer_writes: AtomicU64,
    /// Messages stored per second and writes per transaction, each over
    /// the latest window of a few seconds.
    stored_rate: Rate,
    batches_rate: Rate,
    writes_rate: Rate,
}

/// What the scrape reads from the running node.
pub struct Snapshot {
    pub sockets_open: usize,
    /// Frames waiting in all sockets' queues.
    pub socket_queue_frames: usize,
    /// Sockets dropped because their queue filled, since start.
    pub sockets_dropped_slow: u64,
    /// Writes waiting for the writer.
    pub writer_queue: usize,
    pub db_pool_connections: u32,
    pub db_pool_idle: usize,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("glasschat");
        let metrics = Metrics {
            messages_stored: Counter::default(),
            // 1, 2, 4 … 512 (the writer's most).
            writer_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            // 0.25 ms … 4 s.
            writer_commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
            login_failures: Counter::default(),
            // 0.25 ms … 4 s.
            fanout_lag_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
            fanout_carried: Counter::default(),
            fanout_read_back: Counter::default(),
            writer_one_statement: Counter::default(),
            writer_one_statement_missed: Counter::default(),
            sockets_open: Gauge::default(),
            socket_queue_frames: Gauge::default(),
            sockets_dropped_slow: Counter::default(),
            writer_queue: Gauge::default(),
            db_pool_connections: Gauge::default(),
            db_pool_idle: Gauge::default(),
            resident_memory: Gauge::default(),
            writer_batches: AtomicU64::new(0),
            writer_writes: AtomicU64::new(0),
            stored_rate: Rate::new(),
            batches_rate: Rate::new(),
            writes_rate: Rate::new(),
            registry: Registry::default(),
        };
        registry.register(
            "messages_stored",
            "Messages and system lines stored",
            metrics.messages_stored.clone(),
        );
        registry.register(
            "writer_batch_size",
            "Writes per message-writer transaction (group commit)",
            metrics.writer_batch_size.clone(),
        );
        registry.register_with_unit(
            "writer_commit",
            "One message-writer transaction, begin to commit",
            Unit::Seconds,
            metrics.writer_commit_seconds.clone(),
        );
        registry.register(
            "login_failures",
            "Failed logins (wrong password or unknown account)",
            metrics.login_failures.clone(),
        );
        registry.register_with_unit(
            "fanout_lag",
            "From another node's announcement (NOTIFY) to its arrival here",
            Unit::Seconds,
            metrics.fanout_lag_seconds.clone(),
        );
        registry.register(
            "fanout_carried_messages",
            "Messages and changes another node announced, handed out here from the sealed frames its NOTIFY carried",
            metrics.fanout_carried.clone(),
        );
        registry.register(
            "fanout_read_back_messages",
            "Messages and changes another node announced, read back here from the database (too long to carry, or not opened)",
            metrics.fanout_read_back.clone(),
        );
        registry.register(
            "writer_one_statement_batches",
            "Postgres writer batches of plain texts stored as one statement, against the room heads the writer remembered",
            metrics.writer_one_statement.clone(),
        );
        registry.register(
            "writer_one_statement_missed",
            "One-statement batches that stored nothing (a room head had moved, or a text was to be refused) and went the long way",
            metrics.writer_one_statement_missed.clone(),
        );
        registry.register(
            "sockets_open",
            "WebSockets open on this node",
            metrics.sockets_open.clone(),
        );
        registry.register(
            "socket_queue_frames",
            "Frames waiting in the sockets' delivery queues",
            metrics.socket_queue_frames.clone(),
        );
        registry.register(
            "sockets_dropped_slow",
            "Sockets dropped because their delivery queue filled (they reconnect and catch up)",
            metrics.sockets_dropped_slow.clone(),
        );
        registry.register(
            "writer_queue",
            "Writes waiting for the message writer",
            metrics.writer_queue.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections open in the pool",
            metrics.db_pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle",
            "Database connections idle in the pool",
            metrics.db_pool_idle.clone(),
        );
        registry.register_with_unit(
            "resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            metrics.resident_memory.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// One writer transaction of `size` writes that took `seconds`, of
    /// which `stored` were new rows.
    pub fn writer_batch(&self, size: usize, seconds: f64, stored: u64) {
        self.writer_batch_size.observe(size as f64);
        self.writer_commit_seconds.observe(seconds);
        self.messages_stored.inc_by(stored);
        self.writer_batches.fetch_add(1, Ordering::Relaxed);
        self.writer_writes.fetch_add(size as u64, Ordering::Relaxed);
    }

    /// A batch tried as one statement: `stored`, or went the long way.
    pub fn fanout_carried(&self, messages: usize) {
        self.fanout_carried.inc_by(messages as u64);
    }

    pub fn fanout_read_back(&self, messages: usize) {
        self.fanout_read_back.inc_by(messages as u64);
    }

    pub fn writer_one_statement(&self, stored: bool) {
        match stored {
            true => self.writer_one_statement.inc(),
            false => self.writer_one_statement_missed.inc(),
        };
    }

    /// The sizing figures now, with `sockets_open` read from the hub.
    pub fn sizing(&self, sockets_open: usize) -> NodeSizing {
        let now = Instant::now();
        let batches = self
            .batches_rate
            .per_second(self.writer_batches.load(Ordering::Relaxed), now);
        let writes = self
            .writes_rate
            .per_second(self.writer_writes.load(Ordering::Relaxed), now);
        NodeSizing {
            sockets_open,
            max_sockets: capacity::max_sockets(),
            descriptor_limit: capacity::descriptor_limit(),
            messages_per_second: self.stored_rate.per_second(self.messages_stored.get(), now),
            writes_per_transaction: if batches > 0.0 { writes / batches } else { 0.0 },
            resident_memory_bytes: resident_bytes(),
        }
    }

    /// The text Prometheus scrapes, with the gauges read now.
    pub fn render(&self, now: Snapshot) -> String {
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.sockets_open.set(to_i64(now.sockets_open));
        self.socket_queue_frames
            .set(to_i64(now.socket_queue_frames));
        let dropped = now.sockets_dropped_slow;
        let counted = self.sockets_dropped_slow.get();
        if dropped > counted {
            self.sockets_dropped_slow.inc_by(dropped - counted);
        }
        self.writer_queue.set(to_i64(now.writer_queue));
        self.db_pool_connections
            .set(i64::from(now.db_pool_connections));
        self.db_pool_idle.set(to_i64(now.db_pool_idle));
        self.resident_memory.set(resident_bytes());
        let mut text = String::new();
        if let Err(e) = encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics: could not encode");
        }
        text
    }
}

/// Now, in µs since the Unix epoch (the fan-out's timestamps, compared
/// across nodes: as good as their clocks agree).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The process's resident set, from /proc/self/statm (pages).
fn resident_bytes() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * if page > 0 { page } else { 4096 }
}
