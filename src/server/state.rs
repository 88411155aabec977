use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::realtime::hub::Hub;
use crate::server::cluster::Fanout;
use crate::server::config::Config;
use crate::server::limits::failures::FailureLimiter;
use crate::server::limits::sends::SendLimiter;
use crate::server::store::{Committed, MessageWriter, Store, StoreError};

/// Failed logins allowed per IP and per email in `LOGIN_WINDOW`.
pub const LOGIN_FAILURES_ALLOWED: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// Everything a request handler or server function may need. Provided to
/// server functions as Leptos context by `leptos_routes_with_context`.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Store,
    pub login_limiter: Arc<FailureLimiter>,
    pub send_limiter: Arc<SendLimiter>,
    pub hub: Hub,
    pub writer: MessageWriter,
    /// Tells the other nodes (Postgres); a no-op on SQLite.
    pub fanout: Fanout,
}

impl AppState {
    /// `publisher` makes the writer's hook that publishes each committed
    /// batch (the messages service's); it is passed in, so this layer knows
    /// the hub and the cluster but no service.
    pub fn new(
        config: Config,
        store: Store,
        leptos_options: LeptosOptions,
        publisher: impl FnOnce(Hub, Fanout) -> Committed,
    ) -> Result<AppState, StoreError> {
        let limits = &config.limits;
        let send_limiter = SendLimiter::new(
            limits.send_count,
            Duration::from_secs(limits.send_period_secs.into()),
        );
        // Several nodes need the fan-out, and a hub that records what it
        // handed out for the fan-out's sweep; one node needs neither.
        let (fanout, hub) = match store.postgres_pool() {
            Some(pool) => (Fanout::postgres(pool), Hub::with_heads(limits.socket_queue)),
            None => (Fanout::single_node(), Hub::new(limits.socket_queue)),
        };
        let writer = MessageWriter::spawn(&store, publisher(hub.clone(), fanout.clone()))?;
        Ok(AppState {
            writer,
            fanout,
            hub,
            leptos_options,
            send_limiter: Arc::new(send_limiter),
            config: Arc::new(config),
            store,
            login_limiter: Arc::new(FailureLimiter::new(LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW)),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
