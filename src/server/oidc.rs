//! Talking to the organisation's OpenID Provider (OpenID Connect Core and
//! Discovery, through the `openidconnect` crate): the authorization URL
//! with PKCE, `state` and nonce, and the code traded for tokens whose ID
//! token is checked (signature against the provider's published keys,
//! issuer, audience, expiry, nonce). Only the protocol: who may sign in
//! and as which account is the single sign-on service's
//! (`services/sso.rs`).

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

use crate::server::config::SsoSettings;

/// How long the provider's metadata and keys are used before asking again
/// (and at once when an ID token's key is not among them).
const METADATA_TTL: Duration = Duration::from_secs(600);
/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/auth/sso/callback";

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider: {0}")]
    Provider(String),
    /// What came back does not check out (a bad code, a bad ID token).
    #[error("refused: {0}")]
    Refused(String),
}

type Result<T> = std::result::Result<T, OidcError>;

/// A sign-in to send the browser to: the URL, and what to keep until the
/// browser comes back.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

/// Who the provider says signed in (from a checked ID token).
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider, as this node knows it.
pub struct OidcProvider {
    settings: SsoSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    /// Never follows a redirect (the crate's advice against SSRF).
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

impl OidcProvider {
    pub fn new(
        settings: SsoSettings,
        public_origin: &str,
    ) -> std::result::Result<OidcProvider, String> {
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| e.to_string())?;
        let redirect = RedirectUrl::new(format!("{public_origin}{CALLBACK_PATH}"))
            .map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(OidcProvider {
            settings,
            issuer,
            redirect,
            http,
            metadata: tokio::sync::Mutex::new(None),
        })
    }

    /// What the login page's button names.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The provider's metadata (and keys): cached, or fetched again.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata> {
        let mut cached = self.metadata.lock().await;
        if let Some((metadata, at)) = cached.as_ref() {
            if !fresh && at.elapsed() < METADATA_TTL {
                return Ok(metadata.clone());
            }
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Provider(format!("discovery: {e}")))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// A new sign-in: PKCE (S256), a random `state` and nonce; asks for
    /// the person's email and name besides their subject.
    pub async fn authorize(&self) -> Result<Authorization> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Trades `code` for tokens (with the PKCE verifier) and checks the ID
    /// token against the provider's keys, this client and `nonce`.
    pub async fn exchange(&self, code: &str, verifier: &str, nonce: &str) -> Result<Identity> {
        let client = self.client(self.metadata(false).await?);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Refused(format!("token endpoint: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::Refused("no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // The provider may have rotated its keys: ask for them once more.
            Err(first) => {
                let fresh = self.client(self.metadata(true).await?);
                let verifier = fresh.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|_| OidcError::Refused(format!("ID token: {first}")))?;
                claims.clone()
            }
        };
        Ok(Identity {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
        })
    }
}
