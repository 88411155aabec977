//! Sending Web Push messages (RFC 8030): each payload encrypted for its
//! browser (RFC 8291, `aes128gcm`) and signed with the server's VAPID key
//! (RFC 8292). What a push says is decided by the push service
//! (`services/push.rs`); this only delivers, and refuses to send anywhere
//! but a public address: a subscription's endpoint comes from a browser,
//! so without that check anyone could make the server post to its own
//! network (server-side request forgery).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::server::crypto::VapidKey;

/// The longest endpoint accepted (real ones are 150-400 characters).
pub const MAX_ENDPOINT_CHARS: usize = 1024;
/// How long a push service may keep a push for a device that is offline.
const TIME_TO_LIVE_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("the push endpoint is not a web address")]
    NotUrl,
    #[error("the push endpoint must use https")]
    NotHttps,
    #[error("the push endpoint points at a private or local address")]
    NotPublic,
    #[error("the push endpoint is too long")]
    TooLong,
    #[error("the device's push keys are malformed")]
    BadKeys,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot encrypt the push: {0}")]
    Encrypt(String),
    #[error("cannot sign the push: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("the push service did not answer: {0}")]
    Network(#[from] reqwest::Error),
}

/// Where to push and how to encrypt for it, as the browser gave them
/// (base64url).
#[derive(Debug, Clone, Copy)]
pub struct PushTarget<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// What the push service said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Accepted,
    /// 404 or 410: the subscription is gone for good (unsubscribed,
    /// expired); forget it.
    Gone,
    /// Any other answer (the status code): kept, tried with the next push.
    Refused(u16),
}

/// RFC 8030's `Urgency`: a device on battery may hold back all but high.
#[derive(Debug, Clone, Copy)]
pub enum Urgency {
    High,
    Normal,
}

/// One HTTP client for every push (connections to a push service are
/// reused), resolving names to public addresses only.
#[derive(Clone)]
pub struct Pusher {
    client: reqwest::Client,
    vapid: VapidKey,
    /// The VAPID `sub`: how a push service reaches whoever runs this server.
    contact: String,
    loopback: bool,
}

impl Pusher {
    /// `loopback`: the tests' local receiver is allowed (see
    /// `PushSettings::loopback_endpoints`).
    pub fn new(vapid: VapidKey, contact: String, loopback: bool) -> Result<Pusher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(PublicOnly { loopback }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent("Glasschat")
            .build()?;
        Ok(Pusher {
            client,
            vapid,
            contact,
            loopback,
        })
    }

    /// The public key browsers subscribe with (base64url).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.vapid.public_key())
    }

    /// Checks an endpoint as `check_endpoint` does with this server's
    /// setting.
    pub fn check(&self, endpoint: &str) -> Result<Url, EndpointError> {
        check_endpoint(endpoint, self.loopback)
    }

    /// Encrypts `payload` for `target` and posts it. `topic` (at most 32
    /// base64url characters) lets the push service replace a push for the
    /// same conversation that the device has not fetched yet.
    pub async fn send(
        &self,
        target: PushTarget<'_>,
        payload: &[u8],
        topic: &str,
        urgency: Urgency,
    ) -> Result<Delivery, PushError> {
        let url = self.check(target.endpoint)?;
        let (public, auth) = device_keys(target.p256dh, target.auth)?;
        let body = web_push_native::encrypt(payload.to_vec(), &public, &auth)
            .map_err(|e| PushError::Encrypt(e.to_string()))?;
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + TIME_TO_LIVE_SECS;
        let audience = url.origin().ascii_serialization();
        let authorization = self
            .vapid
            .authorization(&audience, expires, &self.contact)?;
        let response = self
            .client
            .post(url)
            .header("TTL", TIME_TO_LIVE_SECS)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Urgency",
                match urgency {
                    Urgency::High => "high",
                    Urgency::Normal => "normal",
                },
            )
            .header("Topic", topic)
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok(match status {
            200..=299 => Delivery::Accepted,
            404 | 410 => Delivery::Gone,
            other => Delivery::Refused(other),
        })
    }
}

/// A browser's keys: its P-256 public key (65 bytes, uncompressed) and
/// its 16-byte authentication secret, both base64url.
pub fn device_keys(
    p256dh: &str,
    auth: &str,
) -> Result<(p256::PublicKey, web_push_native::Auth), EndpointError> {
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('='));
    let public = decode(p256dh)
        .ok()
        .and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
        .ok_or(EndpointError::BadKeys)?;
    let auth = decode(auth).map_err(|_| EndpointError::BadKeys)?;
    if auth.len() != 16 {
        return Err(EndpointError::BadKeys);
    }
    Ok((public, web_push_native::Auth::clone_from_slice(&auth)))
}

