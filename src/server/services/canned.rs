//! Canned replies: a department's ready answers. Its staff (the
//! department's agents and every admin) read, write and delete them; they
//! pick one with `/` in a support conversation of that department.

use std::time::Duration;

use super::actor::Actor;
use crate::model::CannedReply;
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError};
use crate::validate::{self, Field};

/// At most this many canned replies per department.
pub const PER_DEPARTMENT_MAX: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CannedError {
    #[error("not staff of this department")]
    Forbidden,
    #[error("no such canned reply")]
    NotFound,
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("the department has a reply with that title")]
    Taken,
    #[error("too many changes, retry in {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, CannedError>;

/// The canned replies of support conversation `room`'s department, for
/// its staff.
pub async fn for_room(state: &AppState, actor: &Actor, room: i64) -> Result<Vec<CannedReply>> {
    let support = state
        .store
        .support_of(room)
        .await?
        .ok_or(CannedError::Forbidden)?;
    if support.support_user_id == actor.id {
        return Err(CannedError::Forbidden);
    }
    require_staff(state, actor, support.department_id).await?;
    Ok(state.store.canned_replies(support.department_id).await?)
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    department: i64,
    title: &str,
    body: &str,
) -> Result<i64> {
    require_staff(state, actor, department).await?;
    let (title, body) = checked(title, body)?;
    budget(state, actor)?;
    if state.store.canned_replies(department).await?.len() >= PER_DEPARTMENT_MAX {
        return Err(CannedError::Invalid(Field::CannedTitle));
    }
    match state
        .store
        .create_canned(department, &title, &body, actor.id, now_ms())
        .await
    {
        Err(err) if err.is_unique_violation() => Err(CannedError::Taken),
        other => Ok(other?),
    }
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    title: &str,
    body: &str,
) -> Result<()> {
    department_of(state, actor, id).await?;
    let (title, body) = checked(title, body)?;
    budget(state, actor)?;
    match state
        .store
        .update_canned(id, &title, &body, actor.id, now_ms())
        .await
    {
        Err(err) if err.is_unique_violation() => Err(CannedError::Taken),
        other => Ok(other?),
    }
}

pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    department_of(state, actor, id).await?;
    budget(state, actor)?;
    Ok(state.store.delete_canned(id).await?)
}

/// The department of canned reply `id`, if the actor is its staff.
async fn department_of(state: &AppState, actor: &Actor, id: i64) -> Result<i64> {
    let department = state
        .store
        .canned_department(id)
        .await?
        .ok_or(CannedError::NotFound)?;
    require_staff(state, actor, department).await?;
    Ok(department)
}

/// The actor is staff of `department`, which exists (an admin is staff of
/// every department, even one that is not there).
async fn require_staff(state: &AppState, actor: &Actor, department: i64) -> Result<()> {
    if state.store.department(department).await?.is_none() {
        return Err(CannedError::NotFound);
    }
    if actor.site.is_none() && state.store.is_staff(actor.id, department).await? {
        Ok(())
    } else {
        Err(CannedError::Forbidden)
    }
}

fn checked(title: &str, body: &str) -> Result<(String, String)> {
    let title = validate::canned_title(title).map_err(CannedError::Invalid)?;
    let body = validate::canned_body(body).map_err(CannedError::Invalid)?;
    Ok((title, body))
}

fn budget(state: &AppState, actor: &Actor) -> Result<()> {
    state
        .change_limiter
        .check(actor.id)
        .map_err(CannedError::SlowDown)
}
