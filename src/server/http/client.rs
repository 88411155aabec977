//! Who is on the other end of a request: the client's address, for the
//! budgets kept per address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap};

use crate::server::config::Config;

/// The client's address: the TCP peer, or behind a reverse proxy
/// (GLASSCHAT_BEHIND_PROXY) the last `X-Forwarded-For` entry, which our
/// proxy appended (earlier entries are whatever the client claimed).
pub fn client_ip(config: &Config, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
    if config.behind_proxy {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|s| s.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}
