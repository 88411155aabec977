//! The website widget's panel: what a site's visitor sees in the frame the
//! loader (`public/widget.js`) opens on the host page. First who they are
//! (the host's token, this browser's earlier visit, or a name and an email
//! where the site allows it), then their conversation with the site's
//! department, live over the same socket and sync rules as the app.
//!
//! The panel talks to the host page by `postMessage` only, to the `host`
//! origin exactly (the page is framed by that origin only: see
//! `server/http/widget.rs`), and reads only messages from its parent
//! window with that origin.

use leptos::prelude::*;

use crate::api::widget::{widget_identify, widget_me, widget_open, widget_site, widget_start};
use crate::components::attachments::Attachments;
use crate::components::chat_client::ChatClient;
use crate::components::message_pane::ConversationBody;
use crate::components::open_flags::Dialogs;
use crate::model::{DepartmentView, PanelSite, WidgetVisitor};
use crate::validate::DISPLAY_NAME_MAX;

/// Where the panel stands.
#[derive(Clone, PartialEq)]
enum Stage {
    Loading,
    /// The site or the token was refused (the reason, for the visitor).
    Refused(String),
    /// Verified visitors only, and the host gave no token.
    SignIn,
    /// Anonymous visitors are welcome: the name and email form.
    Form,
    /// Known: which department, if the site offers several.
    Pick(WidgetVisitor),
    Chat(WidgetVisitor, i64),
}

/// What the host page said about itself (its `hello`).
#[derive(Clone, Default)]
struct HostSays {
    token: Option<String>,
    page: String,
}

#[component]
pub fn WidgetPanel(site: String, host: String) -> impl IntoView {
    let stage = RwSignal::new(Stage::Loading);
    let info = RwSignal::new(None::<PanelSite>);
    let said = StoredValue::new(HostSays::default());
    let site = StoredValue::new(site);
    let host = StoredValue::new(host);
    let time_zone = StoredValue::new(time_zone());

    // Who the visitor is, once the host page has said hello (with its
    // token, if it has one).
    let settle = move |host_says: HostSays| {
        said.set_value(host_says.clone());
        leptos::task::spawn_local(async move {
            let (site, host) = (site.get_value(), host.get_value());
            let found = match widget_site(site.clone(), host.clone()).await {
                Ok(found) => found,
                Err(err) => return stage.set(Stage::Refused(err.to_string())),
            };
            info.set(Some(found.clone()));
            let visitor = match host_says.token {
                Some(token) if !token.is_empty() => {
                    match widget_identify(site, host, token, host_says.page, time_zone.get_value())
                        .await
                    {
                        Ok(visitor) => Some(visitor),
                        Err(err) => return stage.set(Stage::Refused(err.to_string())),
                    }
                }
                _ => widget_me(site, host).await.ok().flatten(),
            };
            stage.set(match visitor {
                Some(visitor) => Stage::Pick(visitor),
                None if found.anonymous => Stage::Form,
                None => Stage::SignIn,
            });
        });
    };

    // A known visitor with one department to talk to goes straight in.
    let open_with = move |visitor: WidgetVisitor, department: i64| {
        let page = said.with_value(|s| s.page.clone());
        leptos::task::spawn_local(async move {
            match widget_open(
                site.get_value(),
                host.get_value(),
                department,
                page,
                time_zone.get_value(),
            )
            .await
            {
                Ok(room) => stage.set(Stage::Chat(visitor, room)),
                Err(err) => stage.set(Stage::Refused(err.to_string())),
            }
        });
    };
    Effect::new(move |_| {
        if let Stage::Pick(visitor) = stage.get() {
            let only = info.with(|i| {
                i.as_ref()
                    .filter(|i| i.departments.len() == 1)
                    .map(|i| i.departments[0].id)
            });
            if let Some(department) = only {
                open_with(visitor, department);
            }
        }
    });

    #[cfg(feature = "hydrate")]
    listen_to_host(host.get_value(), settle);
    #[cfg(not(feature = "hydrate"))]
    let _ = settle;

    let close = move |_| tell_host(&host.get_value(), "close", None);
    let title = move || info.with(|i| i.as_ref().map(|i| i.name.clone()).unwrap_or_default());
    view! {
        <div class="flex h-dvh flex-col bg-slate-950" data-stage=move || stage_name(&stage.get())>
            <header class="flex items-center gap-3 border-b border-white/10 px-4 py-3">
                <div class="min-w-0 flex-1">
                    <h1 id="panel-title" class="truncate text-base font-semibold">{title}</h1>
                    <p class="text-xs text-slate-300">"We usually answer within minutes."</p>
                </div>
                <button id="panel-close" type="button" aria-label="Close chat" on:click=close
                    class="rounded-lg px-2 py-1 text-lg text-slate-100 hover:bg-white/10">"×"</button>
            </header>
            {move || match stage.get() {
                Stage::Loading => view! { <p class="p-6 text-sm text-slate-300">"Loading…"</p> }.into_any(),
                Stage::Refused(reason) => view! {
                    <p role="alert" id="panel-refused" class="p-6 text-sm text-rose-300">{reason}</p>
                }.into_any(),
                Stage::SignIn => view! {
                    <p id="panel-sign-in" class="p-6 text-sm text-slate-200">
                        {move || format!("Sign in on {} to chat with us.", title())}
                    </p>
                }.into_any(),
                Stage::Form => view! {
                    <VisitorForm departments=info.with(|i| i.as_ref().map(|i| i.departments.clone()).unwrap_or_default())
                        on_start=move |(name, email, department): (String, String, i64)| {
                            let page = said.with_value(|s| s.page.clone());
                            async move {
                                let visitor = widget_start(site.get_value(), host.get_value(), name, email, page, time_zone.get_value()).await?;
                                open_with(visitor, department);
                                Ok(())
                            }
                        }/>
                }.into_any(),
                Stage::Pick(visitor) => {
                    let departments = info.with(|i| i.as_ref().map(|i| i.departments.clone()).unwrap_or_default());
                    view! {
                        <nav aria-label="Departments" class="space-y-2 p-6">
                            <p class="text-sm text-slate-200">"Who would you like to talk to?"</p>
                            {departments.into_iter().map(|d| {
                                let visitor = visitor.clone();
                                view! {
                                    <button type="button" class="department w-full rounded-lg border border-white/15 px-3 py-2 text-left text-sm hover:bg-white/10"
                                        on:click=move |_| open_with(visitor.clone(), d.id)>{d.name}</button>
                                }
                            }).collect_view()}
                        </nav>
                    }.into_any()
                }
                Stage::Chat(visitor, room) => view! { <VisitorChat visitor room host=host.get_value()/> }.into_any(),
            }}
        </div>
    }
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Loading => "loading",
        Stage::Refused(_) => "refused",
        Stage::SignIn => "sign-in",
        Stage::Form => "form",
        Stage::Pick(_) => "pick",
        Stage::Chat(..) => "chat",
    }
}