/// An endpoint this server may post to: an https address (plain http only
/// for the loopback receiver of the tests), with no credentials in it, and
/// not naming a private, local or otherwise special address. A name is
/// checked again when it is resolved (`PublicOnly`), so a name that later
/// resolves inwards is refused too.
pub fn check_endpoint(text: &str, loopback: bool) -> Result<Url, EndpointError> {
    if text.len() > MAX_ENDPOINT_CHARS {
        return Err(EndpointError::TooLong);
    }
    let url = Url::parse(text).map_err(|_| EndpointError::NotUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EndpointError::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::NotUrl);
    }
    let host = url.host().ok_or(EndpointError::NotUrl)?;
    let is_loopback = match &host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if is_loopback {
        return if loopback {
            Ok(url)
        } else {
            Err(EndpointError::NotPublic)
        };
    }
    if url.scheme() != "https" {
        return Err(EndpointError::NotHttps);
    }
    let public = match host {
        url::Host::Ipv4(ip) => is_public(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_public(IpAddr::V6(ip)),
        url::Host::Domain(_) => true,
    };
    if public {
        Ok(url)
    } else {
        Err(EndpointError::NotPublic)
    }
}

/// Whether `ip` is an ordinary address on the internet: not loopback,
/// private (RFC 1918, fc00::/7), link-local, shared (100.64/10),
/// unspecified, multicast, broadcast or for documentation, nor an IPv6
/// form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [a, b, ..] = ip.octets();
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = ip.segments()[0];
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && ip.segments()[1] == 0x0db8
                || first == 0x0064 && ip.segments()[1] == 0xff9b)
        }
    }
}

/// Resolves names as the system does, then keeps public addresses only
/// (and loopback ones in test mode).
struct PublicOnly {
    loopback: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let loopback = self.loopback;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|addr| is_public(addr.ip()) || (loopback && addr.ip().is_loopback()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_endpoints_pass() {
        let ok = "https://fcm.googleapis.com/fcm/send/abc:def";
        assert!(check_endpoint(ok, false).is_ok());
        for (endpoint, why) in [
            ("http://push.example.com/x", EndpointError::NotHttps),
            ("https://127.0.0.1/x", EndpointError::NotPublic),
            ("https://localhost:8080/x", EndpointError::NotPublic),
            ("https://10.1.2.3/x", EndpointError::NotPublic),
            ("https://192.168.0.1/x", EndpointError::NotPublic),
            (
                "https://169.254.169.254/latest/meta-data",
                EndpointError::NotPublic,
            ),
            ("https://100.64.0.1/x", EndpointError::NotPublic),
            ("https://[::1]/x", EndpointError::NotPublic),
            ("https://[fd00::1]/x", EndpointError::NotPublic),
            ("https://[fe80::1]/x", EndpointError::NotPublic),
            ("https://[::ffff:10.0.0.1]/x", EndpointError::NotPublic),
            ("https://0.0.0.0/x", EndpointError::NotPublic),
            ("https://user:pw@push.example.com/x", EndpointError::NotUrl),
            ("not a url", EndpointError::NotUrl),
            ("file:///etc/passwd", EndpointError::NotHttps),
        ] {
            assert_eq!(
                check_endpoint(endpoint, false).err(),
                Some(why),
                "{endpoint}"
            );
        }
        let long = format!(
            "https://push.example.com/{}",
            "a".repeat(MAX_ENDPOINT_CHARS)
        );
        assert_eq!(
            check_endpoint(&long, false).err(),
            Some(EndpointError::TooLong)
        );
    }

    #[test]
    fn test_mode_allows_the_loopback_receiver_only() {
        assert!(check_endpoint("http://127.0.0.1:9999/push/1", true).is_ok());
        assert!(check_endpoint("http://localhost:9999/push/1", true).is_ok());
        assert_eq!(
            check_endpoint("http://10.0.0.1/push/1", true).err(),
            Some(EndpointError::NotHttps)
        );
        assert_eq!(
            check_endpoint("https://192.168.1.1/push/1", true).err(),
            Some(EndpointError::NotPublic)
        );
    }

    #[test]
    fn device_keys_are_checked() {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let public = {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes())
        };
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(device_keys(&public, &auth).is_ok());
        assert_eq!(
            device_keys(&public, &URL_SAFE_NO_PAD.encode([7u8; 15])).err(),
            Some(EndpointError::BadKeys)
        );
        assert_eq!(
            device_keys(&URL_SAFE_NO_PAD.encode([4u8; 65]), &auth).err(),
            Some(EndpointError::BadKeys)
        );
        assert_eq!(device_keys("%%", &auth).err(), Some(EndpointError::BadKeys));
    }
}
