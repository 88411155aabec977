//! Deactivating and reactivating accounts. A deactivated account cannot
//! sign in and every session and socket of it ends at once, on every node;
//! its messages stay under its name marked "(deactivated)"; its support
//! conversations stay with the team (one assigned to it goes back to the
//! queue); no group it owned is left without an active owner.
//!
//! The admin page and `glasschat admin deactivate` share the database
//! part. The page's process then tells the sockets (here and, through the
//! cluster, on the other nodes); the command line has no sockets to tell,
//! so every node also closes, once a second, the sockets of accounts
//! deactivated lately (`spawn_watch`).

use std::time::Duration;

use super::actor::Actor;
use super::admin::AdminError;
use super::audit::{self, Who};
use super::publish::push_summaries;
use super::support::resync;
use crate::model::Role;
use crate::realtime::protocol::close;
use crate::server::cluster::Event;
use crate::server::state::AppState;
use crate::server::store::{now_ms, Deactivated, NotDeactivated, Store, UserRow};

type Result<T> = std::result::Result<T, AdminError>;

/// How far back the watch looks: a command-line deactivation is seen by
/// every node running within this long, whatever their clocks say.
const WATCH_WINDOW: Duration = Duration::from_secs(120);

/// The admin page's switch: deactivates (`active` false) or reactivates.
/// Admins only; nobody deactivates themselves, and the last active admin
/// stays. Doing what is already done is no error and logs nothing.
pub async fn set_active(state: &AppState, actor: &Actor, user_id: i64, active: bool) -> Result<()> {
    if actor.role != Role::Admin {
        return Err(AdminError::Forbidden);
    }
    state
        .invite_limiter
        .check(actor.id)
        .map_err(AdminError::SlowDown)?;
    let user = account(&state.store, user_id).await?;
    let who = Who::from(actor);
    if active {
        if state.store.reactivate_user(user_id).await? {
            audit::record(&state.store, &who, "user.reactivated", &user.email, "").await;
            staff_again(state, &user).await?;
            tracing::info!(by = actor.id, user_id, "account reactivated");
        }
        return Ok(());
    }
    if user_id == actor.id {
        return Err(AdminError::Yourself);
    }
    let Some(done) = deactivate(&state.store, &who, &user).await? else {
        return Ok(());
    };
    // Every socket of the account, whatever its session, here and on the
    // other nodes (its sessions are already gone, so none reopens).
    state.hub.end_user(user_id, close::REVOKED);
    state.fanout.announce(Event::EndUser {
        user: user_id,
        code: close::REVOKED,
    });
    resync(state, &done.support_rooms).await?;
    for room in done.new_owners.iter().chain(&done.direct_rooms) {
        push_summaries(state, *room).await?;
    }
    tracing::info!(by = actor.id, user_id, "account deactivated");
    Ok(())
}

/// `glasschat admin deactivate EMAIL`: the database part, plus the staff
/// of the support conversations; the running nodes close the sockets.
pub async fn deactivate_by_email(store: &Store, email: &str) -> Result<String> {
    let user = store
        .user_by_email(email)
        .await?
        .ok_or(AdminError::NotFound)?;
    match deactivate(store, &Who::command_line(), &user).await? {
        None => Ok(format!("{email} was already deactivated\n")),
        Some(done) => {
            let now = now_ms();
            for room in &done.support_rooms {
                store.sync_support_staff(*room, now).await?;
            }
            Ok(format!(
                "deactivated {email}: {} sessions ended (open tabs close within a second), \
                 {} groups got a new owner\n",
                done.sessions.len(),
                done.new_owners.len()
            ))
        }
    }
}

/// `glasschat admin reactivate EMAIL`.
pub async fn reactivate_by_email(store: &Store, email: &str) -> Result<String> {
    let user = store
        .user_by_email(email)
        .await?
        .ok_or(AdminError::NotFound)?;
    if !store.reactivate_user(user.id).await? {
        return Ok(format!("{email} was not deactivated\n"));
    }
    audit::record(store, &Who::command_line(), "user.reactivated", email, "").await;
    let now = now_ms();
    for room in staff_rooms(store, &user).await? {
        store.sync_support_staff(room, now).await?;
    }
    Ok(format!("reactivated {email}: they can sign in again\n"))
}

/// The database part of a deactivation, logged; `None` if it already was.
async fn deactivate(store: &Store, who: &Who, user: &UserRow) -> Result<Option<Deactivated>> {
    match store.deactivate_user(user.id, now_ms()).await? {
        Ok(done) => {
            let detail = format!("{} sessions ended", done.sessions.len());
            audit::record(store, who, "user.deactivated", &user.email, &detail).await;
            Ok(Some(done))
        }
        Err(NotDeactivated::Already) => Ok(None),
        Err(NotDeactivated::LastAdmin) => Err(AdminError::LastAdmin),
        Err(NotDeactivated::Unknown) => Err(AdminError::NotFound),
    }
}

/// An account the admin page manages (a website visitor's is not one).
async fn account(store: &Store, user_id: i64) -> Result<UserRow> {
    store
        .user_by_id(user_id)
        .await?
        .filter(|user| user.site_id.is_none())
        .ok_or(AdminError::NotFound)
}

/// The support conversations a reactivated account is staff of again.
async fn staff_rooms(
    store: &Store,
    user: &UserRow,
) -> std::result::Result<Vec<i64>, crate::server::store::StoreError> {
    match user.role() {
        Role::Admin => store.support_rooms(None).await,
        Role::Agent => {
            store
                .support_rooms(Some(&store.departments_of(user.id).await?))
                .await
        }
        Role::Member => Ok(Vec::new()),
    }
}

/// A reactivated account: staff of its conversations again, and its name
/// unmarked in its partners' lists.
async fn staff_again(state: &AppState, user: &UserRow) -> Result<()> {
    resync(state, &staff_rooms(&state.store, user).await?).await?;
    for room in state.store.direct_rooms_of(user.id).await? {
        push_summaries(state, room).await?;
    }
    Ok(())
}

/// Closes, every second, the sockets on this node of accounts deactivated
/// lately: the way a command-line deactivation reaches running servers.
pub fn spawn_watch(state: AppState) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let since = now_ms() - WATCH_WINDOW.as_millis() as i64;
            match state.store.deactivated_since(since).await {
                Ok(users) => {
                    for user in users {
                        state.hub.end_user(user, close::REVOKED);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not look for deactivated accounts"),
            }
        }
    });
}
