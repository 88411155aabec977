//! `loadtest`: points real WebSocket clients at a running Glasschat server and
//! prints figures. Setup goes through the public HTTP API (sign-up, log-in,
//! create room), load through `/ws`, exactly as browsers do.
//!
//!   loadtest --url http://127.0.0.1:3000 [--url2 http://127.0.0.1:3001] [--server-pid PID] [--seconds 20] [--rate 5] fanout|ramp|idle|persist|persist-pairs|edits|welcome|search|files|presence|restart|all
//!
//! `search` takes `--db PATH` (the server's SQLite file) for the index's
//! size and a timed reindex; `files` for the folder its `cp` comparison
//! copies in (the same disk).
//!
//! With `--url2` (a second node on the same Postgres), every other receiver
//! connects to the second node while senders stay on the first: `fanout`
//! then reports same-node and cross-node latency apart.
//!
//! Receivers read only the fields they need from each frame (type, room,
//! seq, and the send time carried in the body), never a full JSON parse. The
//! generator reports its own CPU time so it can be seen not to be the limit.

use std::time::Instant;

use measure::own_cpu_seconds;
use tokio::net::TcpStream;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
type AnyError = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "loadtest-password";

#[derive(Clone)]
struct Args {
    url: String,
    host: String,
    /// A second node: half the receivers go there.
    host2: Option<String>,
    server_pid: Option<u32>,
    seconds: u64,
    /// Per-room send rate of `fanout` (msgs/s).
    rate: f64,
    scenarios: Vec<String>,
    tag: String,
    /// The server's SQLite file (`search`: index size and reindex).
    db: Option<String>,
    /// The relay (`src/bin/relay.rs`) to measure beside Glasschat in the
    /// same run: `ramp`, `persist` and `bigroom` print their ratio to it.
    relay: Option<String>,
    /// True while a scenario runs against the relay: setup makes no
    /// accounts (a cookie `room-R` puts a socket in room R).
    at_relay: bool,
    /// The file `glasschat loadtest-seed` wrote (`bigroom`, `manysockets`).
    seeded: Option<String>,
    /// `manysockets`: how many (default: as many as the server can hold).
    sockets: Option<usize>,
    /// `manysockets`: a file holding the server's current pid, rewritten
    /// by whatever restarts it (the reconnect storm).
    pid_file: Option<String>,
    /// `bigroom`: the send rates to run (default 1, 10, 50, 100 msgs/s).
    rates: Vec<f64>,
    /// `welcome`: the rooms the reader is in, and the messages in each.
    welcome_rooms: usize,
    welcome_messages: u64,
}

impl Args {
    /// The same run pointed at the relay.
    fn at_relay(&self) -> Option<Args> {
        let url = self.relay.clone()?;
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Some(Args {
            url,
            host,
            host2: None,
            server_pid: None,
            at_relay: true,
            ..self.clone()
        })
    }
}

fn parse_args() -> Result<Args, String> {
    let mut url = "http://127.0.0.1:3000".to_string();
    let mut url2: Option<String> = None;
    let mut server_pid = None;
    let mut seconds = 20;
    let mut rate = 5.0;
    let mut scenarios = Vec::new();
    let mut db = None;
    let mut relay = None;
    let mut seeded = None;
    let mut sockets = None;
    let mut pid_file = None;
    let mut rates = vec![1.0, 10.0, 50.0, 100.0];
    let (mut welcome_rooms, mut welcome_messages) = (200, 10_000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().ok_or("--url needs a value")?,
            "--url2" => url2 = Some(args.next().ok_or("--url2 needs a value")?),
            "--db" => db = Some(args.next().ok_or("--db needs a value")?),
            "--relay" => relay = Some(args.next().ok_or("--relay needs a value")?),
            "--seeded" => seeded = Some(args.next().ok_or("--seeded needs a value")?),
            "--pid-file" => pid_file = Some(args.next().ok_or("--pid-file needs a value")?),
            "--rates" => {
                rates = args
                    .next()
                    .ok_or("--rates needs a value")?
                    .split(',')
                    .map(|r| {
                        r.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|r| *r > 0.0 && r.is_finite())
                    })
                    .collect::<Option<Vec<f64>>>()
                    .filter(|r| !r.is_empty())
                    .ok_or("bad --rates: positive msgs/s separated by commas")?
            }
            "--sockets" => {
                sockets = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--sockets needs a number")?,
                )
            }
            "--server-pid" => {
                server_pid = Some(
                    args.next()
                        .ok_or("--server-pid needs a value")?
                        .parse()
                        .map_err(|_| "bad --server-pid")?,
                )
            }
            "--seconds" => {
                seconds = args
                    .next()
                    .ok_or("--seconds needs a value")?
                    .parse()
                    .map_err(|_| "bad --seconds")?
            }
            "--rooms" => {
                welcome_rooms = args
                    .next()
                    .ok_or("--rooms needs a value")?
                    .parse()
                    .ok()
                    .filter(|n: &usize| *n > 0)
                    .ok_or("bad --rooms: a positive number")?
            }
            "--messages" => {
                welcome_messages = args
                    .next()
                    .ok_or("--messages needs a value")?
                    .parse()
                    .ok()
                    .filter(|n: &u64| *n >= 100)
                    .ok_or("bad --messages: at least 100")?
            }
            "--rate" => {
                rate = args
                    .next()
                    .ok_or("--rate needs a value")?
                    .parse()
                    .ok()
                    .filter(|r: &f64| *r > 0.0 && r.is_finite())
                    .ok_or("bad --rate: a positive number of msgs/s per room")?
            }
            "fanout" | "ramp" | "idle" | "persist" | "persist-pairs" | "cipher" | "stall"
            | "edits" | "welcome" | "presence" | "search" | "files" | "restart" | "floor"
            | "bigroom" | "manysockets" => scenarios.push(arg),
            "all" => scenarios.extend(["persist", "fanout", "ramp", "idle"].map(String::from)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if scenarios.is_empty() {
        return Err(
            "name a scenario: fanout, ramp, idle, persist, persist-pairs, edits, welcome, search, stall, cipher, presence, restart, floor, bigroom, manysockets or all"
                .into(),
        );
    }
    let host_of = |url: &str| -> Result<String, String> {
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if host.contains('/') || url.starts_with("https://") {
            return Err("--url and --url2 must be plain http://host:port origins".into());
        }
        Ok(host)
    };
    let host = host_of(&url)?;
    let host2 = url2.as_deref().map(host_of).transpose()?;
    if let Some(relay) = &relay {
        host_of(relay)?;
    }
    // Accounts are per run, so runs against one server never collide.
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    Ok(Args {
        url: url.trim_end_matches('/').to_string(),
        host,
        host2,
        server_pid,
        seconds,
        rate,
        scenarios,
        tag,
        db,
        relay: relay.map(|r| r.trim_end_matches('/').to_string()),
        at_relay: false,
        seeded,
        sockets,
        pid_file,
        rates,
        welcome_rooms,
        welcome_messages,
    })
}

