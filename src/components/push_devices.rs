//! "Notifications on this device": turns Web Push on or off for this
//! browser (the browser asks for permission only on that click), lists
//! every device that gets pushes with a way to remove each, and the
//! previews setting. The service worker that shows the pushes is
//! `public/sw.js`.

use leptos::prelude::*;

use crate::api::notifications::{push_settings, remove_push_device, set_push_previews};
use crate::components::text::short_time;
use crate::model::PushSettingsView;

/// Where this browser's device id is kept (to mark it in the list, and to
/// remove it from the server when pushes are turned off here).
#[cfg(feature = "hydrate")]
const DEVICE_KEY: &str = "glasschat.push.device";

/// This browser, as far as pushes go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Here {
    /// Still looking.
    Checking,
    /// No service workers or no Push API (or not a secure page).
    Unsupported,
    /// Notifications were blocked for this site in the browser.
    Blocked,
    Off,
    On,
}

#[component]
pub fn PushDevices() -> impl IntoView {
    let settings = Resource::new(|| (), |_| push_settings());
    let here = RwSignal::new(Here::Checking);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let this_device = RwSignal::new(None::<i64>);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        this_device.set(browser::stored_device());
        leptos::task::spawn_local(async move {
            let _ = here.try_set(browser::state().await);
        });
    });

    let turn_on = move |key: String| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = enable(key).await;
            let _ = busy.try_set(false);
            match result {
                Ok(id) => {
                    let _ = this_device.try_set(Some(id));
                    let _ = here.try_set(Here::On);
                    settings.refetch();
                }
                Err(Failure::Blocked) => {
                    let _ = here.try_set(Here::Blocked);
                }
                Err(Failure::Said(text)) => {
                    let _ = error.try_set(Some(text));
                }
            }
        });
    };
    let turn_off = move || {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            browser::unsubscribe().await;
            if let Some(id) = this_device.get_untracked() {
                let _ = remove_push_device(id).await;
            }
            #[cfg(feature = "hydrate")]
            browser::forget_device();
            let _ = this_device.try_set(None);
            let _ = here.try_set(Here::Off);
            let _ = busy.try_set(false);
            settings.refetch();
        });
    };
    let remove = move |id: i64| {
        leptos::task::spawn_local(async move {
            match remove_push_device(id).await {
                Ok(()) => {
                    if this_device.get_untracked() == Some(id) {
                        #[cfg(feature = "hydrate")]
                        {
                            browser::unsubscribe().await;
                            browser::forget_device();
                        }
                        let _ = this_device.try_set(None);
                        let _ = here.try_set(Here::Off);
                    }
                    settings.refetch();
                }
                Err(e) => {
                    let _ = error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    let previews = move |on: bool| {
        leptos::task::spawn_local(async move {
            if let Err(e) = set_push_previews(on).await {
                let _ = error.try_set(Some(e.to_string()));
            }
            settings.refetch();
        });
    };

    view! {
        <section id="push" aria-labelledby="push-title" class="mt-10">
            <h2 id="push-title" class="text-xl font-semibold">"Notifications on this device"</h2>
            <p class="mt-2 text-sm text-slate-300">
                "A direct message, a mention or a support conversation that waits for you can pop up on this computer or phone even with Glasschat closed: a few seconds after it arrives, unless you are using Glasschat in a tab. Reading it anywhere takes the notification away."
            </p>
            <Transition fallback=|| view! { <p class="mt-4 text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(err) => view! { <p role="alert" class="mt-4 text-rose-300">{err.to_string()}</p> }.into_any(),
                        Ok(view) => push_view(view, here, busy, this_device, turn_on, turn_off, remove, previews).into_any(),
                    }
                })}
            </Transition>
            {move || error.get().map(|text| view! {
                <p id="push-error" role="alert" class="mt-3 rounded-lg border border-rose-400/30 bg-rose-500/10 px-3 py-2 text-sm text-rose-200">{text}</p>
            })}
        </section>
    }
}

#[allow(clippy::too_many_arguments)]
fn push_view(
    view: PushSettingsView,
    here: RwSignal<Here>,
    busy: RwSignal<bool>,
    this_device: RwSignal<Option<i64>>,
    turn_on: impl Fn(String) + Copy + Send + Sync + 'static,
    turn_off: impl Fn() + Copy + Send + Sync + 'static,
    remove: impl Fn(i64) + Copy + Send + Sync + 'static,
    previews: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let key = view.public_key.clone();
    let now = crate::components::text::now_ms();
    let devices = view.devices.clone();
    view! {
        <div class="mt-4 space-y-4">
            {move || match here.get() {
                Here::Checking => view! { <p class="text-sm text-slate-400">"Checking this browser…"</p> }.into_any(),
                Here::Unsupported => view! {
                    <p id="push-unsupported" role="note" class="text-sm text-amber-100">
                        "This browser cannot receive notifications from Glasschat (it needs service workers and the Push API, on an https address)."
                    </p>
                }.into_any(),
                Here::Blocked => view! {
                    <p id="push-blocked" role="note" class="text-sm text-amber-100">
                        "Notifications are blocked for this site. Allow them in the browser's site settings (the icon left of the address), then come back here."
                    </p>
                }.into_any(),
                Here::Off => {
                    let key = key.clone();
                    view! {
                        <button id="push-on" type="button" disabled=move || busy.get()
                            on:click=move |_| turn_on(key.clone())
                            class="rounded-lg bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-600 disabled:opacity-50">
                            "Turn on for this device"
                        </button>
                    }.into_any()
                }
                Here::On => view! {
                    <p class="text-sm text-emerald-200" role="status">"This device gets notifications."</p>
                    <button id="push-off" type="button" disabled=move || busy.get() on:click=move |_| turn_off()
                        class="rounded-lg border border-white/20 px-4 py-2 text-sm text-slate-100 hover:bg-white/10 disabled:opacity-50">
                        "Turn off for this device"
                    </button>
                }.into_any(),
            }}
            <label class="flex items-center gap-2 text-sm text-slate-100">
                <input id="push-previews" type="checkbox" checked=view.previews
                    on:change=move |ev| previews(event_target_checked(&ev))/>
                "Show the message's text in notifications (otherwise only who wrote and where)"
            </label>
            <div>
                <h3 class="text-sm font-medium text-slate-200">"Devices that get notifications"</h3>
                {if devices.is_empty() {
                    view! { <p id="push-no-devices" class="mt-2 text-sm text-slate-400">"None yet."</p> }.into_any()
                } else {
                    view! {
                        <ul id="push-devices" class="mt-2 divide-y divide-white/10 rounded-lg border border-white/10">
                            {devices.into_iter().map(|device| {
                                let id = device.id;
                                let last = device.last_push_at.map_or_else(
                                    || "no notification yet".to_string(),
                                    |at| format!("last notified {}", short_time(at, now)),
                                );
                                view! {
                                    <li class="flex items-center justify-between gap-3 px-3 py-2 text-sm" data-device=id.to_string()>
                                        <span>
                                            <span class="text-slate-100">{device.label.clone()}</span>
                                            {move || (this_device.get() == Some(id)).then(|| view! { <span class="ml-2 text-xs text-emerald-300">"(this device)"</span> })}
                                            <span class="block text-xs text-slate-400">
                                                {format!("added {} · {last}", short_time(device.created_at, now))}
                                            </span>
                                        </span>
                                        <button type="button" class="push-remove rounded px-2 py-1 text-xs text-rose-200 hover:bg-rose-500/20"
                                            aria-label=format!("Remove {}", device.label)
                                            on:click=move |_| remove(id)>
                                            "Remove"
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        </div>
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Failure {
    Blocked,
    Said(String),
}

/// Asks for permission, subscribes this browser with the server's key and
/// registers the subscription; the device's id.
async fn enable(key: String) -> Result<i64, Failure> {
    #[cfg(feature = "hydrate")]
    {
        use crate::api::notifications::subscribe_push;
        use crate::api::ApiError;

        let subscription = browser::subscribe(&key).await?;
        let label = browser::label();
        let sent = subscribe_push(
            subscription.endpoint.clone(),
            subscription.p256dh.clone(),
            subscription.auth.clone(),
            label.clone(),
        )
        .await;
        let device = match sent {
            // The browser's subscription was made for another account
            // signed in here before: a fresh one belongs to this account.
            Err(ApiError::PushDeviceTaken) => {
                browser::unsubscribe().await;
                let fresh = browser::subscribe(&key).await?;
                subscribe_push(fresh.endpoint, fresh.p256dh, fresh.auth, label).await
            }
            other => other,
        }
        .map_err(|e| Failure::Said(e.to_string()))?;
        browser::remember_device(device.id);
        Ok(device.id)
    }
    // The server never runs a click.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        Err(Failure::Said(String::new()))
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! The browser's side: service worker, Push API, permission.

    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{NotificationPermission, PushSubscription, PushSubscriptionOptionsInit};

    use super::{Failure, Here, DEVICE_KEY};

    pub struct Subscription {
        pub endpoint: String,
        pub p256dh: String,
        pub auth: String,
    }

    fn supported() -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let has = |target: &JsValue, name: &str| {
            Reflect::has(target, &JsValue::from_str(name)).unwrap_or(false)
        };
        window.is_secure_context()
            && has(&window.navigator(), "serviceWorker")
            && has(&window, "PushManager")
            && has(&window, "Notification")
    }

    async fn current() -> Option<PushSubscription> {
        let container = web_sys::window()?.navigator().service_worker();
        let registration = JsFuture::from(container.get_registration()).await.ok()?;
        let registration: web_sys::ServiceWorkerRegistration = registration.dyn_into().ok()?;
        let found = JsFuture::from(registration.push_manager().ok()?.get_subscription().ok()?)
            .await
            .ok()?;
        found.dyn_into().ok()
    }

    pub async fn state() -> Here {
        if !supported() {
            return Here::Unsupported;
        }
        if web_sys::Notification::permission() == NotificationPermission::Denied {
            return Here::Blocked;
        }
        if current().await.is_some() && stored_device().is_some() {
            Here::On
        } else {
            Here::Off
        }
    }

    fn said(what: &str, err: JsValue) -> Failure {
        let detail = Reflect::get(&err, &JsValue::from_str("message"))
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default();
        Failure::Said(format!("{what}: {detail}"))
    }

    pub async fn subscribe(key: &str) -> Result<Subscription, Failure> {
        if !supported() {
            return Err(Failure::Said(
                "This browser cannot receive notifications from Glasschat.".into(),
            ));
        }
        let asked = web_sys::Notification::request_permission()
            .map_err(|e| said("The browser did not ask for permission", e))?;
        let answer = JsFuture::from(asked)
            .await
            .map_err(|e| said("The browser did not ask for permission", e))?;
        if answer.as_string().as_deref() != Some("granted") {
            return Err(Failure::Blocked);
        }
        let window = web_sys::window().ok_or(Failure::Blocked)?;
        let container = window.navigator().service_worker();
        JsFuture::from(container.register("/sw.js"))
            .await
            .map_err(|e| said("The notification worker did not start", e))?;
        let ready = container
            .ready()
            .map_err(|e| said("The notification worker did not start", e))?;
        let registration: web_sys::ServiceWorkerRegistration = JsFuture::from(ready)
            .await
            .map_err(|e| said("The notification worker did not start", e))?
            .unchecked_into();
        let options = PushSubscriptionOptionsInit::new();
        options.set_user_visible_only(true);
        options.set_application_server_key(&JsValue::from_str(key));
        let manager = registration
            .push_manager()
            .map_err(|e| said("This browser has no push service", e))?;
        let made = manager
            .subscribe_with_options(&options)
            .map_err(|e| said("The browser's push service refused", e))?;
        let subscription: PushSubscription = JsFuture::from(made)
            .await
            .map_err(|e| said("The browser's push service refused", e))?
            .unchecked_into();
        let json = subscription
            .to_json()
            .map_err(|e| said("The browser's push service refused", e))?;
        let keys = Reflect::get(&json, &JsValue::from_str("keys")).unwrap_or(JsValue::NULL);
        let key_of = |name: &str| {
            Reflect::get(&keys, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        Ok(Subscription {
            endpoint: subscription.endpoint(),
            p256dh: key_of("p256dh"),
            auth: key_of("auth"),
        })
    }

    pub async fn unsubscribe() {
        if let Some(subscription) = current().await {
            if let Ok(promise) = subscription.unsubscribe() {
                let _ = JsFuture::from(promise).await;
            }
        }
    }

    /// "Chrome on Linux": what the device list calls this browser.
    pub fn label() -> String {
        let agent = web_sys::window()
            .and_then(|w| w.navigator().user_agent().ok())
            .unwrap_or_default();
        let browser = [
            ("Edg/", "Edge"),
            ("OPR/", "Opera"),
            ("Firefox/", "Firefox"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
        ]
        .iter()
        .find(|(mark, _)| agent.contains(mark))
        .map_or("A browser", |(_, name)| name);
        let system = [
            ("Android", "Android"),
            ("iPhone", "iPhone"),
            ("iPad", "iPad"),
            ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"),
            ("Linux", "Linux"),
        ]
        .iter()
        .find(|(mark, _)| agent.contains(mark))
        .map(|(_, name)| *name);
        match system {
            Some(system) => format!("{browser} on {system}"),
            None => browser.to_string(),
        }
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    pub fn stored_device() -> Option<i64> {
        storage()?.get_item(DEVICE_KEY).ok().flatten()?.parse().ok()
    }

    pub fn remember_device(id: i64) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(DEVICE_KEY, &id.to_string());
        }
    }

    pub fn forget_device() {
        if let Some(storage) = storage() {
            let _ = storage.remove_item(DEVICE_KEY);
        }
    }
}
