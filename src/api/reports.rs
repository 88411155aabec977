//! Support reports over HTTP: admins for every department and agent,
//! agents for their own departments and themselves (`server::reports`).

use leptos::prelude::*;

use super::error::ApiError;
use crate::report::Report;

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::reports};

/// Figures per day from `from` to `to` (`YYYY-MM-DD`, at most a year), in
/// the asker's zone (`offset`: minutes east of UTC); `department` and
/// `agent` narrow it (0: all the asker may see).
#[server(endpoint = "reports")]
pub async fn support_report(
    from: String,
    to: String,
    offset: i64,
    department: i64,
    agent: i64,
) -> Result<Report, ApiError> {
    let (edge, actor) = actor().await?;
    let ask = reports::Ask {
        from: &from,
        to: &to,
        offset_minutes: offset,
        department,
        agent,
    };
    edge.answer(reports::report(&edge.state, &actor, &ask).await)
}
