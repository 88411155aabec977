//! The admin page over HTTP: accounts, roles, agents' departments and the
//! departments. Admins only, checked against the database on every call.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{
    AdminUserView, AuditEntryView, DepartmentView, InviteLinkView, NewInviteLink, NodeSizing,
    RegistrationPolicy, RetentionView, SsoView,
};

#[cfg(feature = "ssr")]
use {
    super::edge::actor,
    crate::model::{RegistrationMode, Role},
    crate::server::services::retention::{self, Scope},
    crate::server::services::sso,
    crate::server::services::{admin, lifecycle, registration},
};

#[server(endpoint = "admin/users")]
pub async fn users() -> Result<Vec<AdminUserView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(admin::users(&edge.state, &actor).await)
}

#[server(endpoint = "admin/departments")]
pub async fn departments() -> Result<Vec<DepartmentView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(admin::departments(&edge.state, &actor).await)
}

/// `role` is `member`, `agent` or `admin`.
#[server(endpoint = "admin/role")]
pub async fn set_role(user: i64, role: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let role = Role::parse(&role).ok_or_else(|| edge.fail(ApiError::BadRequest, "/admin"))?;
    edge.answer(admin::set_role(&edge.state, &actor, user, role).await)
}

/// Deactivates (`active` false) or reactivates an account: a deactivated
/// one is signed out everywhere at once and cannot sign in.
#[server(endpoint = "admin/active")]
pub async fn set_active(user: i64, active: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(lifecycle::set_active(&edge.state, &actor, user, active).await)
}

/// A page of the audit log, newest first; `before` an entry id to page on.
#[server(endpoint = "admin/audit")]
pub async fn audit_log(before: Option<i64>) -> Result<Vec<AuditEntryView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(admin::audit_log(&edge.state, &actor, before).await)
}

/// `departments`: the agent's department ids, comma-separated (may be empty).
#[server(endpoint = "admin/agent_departments")]
pub async fn set_departments(user: i64, departments: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let ids = crate::validate::id_list(&departments)
        .ok_or_else(|| edge.fail(ApiError::BadRequest, "/admin"))?;
    edge.answer(admin::set_departments(&edge.state, &actor, user, &ids).await)
}

#[server(endpoint = "admin/department/create")]
pub async fn create_department(name: String) -> Result<i64, ApiError> {
    let (edge, actor) = actor().await?;
    let name = crate::validate::department_name(&name)
        .map_err(|field| edge.fail(field.into(), "/admin"))?;
    edge.answer(admin::create_department(&edge.state, &actor, &name).await)
}

/// Renames a department and sets whether it is archived.
#[server(endpoint = "admin/department/update")]
pub async fn update_department(id: i64, name: String, archived: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let name = crate::validate::department_name(&name)
        .map_err(|field| edge.fail(field.into(), "/admin"))?;
    edge.answer(admin::update_department(&edge.state, &actor, id, &name, archived).await)
}

/// Who may sign up: the mode and the domain list.
#[server(endpoint = "admin/registration")]
pub async fn registration() -> Result<RegistrationPolicy, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(registration::settings(&edge.state, &actor).await)
}

/// `mode` is `open`, `invite` or `domains`; `domains` a list such as
/// `example.com, example.org` (kept in every mode, needed by `domains`).
#[server(endpoint = "admin/registration/set")]
pub async fn set_registration(
    mode: String,
    domains: String,
) -> Result<RegistrationPolicy, ApiError> {
    let (edge, actor) = actor().await?;
    let mode =
        RegistrationMode::parse(&mode).ok_or_else(|| edge.fail(ApiError::BadRequest, "/admin"))?;
    edge.answer(registration::set_policy(&edge.state, &actor, mode, &domains).await)
}

/// The admins' invitation links nobody has used yet.
#[server(endpoint = "admin/invite_links")]
pub async fn invite_links() -> Result<Vec<InviteLinkView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(registration::links(&edge.state, &actor).await)
}

/// A new single-use invitation link valid for `days` (1 to 30); its
/// address is in this answer only.
#[server(endpoint = "admin/invite_links/create")]
pub async fn create_invite_link(days: u32) -> Result<NewInviteLink, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(registration::create_link(&edge.state, &actor, days).await)
}

#[server(endpoint = "admin/invite_links/revoke")]
pub async fn revoke_invite_link(id: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(registration::revoke_link(&edge.state, &actor, id).await)
}

/// How long messages are kept: the instance's days, every department's
/// and the rooms that have their own.
#[server(endpoint = "admin/retention")]
pub async fn retention() -> Result<RetentionView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(retention::settings(&edge.state, &actor).await)
}

/// Sets how many days messages are kept. `scope` is `instance`,
/// `department` or `room` (then `id` names it); `days` is a whole number
/// of days (0: for ever), or empty to inherit (the instance: for ever).
#[server(endpoint = "admin/retention/set")]
pub async fn set_retention(scope: String, id: Option<i64>, days: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let scope = match (scope.as_str(), id) {
        ("instance", None) => Scope::Instance,
        ("department", Some(id)) => Scope::Department(id),
        ("room", Some(id)) => Scope::Room(id),
        _ => return Err(edge.fail(ApiError::BadRequest, "/admin")),
    };
    let days = match days.trim() {
        "" => None,
        text => Some(text.parse::<i64>().map_err(|_| {
            edge.fail(
                ApiError::Invalid(crate::validate::Field::RetentionDays),
                "/admin",
            )
        })?),
    };
    edge.answer(retention::set(&edge.state, &actor, scope, days).await)
}

/// Single sign-on: the provider (from the server's settings) and what
/// admins choose.
#[server(endpoint = "admin/sso")]
pub async fn sso_settings() -> Result<SsoView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(sso::settings(&edge.state, &actor).await)
}

/// Whether a first single sign-on takes over the account with the same
/// verified email, and whether passwords still sign in.
#[server(endpoint = "admin/sso/set")]
pub async fn set_sso(link_by_email: bool, password_login: bool) -> Result<SsoView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(sso::set(&edge.state, &actor, link_by_email, password_login).await)
}

/// This node's sizing figures: sockets and the most it can hold, messages
/// a second, writes per transaction, memory (what `/health` shows).
#[server(endpoint = "admin/node")]
pub async fn node_status() -> Result<NodeSizing, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(admin::node_sizing(&edge.state, &actor))
}
