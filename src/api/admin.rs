//! The admin page over HTTP: accounts, roles, agents' departments and the
//! departments. Admins only, checked against the database on every call.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{AdminUserView, DepartmentView};

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::model::Role, crate::server::services::admin};

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

/// `departments`: the agent's department ids, comma-separated (may be empty).
#[server(endpoint = "admin/agent_departments")]
pub async fn set_departments(user: i64, departments: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    let ids = departments
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| edge.fail(ApiError::BadRequest, "/admin"))?;
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
