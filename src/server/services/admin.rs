//! The admin page's rules: roles, agents' departments, and the departments
//! themselves. Only admins get past `require_admin`, read from the database
//! on every call, so a demoted admin is refused at once. Every change to
//! who is staff ends in `support::resync`, which updates the memberships
//! and the open sockets of the conversations concerned.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::actor::Actor;
use super::audit::{self, Who};
use super::publish::push_summaries;
use super::support::resync;
use crate::model::{AdminUserView, AuditEntryView, DepartmentView, NodeSizing, Role};
use crate::realtime::protocol::ServerFrame;
use crate::server::cluster::Event;
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admins only")]
    Forbidden,
    #[error("no such user or department")]
    NotFound,
    #[error("at least one admin must remain")]
    LastAdmin,
    #[error("only agents work for departments")]
    NotAnAgent,
    #[error("a department with that name exists")]
    DepartmentTaken,
    #[error("nobody deactivates their own account")]
    Yourself,
    #[error("too many changes; wait {0:?}")]
    SlowDown(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, AdminError>;

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

/// An account the admin page manages: a website visitor's is not one
/// (it can take no role and belongs to no department).
async fn user(state: &AppState, user_id: i64) -> Result<UserRow> {
    state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|user| user.site_id.is_none())
        .ok_or(AdminError::NotFound)
}

/// This node's sizing figures (the same as `/health`'s), for admins.
pub fn node_sizing(state: &AppState, actor: &Actor) -> Result<NodeSizing> {
    require_admin(actor)?;
    Ok(crate::server::metrics::get().sizing(state.hub.connection_count()))
}

pub async fn users(state: &AppState, actor: &Actor) -> Result<Vec<AdminUserView>> {
    require_admin(actor)?;
    Ok(state.store.users_for_admin().await?)
}

/// Entries per page of the admin page's audit log.
const AUDIT_PAGE: i64 = 100;

/// A page of the audit log, newest first, older than entry `before` when given.
pub async fn audit_log(
    state: &AppState,
    actor: &Actor,
    before: Option<i64>,
) -> Result<Vec<AuditEntryView>> {
    require_admin(actor)?;
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(AdminError::SlowDown)?;
    Ok(state.store.audit_log(before, AUDIT_PAGE).await?)
}

pub async fn departments(state: &AppState, actor: &Actor) -> Result<Vec<DepartmentView>> {
    require_admin(actor)?;
    Ok(state.store.departments(true).await?)
}

/// Sets a user's role; an agent made member or admin loses their
/// departments. The change is live and keeps their sessions: their open
/// tabs gain or lose the support conversations at once (`room_added` /
/// `room_removed`) and hear `role_changed` (a promotion shows the queue,
/// a demotion hides it). Nothing granted under the old role outlives the
/// change: every server function reads the role from the database, and
/// socket frames are authorized by membership, which `resync` has already
/// changed. (A session was ended on every role change before; that sent a
/// promoted person to the login page for nothing.)
pub async fn set_role(state: &AppState, actor: &Actor, user_id: i64, role: Role) -> Result<()> {
    require_admin(actor)?;
    let user = user(state, user_id).await?;
    let before = user.role();
    if before == role {
        return Ok(());
    }
    let old_departments = state.store.departments_of(user_id).await?;
    if !state.store.set_role(user_id, role).await? {
        return Err(AdminError::LastAdmin);
    }
    // Admins are staff everywhere: gaining or losing that touches every
    // conversation; otherwise only those of the departments they had.
    let rooms = if before == Role::Admin || role == Role::Admin {
        state.store.support_rooms(None).await?
    } else {
        state.store.support_rooms(Some(&old_departments)).await?
    };
    resync(state, &rooms).await?;
    tell_role(state, user_id, role);
    let detail = format!("{} → {}", before.as_str(), role.as_str());
    audit::record(
        &state.store,
        &Who::from(actor),
        "user.role",
        &user.email,
        &detail,
    )
    .await;
    tracing::info!(
        by = actor.id,
        user_id,
        from = before.as_str(),
        to = role.as_str(),
        "role changed"
    );
    Ok(())
}

/// Tells the user's open tabs, on every node, their role now.
fn tell_role(state: &AppState, user_id: i64, role: Role) {
    let frame = Utf8Bytes::from(ServerFrame::RoleChanged { role }.to_json());
    state.hub.publish_to_user(user_id, frame);
    state.fanout.announce(Event::RoleChanged {
        user: user_id,
        role,
    });
}

/// Replaces an agent's departments; their open tabs gain and lose the
/// conversations at once (`room_added` / `room_removed`), then hear
/// `role_changed`.
pub async fn set_departments(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    departments: &[i64],
) -> Result<()> {
    require_admin(actor)?;
    let user = user(state, user_id).await?;
    if user.role() != Role::Agent {
        return Err(AdminError::NotAnAgent);
    }
    let known = state.store.departments(true).await?;
    if departments
        .iter()
        .any(|d| !known.iter().any(|k| k.id == *d))
    {
        return Err(AdminError::NotFound);
    }
    let mut touched = state.store.departments_of(user_id).await?;
    state
        .store
        .set_agent_departments(user_id, departments)
        .await?;
    touched.extend_from_slice(departments);
    touched.sort_unstable();
    touched.dedup();
    let rooms = state.store.support_rooms(Some(&touched)).await?;
    resync(state, &rooms).await?;
    tell_role(state, user_id, user.role());
    let names: Vec<&str> = known
        .iter()
        .filter(|d| departments.contains(&d.id))
        .map(|d| d.name.as_str())
        .collect();
    let detail = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let who = Who::from(actor);
    audit::record(&state.store, &who, "user.departments", &user.email, &detail).await;
    Ok(())
}

pub async fn create_department(state: &AppState, actor: &Actor, name: &str) -> Result<i64> {
    require_admin(actor)?;
    let id = match state.store.create_department(name, now_ms()).await {
        Err(err) if err.is_unique_violation() => return Err(AdminError::DepartmentTaken),
        other => other?,
    };
    audit::record(
        &state.store,
        &Who::from(actor),
        "department.created",
        name,
        "",
    )
    .await;
    Ok(id)
}

/// Renames a department and/or archives it (no new conversations; the
/// existing ones stay with their staff). Members see the new name live.
pub async fn update_department(
    state: &AppState,
    actor: &Actor,
    id: i64,
    name: &str,
    archived: bool,
) -> Result<()> {
    require_admin(actor)?;
    let before = state
        .store
        .departments(true)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(AdminError::NotFound)?;
    match state.store.update_department(id, name, archived).await {
        Err(err) if err.is_unique_violation() => return Err(AdminError::DepartmentTaken),
        Ok(false) => return Err(AdminError::NotFound),
        other => other?,
    };
    let mut changes = Vec::new();
    if before.name != name {
        changes.push(format!("renamed from {}", before.name));
    }
    if before.archived != archived {
        changes.push(if archived { "archived" } else { "restored" }.to_string());
    }
    if !changes.is_empty() {
        let detail = changes.join("; ");
        audit::record(
            &state.store,
            &Who::from(actor),
            "department.updated",
            name,
            &detail,
        )
        .await;
    }
    for room in state.store.support_rooms(Some(&[id])).await? {
        push_summaries(state, room).await?;
    }
    Ok(())
}
