//! `floor`: the machine's physical floor for a fan-out, printed beside every
//! big-room figure. N loopback TCP connections; one thread, pinned to the
//! server's core (core 0), writes one 100-byte frame to each of them with
//! a plain non-blocking `write(2)` in a loop (no runtime, no allocation),
//! while another, on this process's own core, waits in `epoll` and reads
//! them back, as the generator's receivers do. Each write therefore pays
//! what a server's write pays here: the loopback TCP work of both ends and
//! the wake of a waiting reader. No server can bring one message to the
//! last of N sockets on one core faster than a round of this loop.
//!
//! Both ends live in this process, so N is at most half of what its
//! descriptor limit allows; asked for more, the floor is measured at the
//! most that fits and the round is scaled to N by the time per write (the
//! cost is linear in N: each write is the same kernel work).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{AnyError, Args};

const FRAME: [u8; 100] = [b'x'; 100];
const ROUNDS: usize = 20;
/// Descriptors kept for everything else the generator has open.
const SPARE: u64 = 200;

/// One floor measurement: the round at `n` sockets (ms, median and p99 of
/// the rounds), and per write / per read (µs).
#[derive(Clone, Copy, Debug)]
pub struct Floor {
    pub n: usize,
    pub measured_at: usize,
    pub round_ms: f64,
    pub round_p99_ms: f64,
    pub write_us: f64,
    pub read_us: f64,
}

pub fn floor(args: &Args) -> Result<Floor, AnyError> {
    let n = args.sockets.unwrap_or(10_000);
    let floor = measure(n)?;
    print(&floor);
    Ok(floor)
}

pub fn print(floor: &Floor) {
    let scaled = if floor.measured_at < floor.n {
        format!(
            " (measured at {} sockets, the descriptor limit's most, and scaled by the time per write)",
            floor.measured_at
        )
    } else {
        String::new()
    };
    println!(
        "  floor at {} loopback sockets{scaled}: one round of write(2) {:.1} ms (p99 {:.1} ms), {:.2} µs per write; reading back {:.2} µs per read",
        floor.n, floor.round_ms, floor.round_p99_ms, floor.write_us, floor.read_us
    );
}

/// The core the server runs on in the benchmarks (scripts pin it to 0).
const SERVER_CORE: usize = 0;

/// Pins the calling thread to `core`; false if that failed.
fn pin_to(core: usize) -> bool {
    // SAFETY: the set is a plain bit mask on the stack; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Measures the floor at `n` sockets (or the most this process can open).
pub fn measure(n: usize) -> Result<Floor, AnyError> {
    let limit = glasschat::server::capacity::raise_descriptor_limit();
    let fits = (limit.saturating_sub(SPARE) / 2) as usize;
    let at = n.min(fits).max(1);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut writers = Vec::with_capacity(at);
    let mut readers = Vec::with_capacity(at);
    for _ in 0..at {
        let writer = TcpStream::connect(addr)?;
        let (reader, _) = listener.accept()?;
        writer.set_nodelay(true)?;
        writer.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        writers.push(writer);
        readers.push(reader);
    }
    // Frames read so far, and the time the reader spent reading them.
    let read = Arc::new(AtomicU64::new(0));
    let reading_ns = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (read, reading_ns, done) = (read.clone(), reading_ns.clone(), done.clone());
        std::thread::spawn(move || read_back(readers, read, reading_ns, done))
    };
    let writer = std::thread::spawn(move || -> Vec<f64> {
        if !pin_to(SERVER_CORE) {
            eprintln!("  note: could not pin the floor's writer to core {SERVER_CORE}");
        }
        let mut rounds = Vec::with_capacity(ROUNDS);
        for round in 1..=ROUNDS as u64 {
            let started = Instant::now();
            for writer in &mut writers {
                // A socket whose frames were read back always takes 100 bytes.
                let _ = writer.write(&FRAME);
            }
            rounds.push(started.elapsed().as_secs_f64());
            // The next round starts once this one is read back.
            let wanted = round * at as u64 * FRAME.len() as u64;
            while read.load(Ordering::Acquire) < wanted {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        rounds
    });
    let mut rounds = writer.join().map_err(|_| "the floor's writer panicked")?;
    done.store(true, Ordering::Release);
    reader.join().map_err(|_| "the floor's reader panicked")??;
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    let p99 = rounds[((rounds.len() - 1) as f64 * 0.99).round() as usize];
    let scale = n as f64 / at as f64;
    let reads = (ROUNDS * at) as f64;
    Ok(Floor {
        n,
        measured_at: at,
        round_ms: median * 1e3 * scale,
        round_p99_ms: p99 * 1e3 * scale,
        write_us: median * 1e6 / at as f64,
        read_us: reading_ns.load(Ordering::Relaxed) as f64 / 1e3 / reads,
    })
}

/// Waits in epoll on every reading end and reads what arrives, counting
/// the bytes and the time spent between a wake and the next wait.
fn read_back(
    readers: Vec<TcpStream>,
    read: Arc<AtomicU64>,
    reading_ns: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    // SAFETY: epoll_create1 returns a new descriptor or -1.
    let epoll = unsafe { libc::epoll_create1(0) };
    if epoll < 0 {
        return Err("epoll_create1 failed".into());
    }
    for (i, reader) in readers.iter().enumerate() {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: both descriptors are open; the event is on the stack.
        if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, reader.as_raw_fd(), &mut event) }
            != 0
        {
            return Err("epoll_ctl failed".into());
        }
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 4096];
    while !done.load(Ordering::Acquire) {
        // SAFETY: `events` has room for the number of events asked for.
        let ready =
            unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, 50) };
        let woke = Instant::now();
        let mut got = 0u64;
        for event in events.iter().take(ready.max(0) as usize) {
            let mut reader = &readers[event.u64 as usize];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => got += k as u64,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // SAFETY: closes the descriptor made above.
                        unsafe { libc::close(epoll) };
                        return Err(e.to_string());
                    }
                }
            }
        }
        if got > 0 {
            reading_ns.fetch_add(woke.elapsed().as_nanos() as u64, Ordering::Relaxed);
            read.fetch_add(got, Ordering::Release);
        }
    }
    // SAFETY: closes the descriptor made above.
    unsafe { libc::close(epoll) };
    Ok(())
}
