//! Routes and pages. Each page reads like what it draws; the pieces live in
//! `src/components/`, data comes from server functions in `src/api/`.

/// A page whose code is its own WASM file, fetched when its route is first
/// opened (the chat page, which most visits open, does not carry it); it
/// loads no data before drawing.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> leptos::prelude::AnyView {
                let _nothing_to_load = this;
                leptos::prelude::IntoAny::into_any(leptos::view! { <$page/> })
            }
        }
    };
}

mod admin;
mod admin_node;
mod admin_retention;
mod admin_shared;
mod admin_sites;
mod admin_sso;
mod auth;
mod chat;
mod gate;
mod recovery;
mod reports;
mod settings;
mod widget;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, ParamSegment, SsrMode, StaticSegment};

pub use admin::AdminPage;
pub use auth::{LoginPage, LoginRoute, SignupPage, SignupRoute};
pub use chat::ChatPage;
pub use recovery::{ForgotPage, ForgotRoute, ResetPage, ResetRoute};
pub use reports::ReportsPage;
pub use settings::{SettingsPage, SettingsRoute, UnsubscribePage, UnsubscribeRoute};
pub use widget::{WidgetPage, WidgetRoute};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="dark">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark"/>
                // Installable: icons and the manifest from public/ (served
                // from the site root, under the same CSP).
                <meta name="theme-color" content="#0f172a"/>
                <link rel="icon" href="/favicon.ico" sizes="48x48"/>
                <link rel="icon" href="/icon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/apple-touch-icon.png"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                // The build's files under their content-hashed names (kept
                // for good by browsers: see server/http/build_files.rs).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-950 text-slate-100 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Flips once the WASM client has taken over the page; end-to-end tests
    // wait for it before they click.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title text="Glasschat"/>
        <Router>
            <div id="app" class="glass-backdrop min-h-screen" data-hydrated=move || hydrated.get().to_string()>
                // Async: the session check finishes before the first byte, so a
                // signed-out visitor gets a real 302 to /login.
                <Routes fallback=|| view! { <p class="p-8">"Page not found."</p> }>
                    // One chat page for "/", "/c/ROOM" and "/c/ROOM/SEQ": moving
                    // between conversations keeps the page (and its socket);
                    // the children only name what the address points at.
                    <ParentRoute path=StaticSegment("") view=ChatPage ssr=SsrMode::Async>
                        <Route path=StaticSegment("") view=|| ()/>
                        <Route path=(StaticSegment("c"), ParamSegment("room")) view=|| ()/>
                        <Route path=(StaticSegment("c"), ParamSegment("room"), ParamSegment("seq")) view=|| ()/>
                    </ParentRoute>
                    <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("signup") view={Lazy::<SignupRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("forgot") view={Lazy::<ForgotRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("reset") view={Lazy::<ResetRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("unsubscribe") view={Lazy::<UnsubscribeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("reports") view=ReportsPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("widget"), ParamSegment("site")) view={Lazy::<WidgetRoute>::new()}/>
                </Routes>
            </div>
        </Router>
    }
}