/// Name, email and (with several) the department: an anonymous visitor's
/// way in.
#[component]
fn VisitorForm<Start, Started>(departments: Vec<DepartmentView>, on_start: Start) -> impl IntoView
where
    Start: Fn((String, String, i64)) -> Started + Copy + 'static,
    Started: std::future::Future<Output = Result<(), crate::api::ApiError>> + 'static,
{
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let first = departments.first().map(|d| d.id).unwrap_or_default();
    let department = RwSignal::new(first);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let several = departments.len() > 1;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let started = on_start((
            name.get_untracked(),
            email.get_untracked(),
            department.get_untracked(),
        ));
        leptos::task::spawn_local(async move {
            if let Err(err) = started.await {
                error.set(Some(err.to_string()));
            }
            busy.set(false);
        });
    };
    let field = "w-full rounded-lg border border-white/15 bg-white/5 px-3 py-2 text-slate-100 focus:border-sky-400 focus:ring-2 focus:ring-sky-400/40";
    view! {
        <form id="visitor-form" class="space-y-4 p-6" on:submit=submit>
            <p class="text-sm text-slate-200">"Tell us who you are, and we will be right with you."</p>
            <div>
                <label for="visitor-name" class="mb-1 block text-sm font-medium text-slate-200">"Your name"</label>
                <input id="visitor-name" type="text" autocomplete="name" required=true maxlength=DISPLAY_NAME_MAX class=field
                    on:input=move |ev| name.set(event_target_value(&ev)) prop:value=name/>
            </div>
            <div>
                <label for="visitor-email" class="mb-1 block text-sm font-medium text-slate-200">"Email"</label>
                <input id="visitor-email" type="email" autocomplete="email" required=true maxlength=254 class=field
                    on:input=move |ev| email.set(event_target_value(&ev)) prop:value=email/>
            </div>
            <Show when=move || several>
                <div>
                    <label for="visitor-department" class="mb-1 block text-sm font-medium text-slate-200">"Department"</label>
                    <select id="visitor-department" class=field
                        on:change=move |ev| department.set(event_target_value(&ev).parse().unwrap_or(first))>
                        {departments.iter().map(|d| view! { <option value=d.id.to_string()>{d.name.clone()}</option> }).collect_view()}
                    </select>
                </div>
            </Show>
            {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-300">{e}</p> })}
            <button type="submit" id="visitor-start" disabled=move || busy.get()
                class="w-full rounded-lg bg-sky-700 px-3 py-2 text-sm font-semibold text-white hover:bg-sky-600 disabled:opacity-60">
                {move || if busy.get() { "Starting…" } else { "Start chatting" }}
            </button>
        </form>
    }
}

