//! Retention: admins set how many days messages are kept (for the whole
//! instance, a department's support conversations, or one room), and a
//! background job deletes what is older, in small steps through the
//! message writer (`store/writer/trim.rs`), so sends to the same room wait
//! a few milliseconds at most. After each step the members' open tabs get
//! the room's summary: the messages go from their screens and their
//! unread counts stay exact.

use std::time::Duration;

use super::actor::Actor;
use super::audit::{self, Who};
use super::publish;
use crate::model::{RetentionView, Role, MAX_RETENTION_DAYS};
use crate::server::state::AppState;
use crate::server::store::{now_ms, RetentionTarget, StoreError, TrimStep, RETENTION_DAYS};

/// Messages one step deletes: a few milliseconds of the room's writer.
const STEP: i64 = 500;
/// The pause between two steps, so the job never keeps a writer busy.
const BREATHE: Duration = Duration::from_millis(5);
/// How often open tabs hear of a room's steps while they go on.
const TELL_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("admins only")]
    Forbidden,
    #[error("no such department or room")]
    NotFound,
    #[error("a number of days from 0 to {MAX_RETENTION_DAYS}")]
    Invalid,
    #[error("too many changes; wait {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, RetentionError>;

/// What a retention setting applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Instance,
    Department(i64),
    Room(i64),
}

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(RetentionError::Forbidden)
    }
}

/// Days as admins write them: 0 keeps for ever, `None` inherits (the
/// instance has nothing to inherit from: `None` there is 0).
fn checked(days: Option<i64>) -> Result<Option<i64>> {
    match days {
        Some(d) if !(0..=MAX_RETENTION_DAYS).contains(&d) => Err(RetentionError::Invalid),
        _ => Ok(days),
    }
}

fn shown(days: Option<i64>) -> String {
    match days {
        None => "inherited".into(),
        Some(0) => "kept for ever".into(),
        Some(1) => "1 day".into(),
        Some(d) => format!("{d} days"),
    }
}

pub async fn settings(state: &AppState, actor: &Actor) -> Result<RetentionView> {
    require_admin(actor)?;
    Ok(RetentionView {
        days: state.store.retention_days().await?,
        departments: state.store.department_retention().await?,
        rooms: state.store.room_retention().await?,
    })
}

/// Sets the number of days for `scope`; the job applies it at its next pass.
pub async fn set(state: &AppState, actor: &Actor, scope: Scope, days: Option<i64>) -> Result<()> {
    require_admin(actor)?;
    state
        .invite_limiter
        .check(actor.id)
        .map_err(RetentionError::SlowDown)?;
    let days = checked(days)?;
    let target = match scope {
        Scope::Instance => {
            let value = days.unwrap_or(0).to_string();
            state
                .store
                .set_settings(&[(RETENTION_DAYS, &value)], now_ms())
                .await?;
            "instance".to_string()
        }
        Scope::Department(id) => {
            if !state
                .store
                .set_retention_of(RetentionTarget::Department(id), days)
                .await?
            {
                return Err(RetentionError::NotFound);
            }
            let name = state
                .store
                .department_retention()
                .await?
                .into_iter()
                .find(|d| d.id == id)
                .map_or_else(|| format!("department {id}"), |d| d.name);
            format!("department {name}")
        }
        Scope::Room(id) => {
            if !state
                .store
                .set_retention_of(RetentionTarget::Room(id), days)
                .await?
            {
                return Err(RetentionError::NotFound);
            }
            format!("room {}", state.store.room_label(id).await?)
        }
    };
    let detail = match scope {
        Scope::Instance => shown(Some(days.unwrap_or(0))),
        _ => shown(days),
    };
    audit::record(
        &state.store,
        &Who::from(actor),
        "retention.changed",
        &target,
        &detail,
    )
    .await;
    Ok(())
}

/// The retention job's clock: the real one, or the time written in
/// `GLASSCHAT_TEST_CLOCK_FILE` (tests only).
fn job_now(state: &AppState) -> i64 {
    state
        .config
        .retention
        .test_clock_file
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .unwrap_or_else(now_ms)
}

/// "1 message", "3 messages".
fn count(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Runs the pass every `GLASSCHAT_RETENTION_CHECK_SECS` on every node; of
/// several nodes, the one that takes the lease runs it.
pub fn spawn_retention(state: AppState) {
    if state.config.retention.test_clock_file.is_some() {
        tracing::warn!("GLASSCHAT_TEST_CLOCK_FILE is set: the retention job reads its clock from that file (tests only)");
    }
    let every = Duration::from_secs(state.config.retention.check_secs);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = run(&state).await {
                tracing::warn!(error = %err, "retention pass failed");
            }
        }
    });
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub rooms: i64,
    pub messages: i64,
}

async fn run(state: &AppState) -> std::result::Result<(), StoreError> {
    // The lease runs on the real clock (the job's may be a test's).
    let lease_ms = state.config.retention.lease_secs as i64 * 1000;
    if !state.store.claim_retention(now_ms(), lease_ms).await? {
        return Ok(());
    }
    let outcome = pass(state, job_now(state)).await;
    state.store.release_retention().await?;
    let report = outcome?;
    if report.messages > 0 {
        let detail = format!(
            "{} deleted in {}",
            count(report.messages, "message"),
            count(report.rooms, "conversation")
        );
        let who = Who {
            actor_id: None,
            actor: "retention job".into(),
            address: None,
        };
        audit::record(&state.store, &who, "retention.run", "messages", &detail).await;
        tracing::info!(
            messages = report.messages,
            rooms = report.rooms,
            "retention pass"
        );
    }
    Ok(())
}

/// Deletes, room by room, every message older than its room's retention
/// as of `now`, a step at a time.
async fn pass(state: &AppState, now: i64) -> std::result::Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    for (room, cutoff) in state.store.rooms_due_trim(now).await? {
        let mut deleted = 0;
        // Open tabs hear of the first step at once, then at most once a
        // second, and of the last: each telling costs a summary per
        // member with a socket.
        let mut told: Option<std::time::Instant> = None;
        let mut untold = false;
        loop {
            let step = TrimStep {
                room,
                cutoff,
                limit: STEP,
            };
            let crate::server::store::Stored::Trimmed { messages, .. } =
                state.writer.write(step).await?
            else {
                break;
            };
            deleted += messages;
            untold |= messages > 0;
            if messages < STEP {
                break;
            }
            if told.is_none_or(|at| at.elapsed() >= TELL_EVERY) {
                publish::trimmed(state, room).await?;
                told = Some(std::time::Instant::now());
                untold = false;
            }
            tokio::time::sleep(BREATHE).await;
        }
        if untold {
            publish::trimmed(state, room).await?;
        }
        if deleted > 0 {
            report.rooms += 1;
            report.messages += deleted;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked_and_shown() {
        assert!(matches!(checked(Some(-1)), Err(RetentionError::Invalid)));
        assert!(matches!(
            checked(Some(MAX_RETENTION_DAYS + 1)),
            Err(RetentionError::Invalid)
        ));
        assert!(matches!(checked(None), Ok(None)));
        assert!(matches!(checked(Some(0)), Ok(Some(0))));
        assert_eq!(shown(Some(0)), "kept for ever");
        assert_eq!(shown(Some(30)), "30 days");
        assert_eq!(shown(None), "inherited");
    }
}
