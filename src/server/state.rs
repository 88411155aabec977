use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::realtime::hub::Hub;
use crate::server::cluster::Fanout;
use crate::server::config::Config;
use crate::server::limits::logins::LoginGuard;
use crate::server::limits::per_user::UserRate;
use crate::server::limits::resets::ResetRate;
use crate::server::limits::signups::SignupRate;
use crate::server::mail::Mailer;
use crate::server::oidc::OidcProvider;
use crate::server::store::{Committed, MessageWriter, Store, StoreError};
use crate::server::webpush::Pusher;

/// Everything a request handler or server function may need. Provided to
/// server functions as Leptos context by `leptos_routes_with_context`.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Store,
    pub login_guard: Arc<LoginGuard>,
    pub signup_rate: Arc<SignupRate>,
    /// Password reset requests per email and per address.
    pub reset_rate: Arc<ResetRate>,
    /// SMTP, when configured; `None` hides every email feature.
    pub mailer: Option<Mailer>,
    /// Web Push; `None` only if the HTTP client could not be built.
    pub pusher: Option<Pusher>,
    pub send_limiter: Arc<UserRate>,
    /// A user's socket frames other than sends (ping, hello, bad frames).
    pub frame_limiter: Arc<UserRate>,
    /// Invitations and registration changes, per user.
    pub invite_limiter: Arc<UserRate>,
    /// Edits, deletes and reactions, per user.
    pub change_limiter: Arc<UserRate>,
    /// Lookups made while typing (the `@` list).
    pub lookup_limiter: Arc<UserRate>,
    /// Searches, per user.
    pub search_limiter: Arc<UserRate>,
    /// Uploads started, per user.
    pub upload_limiter: Arc<UserRate>,
    /// Data exports, per user: each reads a person's whole history.
    pub export_limiter: Arc<UserRate>,
    pub hub: Hub,
    pub writer: MessageWriter,
    /// Tells the other nodes (Postgres); a no-op on SQLite.
    pub fanout: Fanout,
    /// The organisation's OpenID Provider, when single sign-on is set up.
    pub sso: Option<Arc<OidcProvider>>,
    /// Single sign-ins started, per client address and in total (each
    /// leaves a row until it comes back).
    pub sso_starts: Arc<SignupRate>,
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
        mailer: Option<Mailer>,
        pusher: Option<Pusher>,
        sso: Option<OidcProvider>,
    ) -> Result<AppState, StoreError> {
        let limits = &config.limits;
        let send_limiter = UserRate::new(
            limits.send_count,
            Duration::from_secs(limits.send_period_secs.into()),
        );
        let secs = |n: u32| Duration::from_secs(n.into());
        let signup_rate = SignupRate::new(
            (limits.signup_count, secs(limits.signup_period_secs)),
            (
                limits.signup_total_count,
                secs(limits.signup_total_period_secs),
            ),
        );
        // A user's tabs together: ten sockets' worth (fifty tabs that all
        // reconnect after a restart still get their hellos answered).
        let frame_limiter = UserRate::new(
            limits.frame_count.saturating_mul(10),
            Duration::from_secs(limits.frame_period_secs.into()),
        );
        let reset_rate = ResetRate::new(
            (limits.reset_count, secs(limits.reset_period_secs)),
            (
                limits.reset_address_count,
                secs(limits.reset_address_period_secs),
            ),
        );
        let invite_limiter = UserRate::new(limits.invite_count, secs(limits.invite_period_secs));
        let change_limiter = UserRate::new(limits.change_count, secs(limits.change_period_secs));
        let lookup_limiter = UserRate::new(limits.lookup_count, secs(limits.lookup_period_secs));
        let search_limiter = UserRate::new(limits.search_count, secs(limits.search_period_secs));
        let upload_limiter = UserRate::new(limits.upload_count, secs(limits.upload_period_secs));
        // Several nodes need the fan-out, and a hub that records what it
        // handed out for the fan-out's sweep; one node needs neither.
        let (fanout, hub) = match store.postgres_pool() {
            Some(pool) => (
                Fanout::postgres(pool, store.keys.clone()),
                Hub::with_heads(limits.socket_queue),
            ),
            None => (Fanout::single_node(), Hub::new(limits.socket_queue)),
        };
        let writer = MessageWriter::spawn(&store, publisher(hub.clone(), fanout.clone()))?;
        Ok(AppState {
            writer,
            fanout,
            hub,
            leptos_options,
            send_limiter: Arc::new(send_limiter),
            frame_limiter: Arc::new(frame_limiter),
            invite_limiter: Arc::new(invite_limiter),
            change_limiter: Arc::new(change_limiter),
            lookup_limiter: Arc::new(lookup_limiter),
            search_limiter: Arc::new(search_limiter),
            upload_limiter: Arc::new(upload_limiter),
            // Three in ten minutes: enough to retry a download, too few to
            // make the server read everything over and over.
            export_limiter: Arc::new(UserRate::new(3, Duration::from_secs(600))),
            config: Arc::new(config),
            store,
            login_guard: Arc::new(LoginGuard::default()),
            signup_rate: Arc::new(signup_rate),
            reset_rate: Arc::new(reset_rate),
            mailer,
            pusher,
            sso: sso.map(Arc::new),
            sso_starts: Arc::new(SignupRate::new(
                (30, Duration::from_secs(60)),
                (600, Duration::from_secs(60)),
            )),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
