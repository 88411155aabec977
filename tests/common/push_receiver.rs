//! A local Web Push receiver for the tests, standing in for a browser's
//! push service and the browser behind it: each "device" has its own P-256
//! key pair and auth secret, as a browser's subscription does. Every push
//! that arrives is checked as a push service and a browser would check it:
//! the VAPID signature (RFC 8292: an ES256 JWT for this origin, not
//! expiring too far ahead, signed by the key the server publishes), the
//! headers RFC 8030 asks for, and the RFC 8291 payload, decrypted with the
//! device's private key. Anything wrong is recorded as a fault the test
//! asserts away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;

/// A subscription as a browser hands it to the page.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Subscription {
    pub fn form(&self, label: &str) -> Vec<(String, String)> {
        vec![
            ("endpoint".into(), self.endpoint.clone()),
            ("p256dh".into(), self.p256dh.clone()),
            ("auth".into(), self.auth.clone()),
            ("label".into(), label.into()),
        ]
    }
}

/// One push as the device decrypted it, with the headers that came along.
#[derive(Debug, Clone)]
pub struct Push {
    pub payload: serde_json::Value,
    pub topic: String,
    pub urgency: String,
}

struct Device {
    secret: p256::SecretKey,
    auth: [u8; 16],
    received: Vec<Push>,
    /// Answer 410 Gone, as a push service does for an expired subscription.
    gone: bool,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<String, Device>,
    /// The server's VAPID public key (base64url), once the test knows it.
    server_key: Option<String>,
    faults: Vec<String>,
}

#[derive(Clone)]
pub struct PushReceiver {
    pub origin: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushReceiver {
    pub async fn start() -> PushReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the push receiver");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let receiver = PushReceiver {
            origin,
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/push/{device}", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new device named `name`, and its subscription.
    pub fn device(&self, name: &str) -> Subscription {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let mut auth = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut auth);
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        self.lock().devices.insert(
            name.to_string(),
            Device {
                secret,
                auth,
                received: Vec::new(),
                gone: false,
            },
        );
        Subscription {
            endpoint: format!("{}/push/{name}", self.origin),
            p256dh,
            auth: URL_SAFE_NO_PAD.encode(auth),
        }
    }

    /// Every push must be signed by this key (from `push/settings`).
    pub fn expect_server_key(&self, key: &str) {
        self.lock().server_key = Some(key.to_string());
    }

    pub fn set_gone(&self, name: &str) {
        if let Some(device) = self.lock().devices.get_mut(name) {
            device.gone = true;
        }
    }

    pub fn pushes(&self, name: &str) -> Vec<Push> {
        self.lock()
            .devices
            .get(name)
            .map(|d| d.received.clone())
            .unwrap_or_default()
    }

    /// What was wrong with any push so far (none, in a passing test).
    pub fn faults(&self) -> Vec<String> {
        self.lock().faults.clone()
    }

    /// Waits until `name` got at least `count` pushes of `kind`.
    pub async fn wait_for(&self, name: &str, kind: &str, count: usize, secs: u64) -> Vec<Push> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let found: Vec<Push> = self
                .pushes(name)
                .into_iter()
                .filter(|p| p.payload["kind"] == kind)
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} got {} {kind} push(es) of {count} in {secs} s; faults: {:?}",
                found.len(),
                self.faults()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    State(receiver): State<PushReceiver>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = receiver.lock();
    let server_key = inner.server_key.clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let Some(device) = inner.devices.get(&name) else {
        return StatusCode::NOT_FOUND;
    };
    if device.gone {
        return StatusCode::GONE;
    }
    let checked = check(
        &receiver.origin,
        server_key.as_deref(),
        &header,
        &body,
        device,
    );
    match checked {
        Ok(push) => {
            if let Some(device) = inner.devices.get_mut(&name) {
                device.received.push(push);
            }
            StatusCode::CREATED
        }
        Err(fault) => {
            inner.faults.push(format!("{name}: {fault}"));
            StatusCode::BAD_REQUEST
        }
    }
}

fn check(
    origin: &str,
    server_key: Option<&str>,
    header: &impl Fn(&str) -> String,
    body: &[u8],
    device: &Device,
) -> Result<Push, String> {
    // RFC 8030: a time to live, an encoding, an urgency and a short topic.
    header("ttl")
        .parse::<u64>()
        .map_err(|_| "no TTL header".to_string())?;
    if header("content-encoding") != "aes128gcm" {
        return Err(format!("content-encoding {:?}", header("content-encoding")));
    }
    let urgency = header("urgency");
    if !["very-low", "low", "normal", "high"].contains(&urgency.as_str()) {
        return Err(format!("urgency {urgency:?}"));
    }
    let topic = header("topic");
    if topic.len() > 32
        || topic
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(format!("topic {topic:?}"));
    }

    // RFC 8292: `vapid t=<JWT>, k=<key>`, the JWT for this origin.
    let authorization = header("authorization");
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("no vapid authorization")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = Some(t.to_string());
        } else if let Some(k) = part.strip_prefix("k=") {
            key = Some(k.to_string());
        }
    }
    let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
    if let Some(expected) = server_key {
        if key != expected {
            return Err("signed by another key than the server publishes".into());
        }
    }
    let key_bytes = URL_SAFE_NO_PAD
        .decode(&key)
        .map_err(|_| "k= is not base64url")?;
    p256::PublicKey::from_sec1_bytes(&key_bytes).map_err(|_| "k= is not a P-256 key")?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_ec_der(&key_bytes),
        &validation,
    )
    .map_err(|e| format!("VAPID token refused: {e}"))?
    .claims;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let exp = claims["exp"].as_u64().unwrap_or(0);
    if exp > now + 24 * 60 * 60 {
        return Err("VAPID token valid for more than 24 hours".into());
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https://") || sub.starts_with("http://")) {
        return Err(format!("VAPID sub {sub:?}"));
    }

    // RFC 8291: decrypt with the device's key.
    let auth = web_push_native::Auth::clone_from_slice(&device.auth);
    let plain = web_push_native::decrypt(body.to_vec(), &device.secret, &auth)
        .map_err(|e| format!("cannot decrypt: {e}"))?;
    let payload: serde_json::Value =
        serde_json::from_slice(&plain).map_err(|_| "payload is not JSON".to_string())?;
    Ok(Push {
        payload,
        topic,
        urgency,
    })
}