/// The visitor's conversation, live: the app's own socket and pane.
#[component]
fn VisitorChat(visitor: WidgetVisitor, room: i64, host: String) -> impl IntoView {
    let client = ChatClient::new(visitor.user);
    provide_context(client);
    provide_context(Dialogs::new());
    provide_context(Attachments::new());
    client.selected.set(Some(room));
    // The launcher's badge and the host tab's title: what waits unread.
    // Only once the socket has welcomed us: before, the count is not known
    // (and a 0 would blank a badge the loader had right).
    let total = Memo::new(move |_| {
        client
            .state
            .with(|s| (s.user_id != 0).then(|| s.total_unread()))
    });
    Effect::new(move |_| {
        if let Some(count) = total.get() {
            tell_host(&host, "unread", Some(count));
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            crate::realtime::client::start(client.link(), |_| {});
        }
    });
    // The conversation is drawn once the socket has brought it (its
    // history is read from there on, as the app's pane does).
    let here = Memo::new(move |_| client.state.with(|s| s.rooms.contains_key(&room)));
    view! {
        <main aria-label="Conversation" class="flex min-h-0 flex-1 flex-col">
            <Show when=move || here.get() fallback=|| view! { <p class="p-6 text-sm text-slate-300">"Connecting…"</p> }>
                <ConversationBody room/>
            </Show>
        </main>
    }
}

/// The browser's IANA time zone (`Europe/Paris`), for the team.
fn time_zone() -> String {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Posts `{glasschat: kind, count}` to the host page, at its origin only.
fn tell_host(host: &str, kind: &str, count: Option<i64>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
            return;
        };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"glasschat".into(), &kind.into());
        if let Some(count) = count {
            let _ =
                js_sys::Reflect::set(&message, &"count".into(), &JsValue::from_f64(count as f64));
        }
        let _ = parent.post_message(&message, host);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (host, kind, count);
}

/// Listens to the host page (its parent window at `host`, nothing else):
/// `hello` says who the visitor is, `shown`/`hidden` whether the panel is
/// on screen, `logout` that the host's user signed out. Then tells the
/// host the panel is ready for its hello.
#[cfg(feature = "hydrate")]
fn listen_to_host(host: String, settle: impl Fn(HostSays) + Copy + 'static) {
    let expected = host.clone();
    let handle = window_event_listener(leptos::ev::message, move |ev: web_sys::MessageEvent| {
        let parent = web_sys::window().and_then(|w| w.parent().ok().flatten());
        let from_parent = match (ev.source(), parent) {
            (Some(source), Some(parent)) => js_sys::Object::is(&source, &parent),
            _ => false,
        };
        if ev.origin() != expected || !from_parent {
            return;
        }
        let data = ev.data();
        let field = |name: &str| {
            js_sys::Reflect::get(&data, &name.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        match field("glasschat").as_deref() {
            Some("hello") => settle(HostSays {
                token: field("token"),
                page: field("page").unwrap_or_default(),
            }),
            Some("shown") => crate::components::notify::set_panel_hidden(false),
            Some("hidden") => crate::components::notify::set_panel_hidden(true),
            Some("logout") => leptos::task::spawn_local(async move {
                let _ = crate::api::widget::widget_leave().await;
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
    // Until the host says otherwise, the panel is closed (it is made
    // hidden when only the badge or a logout needed it).
    crate::components::notify::set_panel_hidden(true);
    tell_host(&host, "ready", None);
    // Not framed (opened on its own): nobody will say hello.
    let alone = web_sys::window().is_some_and(|w| {
        w.parent()
            .ok()
            .flatten()
            .is_none_or(|p| js_sys::Object::is(&p, &w))
    });
    if alone {
        crate::components::notify::set_panel_hidden(false);
        settle(HostSays::default());
    }
}
