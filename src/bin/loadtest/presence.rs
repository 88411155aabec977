//! `presence`: the fan-out of `fanout` (10 rooms x 100 members, one sender
//! per room) beside 4,000 more sockets: 200 people in 100 direct chats, 20
//! tabs each, every tab showing its peer's presence. Run three times with
//! the same sockets: quiet; with typing in the 100 chats at 1 Hz; with
//! typing and churn, where every second 25 people (one every 40 ms) close
//! all 20 tabs (500 sockets) and open them again 400 ms later, so their
//! peers see them go offline and come back. Prints the fan-out's latency
//! and loss, the server's CPU, and what the watching tabs received.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, direct_chat};
use crate::fanout::{fanout_step, setup_rooms};
use crate::measure::cpu_seconds_of;
use crate::{AnyError, Args};

const PAIRS: usize = 100;
const TABS: usize = 20;
/// People whose tabs all close (and reopen) each second: 25 x 20 = 500 sockets.
const CHURNED_PER_SECOND: usize = 25;

/// Frames the watching tabs received.
#[derive(Default)]
struct Heard {
    presence: AtomicU64,
    typing: AtomicU64,
}

/// One person's open tabs (each a task reading its socket).
type Tabs = Mutex<Vec<JoinHandle<()>>>;

/// Opens a tab that shows its sidebar's people and reads until aborted.
async fn open_tab(
    args: &Args,
    cookie: &str,
    heard: Arc<Heard>,
) -> Result<JoinHandle<()>, AnyError> {
    let mut ws = connect(args, cookie).await?;
    ws.send(Message::Text(r#"{"type":"view","room":null}"#.into()))
        .await?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            if t.starts_with(r#"{"type":"presence""#) {
                heard.presence.fetch_add(1, Ordering::Relaxed);
            } else if t.starts_with(r#"{"type":"typing""#) {
                heard.typing.fetch_add(1, Ordering::Relaxed);
            }
        }
    }))
}

async fn open_tabs(
    args: &Args,
    cookie: &str,
    heard: &Arc<Heard>,
) -> Result<Vec<JoinHandle<()>>, AnyError> {
    let mut tabs = Vec::with_capacity(TABS);
    for _ in 0..TABS {
        tabs.push(open_tab(args, cookie, heard.clone()).await?);
    }
    Ok(tabs)
}