mod bigroom;
mod cipher;
mod client;
mod fanout;
mod files;
mod floor;
mod idle;
mod manysockets;
mod measure;
mod persist;
mod presence;
mod ramp;
mod restart;
mod search;
mod stall;
mod welcome;

/// A scenario that ends in one figure (`ramp`, `persist`).
async fn headline(args: &Args, scenario: &str) -> Result<f64, AnyError> {
    match scenario {
        "ramp" => ramp::ramp(args).await,
        _ => persist::persist(args).await,
    }
}

/// Runs a scenario that ends in one figure; with `--relay`, first against
/// the relay, then against Glasschat, and prints the ratio of the two.
async fn beside_the_relay(args: &Args, scenario: &str, unit: &str) -> Result<(), AnyError> {
    let Some(relay) = args.at_relay() else {
        return headline(args, scenario).await.map(|_| ());
    };
    println!("[the relay at {}]", relay.url);
    let yardstick = headline(&relay, scenario).await?;
    println!("[Glasschat at {}]", args.url);
    let ours = headline(args, scenario).await?;
    println!(
        "  {scenario}: Glasschat {ours:.0} {unit}, the relay {yardstick:.0} {unit}: {:.2}x the relay",
        ours / yardstick.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("loadtest: {why}");
            }
            eprintln!("usage: loadtest --url http://127.0.0.1:3000 [--server-pid PID] [--seconds 20] [--rate 5] [--db PATH] [--relay http://127.0.0.1:4000] [--seeded FILE] [--sockets N] [--pid-file FILE] [--rates 1,10,50,100] [--rooms 200] [--messages 10000] fanout|ramp|idle|persist|persist-pairs|edits|welcome|search|stall|cipher|presence|restart|floor|bigroom|manysockets|all");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadtest: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        for scenario in &args.scenarios {
            let cpu_before = own_cpu_seconds();
            let wall = Instant::now();
            let result = match scenario.as_str() {
                "fanout" => fanout::fanout(&args).await,
                "ramp" => beside_the_relay(&args, "ramp", "deliveries/s").await,
                "floor" => floor::floor(&args).map(|_| ()),
                "bigroom" => bigroom::bigroom(&args).await,
                "manysockets" => manysockets::manysockets(&args).await,
                "idle" => idle::idle(&args).await,
                "stall" => stall::stall(&args).await,
                "edits" => fanout::edits(&args).await,
                "welcome" => welcome::welcome(&args).await,
                "search" => search::search(&args, args.db.as_deref()).await,
                "files" => files::files(&args).await,
                "presence" => presence::presence(&args).await,
                "restart" => restart::restart(&args).await,
                "cipher" => cipher::cipher_cost().map_err(Into::into),
                "persist-pairs" => persist::persist_pairs(&args).await,
                _ => beside_the_relay(&args, "persist", "msgs/s").await,
            };
            let cpu = own_cpu_seconds() - cpu_before;
            let secs = wall.elapsed().as_secs_f64();
            println!(
                "  generator CPU: {cpu:.1} s over {secs:.1} s wall ({:.0}% of one core)",
                100.0 * cpu / secs
            );
            if let Err(err) = result {
                eprintln!("loadtest: {scenario} failed: {err}");
                return 1;
            }
        }
        0
    });
    std::process::exit(code);
}
