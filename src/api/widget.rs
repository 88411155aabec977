//! The website widget's panel (`/widget/SITE`, framed by the site): what
//! it asks before and after its visitor is known. `host` is the embedding
//! page's origin; the site must list it (the page itself is framed only by
//! that origin: `server/http/widget.rs`). The visitor's session travels in
//! its own partitioned cookie, never the members' one.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{PanelSite, WidgetVisitor};

#[cfg(feature = "ssr")]
use {
    super::edge::Edge,
    crate::server::services::accounts::{SignedIn, SESSION_TTL},
    crate::server::services::actor::Actor,
    crate::server::services::widget::{self, Whereabouts},
    crate::server::store::SiteRow,
};

/// The request's context and the site `key` as embedded by `host`.
#[cfg(feature = "ssr")]
async fn embedded(key: &str, host: &str) -> Result<(Edge, SiteRow), ApiError> {
    let edge = Edge::get()?;
    let site = edge.answer(widget::embedded(&edge.state, key, host).await)?;
    Ok((edge, site))
}

/// The visitor just signed in: their session cookie (partitioned, kept
/// `ttl`), and who they are (the way in says whether verified).
#[cfg(feature = "ssr")]
fn let_in(
    edge: &Edge,
    signed: Result<SignedIn, widget::WidgetError>,
    ttl: std::time::Duration,
    verified: bool,
) -> Result<WidgetVisitor, ApiError> {
    let signed = edge.answer(signed)?;
    edge.set_visitor_cookie(&signed.token.cookie_value, ttl);
    Ok(widget::visitor_view(&signed.user, verified))
}

/// The site as its panel shows it before anyone is known.
#[server(endpoint = "widget/site")]
pub async fn widget_site(site: String, host: String) -> Result<PanelSite, ApiError> {
    let (edge, found) = embedded(&site, &host).await?;
    edge.answer(widget::site_info(&edge.state, &found).await)
}

/// The visitor this browser is signed in as on this site, if any.
#[server(endpoint = "widget/me")]
pub async fn widget_me(site: String, host: String) -> Result<Option<WidgetVisitor>, ApiError> {
    let (edge, found) = embedded(&site, &host).await?;
    let Some(user) = edge.answer(edge.visitor().await)? else {
        return Ok(None);
    };
    match widget::visitor_of(&edge.state, &user, &found).await {
        Ok(visitor) => Ok(Some(visitor)),
        // Another site's visitor, or an anonymous one where the site now
        // wants verified visitors only: nobody here.
        Err(widget::WidgetError::Forbidden | widget::WidgetError::SignInOnSite) => Ok(None),
        Err(err) => edge.answer(Err(err)),
    }
}

/// Signs in the visitor the site's backend vouches for with `token`.
#[server(endpoint = "widget/identify")]
pub async fn widget_identify(
    site: String,
    host: String,
    token: String,
    page: String,
    time_zone: String,
) -> Result<WidgetVisitor, ApiError> {
    let (edge, found) = embedded(&site, &host).await?;
    let whereabouts = Whereabouts::new(&page, &time_zone);
    let signed = widget::identify(&edge.state, edge.peer_ip(), &found, &token, &whereabouts).await;
    let_in(&edge, signed, widget::VERIFIED_SESSION, true)
}

/// Lets an anonymous visitor in (where the site allows it).
#[server(endpoint = "widget/start")]
pub async fn widget_start(
    site: String,
    host: String,
    name: String,
    email: String,
    page: String,
    time_zone: String,
) -> Result<WidgetVisitor, ApiError> {
    let (edge, found) = embedded(&site, &host).await?;
    let whereabouts = Whereabouts::new(&page, &time_zone);
    let ip = edge.peer_ip();
    let signed =
        widget::start_anonymous(&edge.state, ip, &found, &name, &email, &whereabouts).await;
    let_in(&edge, signed, SESSION_TTL, false)
}

/// The visitor's conversation with one of the site's departments (found
/// or started); its room.
#[server(endpoint = "widget/open")]
pub async fn widget_open(
    site: String,
    host: String,
    department: i64,
    page: String,
    time_zone: String,
) -> Result<i64, ApiError> {
    let (edge, found) = embedded(&site, &host).await?;
    let user = edge.require_visitor().await?;
    let whereabouts = Whereabouts::new(&page, &time_zone);
    edge.answer(
        widget::open(
            &edge.state,
            &Actor::from(&user),
            &found,
            department,
            &whereabouts,
        )
        .await,
    )
}

/// Signs the visitor out of this browser (`Glasschat.logout()` on the host
/// page, when its user signs out there).
#[server(endpoint = "widget/leave")]
pub async fn widget_leave() -> Result<(), ApiError> {
    let edge = Edge::get()?;
    if let Some(value) = edge.visitor_cookie() {
        edge.answer(crate::server::services::accounts::log_out(&edge.state, &value).await)?;
    }
    edge.clear_visitor_cookie();
    Ok(())
}