pub async fn presence(args: &Args) -> Result<(), AnyError> {
    println!(
        "presence: fanout (10 rooms x 100 members at {} msgs/s) beside {PAIRS} direct chats x 2 people x {TABS} tabs; typing at 1 Hz in each chat and {} sockets closing and reopening per second in the second run",
        args.rate,
        CHURNED_PER_SECOND * TABS
    );
    let Some(pid) = args.server_pid else {
        return Err("presence needs --server-pid to read the server's CPU".into());
    };
    let rooms = setup_rooms(args, "pres", 10, 100).await?;
    let people = accounts(args, "presence", PAIRS * 2).await?;
    let mut chats = Vec::with_capacity(PAIRS);
    for pair in people.chunks(2) {
        chats.push(direct_chat(args, &pair[0].1, &pair[1].0).await?);
    }
    let heard = Arc::new(Heard::default());
    let tabs: Arc<Vec<Tabs>> = Arc::new(people.iter().map(|_| Mutex::new(Vec::new())).collect());
    // The tabs, the typing and the churn run on a runtime of their own (a
    // second thread the kernel schedules): the fan-out's receivers, which
    // time every delivery, are not queued behind their handshakes.
    let background = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (shared_args, shared_people) = (Arc::new(args.clone()), Arc::new(people.clone()));
    {
        let (args, people, tabs, heard) = (
            shared_args.clone(),
            shared_people.clone(),
            tabs.clone(),
            heard.clone(),
        );
        background
            .spawn(async move {
                for (i, (_, cookie)) in people.iter().enumerate() {
                    let opened = open_tabs(&args, cookie, &heard).await?;
                    *tabs[i].lock().unwrap_or_else(|p| p.into_inner()) = opened;
                }
                Ok::<(), AnyError>(())
            })
            .await??;
    }
    println!("  {} watching tabs open", people.len() * TABS);

    let cpu = || cpu_seconds_of(&format!("/proc/{pid}/stat"));
    // Quiet, typing alone, then typing and churn.
    for (typing, churn) in [(false, false), (true, false), (true, true)] {
        let stop = Arc::new(AtomicBool::new(false));
        let reconnects = Arc::new(AtomicU64::new(0));
        let mut load = Vec::new();
        if typing {
            // Typing at 1 Hz in each chat: three tabs of its first person
            // in turn (a tab says "typing" at most every 3 s). The chats
            // type independently: their phases are spread over the second
            // (one every 10 ms), as the fan-out's senders are.
            let stop_typing = stop.clone();
            let (args, people, chats) = (shared_args.clone(), shared_people.clone(), chats.clone());
            load.push(background.spawn(async move {
                let mut typists = Vec::with_capacity(PAIRS * 3);
                for (pair, room) in people.chunks(2).zip(chats.iter()) {
                    for _ in 0..3 {
                        match connect(&args, &pair[0].1).await {
                            Ok(ws) => typists.push((*room, ws)),
                            Err(err) => eprintln!("  a typing tab did not open: {err}"),
                        }
                    }
                }
                let mut tick = tokio::time::interval(Duration::from_secs(1) / PAIRS as u32);
                let mut step = 0;
                while !stop_typing.load(Ordering::Relaxed) && !typists.is_empty() {
                    tick.tick().await;
                    // Chat `step % PAIRS`, with its tab `(step / PAIRS) % 3`.
                    let at = ((step % PAIRS) * 3 + (step / PAIRS) % 3) % typists.len();
                    let (room, ws) = &mut typists[at];
                    let frame = format!(r#"{{"type":"typing","room":{room},"on":true}}"#);
                    let _ = ws.send(Message::Text(frame.into())).await;
                    step += 1;
                }
            }));
        }
        if churn {
            // Churn: 25 people a second, one every 40 ms (people come and
            // go independently), lose every tab and reopen them 400 ms later.
            let (args, people, tabs, heard) = (
                shared_args.clone(),
                shared_people.clone(),
                tabs.clone(),
                heard.clone(),
            );
            let (stop_churn, reconnects) = (stop.clone(), reconnects.clone());
            load.push(background.spawn(async move {
                let every = Duration::from_secs(1) / CHURNED_PER_SECOND as u32;
                let mut tick = tokio::time::interval(every);
                let mut reopening = Vec::new();
                for i in (0..people.len()).cycle() {
                    if stop_churn.load(Ordering::Relaxed) {
                        break;
                    }
                    tick.tick().await;
                    for tab in tabs[i].lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
                        tab.abort();
                    }
                    let (args, people, tabs, heard, reconnects) = (
                        args.clone(),
                        people.clone(),
                        tabs.clone(),
                        heard.clone(),
                        reconnects.clone(),
                    );
                    reopening.push(tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(400)).await;
                        if let Ok(opened) = open_tabs(&args, &people[i].1, &heard).await {
                            reconnects.fetch_add(opened.len() as u64, Ordering::Relaxed);
                            *tabs[i].lock().unwrap_or_else(|p| p.into_inner()) = opened;
                        }
                    }));
                }
                for task in reopening {
                    let _ = task.await;
                }
            }));
        }
        let (presence_before, typing_before) = (
            heard.presence.load(Ordering::Relaxed),
            heard.typing.load(Ordering::Relaxed),
        );
        let (cpu_before, wall) = (cpu(), Instant::now());
        let ((rate, p50, p99, max, lost, dup, sent), _) =
            fanout_step(args, &rooms, args.rate, args.seconds as f64, false).await?;
        let secs = wall.elapsed().as_secs_f64();
        let server_cpu = (cpu() - cpu_before) / secs;
        stop.store(true, Ordering::Relaxed);
        for task in load {
            let _ = task.await;
        }
        let per_second = |n: u64| n as f64 / secs;
        println!(
            "  {}: sent {sent}; deliveries/s {rate:.0}; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; lost {lost}; duplicated {dup}; server CPU {:.0}% of one core",
            match (typing, churn) {
                (false, _) => "quiet",
                (true, false) => "with typing",
                (true, true) => "with typing and churn",
            },
            100.0 * server_cpu
        );
        println!(
            "    sockets reopened/s {:.0}; presence frames/s {:.0}; typing frames/s {:.0} (to the watching tabs)",
            per_second(reconnects.load(Ordering::Relaxed)),
            per_second(heard.presence.load(Ordering::Relaxed) - presence_before),
            per_second(heard.typing.load(Ordering::Relaxed) - typing_before)
        );
    }
    for person in tabs.iter() {
        for tab in person.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            tab.abort();
        }
    }
    background.shutdown_background();
    Ok(())
}
