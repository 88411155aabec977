//! The HTTP edge: the axum router (Leptos pages and server functions,
//! `/health`, `/ws`, static files) and what every request passes through.
//! It calls the services (through `crate::api` and the socket handler) and
//! nothing calls up into it.

mod build_files;
pub mod client;
pub mod cookie;
mod export;
mod files;
mod guards;
mod health;
pub mod metrics;
mod page;
pub mod serve;
mod socket_io;
mod sso;
mod unsubscribe;
mod widget;
pub mod ws;

use axum::middleware;
use axum::routing::{get, post, put};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::app::App;
use crate::server::state::AppState;
use guards::{
    refuse_cross_site, security_headers, server_function_status, shape_of_writes, MAX_REQUEST_BODY,
};
use health::health;
use page::{page, redirects_are_real};

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::behind_token))
        .route("/export/me", get(export::own))
        .route("/auth/sso", get(sso::start))
        .route(crate::server::oidc::CALLBACK_PATH, get(sso::callback))
        .route("/export/room/{id}", get(export::room))
        .leptos_routes_with_context(&state, routes, || provide_context(()), {
            let options = state.leptos_options.clone();
            move || page(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(page))
        // Pages and server-function answers go out compressed to browsers
        // that ask (build files were compressed by the build: see
        // `build_files`). Not the socket: its 101 answer has no body
        // to encode, and must carry no Content-Encoding.
        .layer(compression())
        .layer(middleware::from_fn(redirects_are_real))
        .route("/ws", get(ws::upgrade))
        // Files go out as they are stored (an image is compressed already;
        // a download is not worth compressing on the fly), and an upload's
        // body streams in past the server functions' size limit.
        .route("/api/files/{id}", put(files::upload))
        .route("/files/{id}", get(files::download))
        .route("/files/{id}/{variant}", get(files::image))
        .route("/widget/{key}/unread", get(widget::unread))
        .route(
            "/api/email/unsubscribe",
            post(unsubscribe::unsubscribe).get(unsubscribe::page),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_cross_site,
        ))
        .layer(middleware::from_fn(server_function_status))
        .layer(middleware::from_fn(shape_of_writes))
        .layer(middleware::from_fn(security_headers))
        // Outside the security headers: a widget panel's page is framed
        // by its site's origin, where every other page is framed by none.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            widget::frame_for_site,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .with_state(state)
}

/// Brotli or gzip for text answers (HTML, JSON; build files of a debug
/// build, which has no precompressed copies): what the browser's
/// `Accept-Encoding` allows, anything over 1 KiB. An answer that already
/// has a `Content-Encoding` (a precompressed file) passes untouched.
fn compression() -> tower_http::compression::CompressionLayer<
    tower_http::compression::predicate::And<
        tower_http::compression::predicate::SizeAbove,
        tower_http::compression::predicate::NotForContentType,
    >,
> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(SizeAbove::new(1024).and(NotForContentType::IMAGES))
}
