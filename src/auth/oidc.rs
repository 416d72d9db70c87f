//! Sign-in through the municipality's identity provider (Microsoft Entra
//! ID, or any OpenID Connect provider): the authorisation code flow with
//! PKCE (S256), the provider found by discovery, and the ID token checked by
//! the `openidconnect` crate: its signature against the provider's keys,
//! the issuer, the audience, the expiry and the nonce. The person is
//! matched on a claim (`email` by default, `NAERVAER_OIDC_CLAIM`) to an
//! active employee who may sign in ([`crate::access::may_sign_in`]); then a
//! session starts exactly as after an e-mailed link.
//!
//! Between the redirect and the callback the state's hash, the PKCE
//! verifier and the nonce wait in `oidc_logins` for ten minutes, one use;
//! the browser holds the state in a cookie, so a callback brought by
//! someone else (a forced sign-in) is refused. No token is logged.

use crate::config::Settings;
use crate::crypto::lookup_hash;
use crate::db::schema::{employees, oidc_logins};
use crate::db::{now_unix, DbConnection};
use crate::AppError;
use diesel::prelude::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IdToken,
    IdTokenClaims, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a sign-in may take between the redirect and the callback.
pub const LOGIN_MINUTES: i64 = 10;
/// How long the provider's metadata and keys are kept before they are
/// fetched again (at once when a token names a key not among them).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The path of the callback: the redirect URL to register is the base URL
/// and this.
pub const CALLBACK_PATH: &str = "/oidc/callback";

/// Claims beyond the standard ones (`upn`, `oid`, `tid` …), kept so that a
/// configured claim can be any of them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub other: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type Token = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type Claims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The identity provider as configured.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: crate::config::Secret,
    pub claim: String,
    /// `{base_url}/oidc/callback`.
    pub redirect_url: String,
}

impl OidcSettings {
    /// From the settings, when the issuer is set.
    pub fn from_settings(s: &Settings) -> Option<OidcSettings> {
        let issuer = s.oidc_issuer.clone()?;
        Some(OidcSettings {
            issuer,
            client_id: s.oidc_client_id.clone().unwrap_or_default(),
            client_secret: s
                .oidc_client_secret
                .clone()
                .unwrap_or_else(|| crate::config::Secret::new(String::new())),
            claim: s.oidc_claim.clone(),
            redirect_url: format!("{}{CALLBACK_PATH}", s.base_url),
        })
    }
}

/// Why a sign-in was refused; the page says which in words, the log the
/// kind, never a token.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the identity provider cannot be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the sign-in came back without its state, or twice, or too late")]
    State,
    #[error("the provider refused or the person cancelled: {0}")]
    Denied(String),
    #[error("the ID token did not pass its checks: {0}")]
    Token(String),
    #[error("the token names no {0}")]
    NoClaim(String),
    #[error("no active employee who may sign in has that {0}")]
    Unknown(String),
}

/// The provider's client, from discovery, kept for [`DISCOVERY_TTL`].
#[derive(Clone)]
pub struct Provider {
    settings: Arc<OidcSettings>,
    agent: ureq::Agent,
    client: Arc<RwLock<Option<(Client, Instant)>>>,
}

/// The blocking client openidconnect takes: ureq through [`crate::net`].
fn call(agent: &ureq::Agent, req: HttpRequest) -> Result<HttpResponse, ureq::Error> {
    let (parts, body) = req.into_parts();
    let resp = if body.is_empty() {
        agent.run(openidconnect::http::Request::from_parts(parts, ()))?
    } else {
        agent.run(openidconnect::http::Request::from_parts(parts, body))?
    };
    let (parts, mut body) = resp.into_parts();
    let bytes = body.with_config().limit(1 << 20).read_to_vec()?;
    Ok(openidconnect::http::Response::from_parts(parts, bytes))
}

impl Provider {
    pub fn new(settings: OidcSettings) -> Provider {
        Provider {
            settings: Arc::new(settings),
            agent: crate::net::agent(Duration::from_secs(15)),
            client: Arc::new(RwLock::new(None)),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    fn discover(&self) -> Result<Client, Refusal> {
        let s = &self.settings;
        let http = |req| call(&self.agent, req);
        let issuer =
            IssuerUrl::new(s.issuer.clone()).map_err(|e| Refusal::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover(&issuer, &http)
            .map_err(|e| Refusal::Provider(format!("discovery: {e}")))?;
        let redirect = RedirectUrl::new(s.redirect_url.clone())
            .map_err(|e| Refusal::Provider(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(s.client_id.clone()),
            Some(ClientSecret::new(s.client_secret.expose().to_string())),
        )
        // The secret in the form body (client_secret_post), as Entra ID
        // documents it.
        .set_auth_type(AuthType::RequestBody)
        .set_redirect_uri(redirect))
    }

    /// The client, discovered again when older than the TTL or `fresh`.
    fn client(&self, fresh: bool) -> Result<Client, Refusal> {
        if !fresh {
            if let Some((c, at)) = self.client.read().expect("oidc lock").as_ref() {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(c.clone());
                }
            }
        }
        let c = self.discover()?;
        *self.client.write().expect("oidc lock") = Some((c.clone(), Instant::now()));
        Ok(c)
    }

    /// Starts a sign-in: the provider's authorisation URL (with the PKCE
    /// challenge, the state and the nonce). Talks to the provider (its
    /// metadata, at most once an hour), so it runs without a database
    /// connection; [`remember`] keeps the rest.
    pub fn start(&self) -> Result<Started, Refusal> {
        let client = self.client(false)?;
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
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// The callback's middle step, without a database connection: the
    /// code exchanged (with the PKCE verifier) for the ID token, which is
    /// checked against `nonce`.
    pub fn exchange(&self, code: &str, pending: &Pending) -> Result<Claims, Refusal> {
        let client = self.client(false)?;
        let http = |req| call(&self.agent, req);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Refusal::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request(&http)
            .map_err(|e| Refusal::Denied(format!("token endpoint: {e}")))?;
        let raw = response
            .id_token()
            .ok_or_else(|| Refusal::Token("no ID token in the answer".into()))?
            .to_string();
        match self.verify(&client, &raw, &pending.nonce, None) {
            // The provider may have turned its keys: fetch them once more.
            Err(Refusal::Token(e)) if e.contains("key") => {
                let fresh = self.client(true)?;
                self.verify(&fresh, &raw, &pending.nonce, None)
            }
            other => other,
        }
    }

    /// The person the checked claims name: the configured claim matched to
    /// an active employee who may sign in. Where the provider says the
    /// e-mail is not verified, it is not used.
    pub fn person(&self, conn: &mut DbConnection, claims: &Claims) -> Result<String, Refusal> {
        let name = &self.settings.claim;
        if name == "email" && claims.email_verified() == Some(false) {
            return Err(Refusal::NoClaim("verified email".into()));
        }
        let value = claim(claims, name).ok_or_else(|| Refusal::NoClaim(name.clone()))?;
        employee_by_claim(conn, &value)
            .map_err(|e| Refusal::Provider(e.to_string()))?
            .ok_or_else(|| Refusal::Unknown(name.clone()))
    }

    /// Checks an ID token as a callback does: signature with the
    /// provider's keys, issuer, audience, expiry (at `now`, or the clock),
    /// nonce.
    fn verify(
        &self,
        client: &Client,
        token: &str,
        nonce: &str,
        now: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Claims, Refusal> {
        let token: Token = token
            .parse()
            .map_err(|e: serde_json::Error| Refusal::Token(e.to_string()))?;
        let mut verifier = client.id_token_verifier();
        if let Some(now) = now {
            verifier = verifier.set_time_fn(move || now);
        }
        token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .cloned()
            .map_err(|e| Refusal::Token(e.to_string()))
    }

    /// [`Provider::verify`] for a token got some other way (the tests: a
    /// tampered one, one for another client, one checked later than it
    /// expires).
    pub fn verify_token(
        &self,
        token: &str,
        nonce: &str,
        now: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Claims, Refusal> {
        let client = self.client(false)?;
        self.verify(&client, token, nonce, now)
    }
}

/// A claim's text: the standard ones by name, any other from the extra
/// claims.
pub fn claim(claims: &Claims, name: &str) -> Option<String> {
    match name {
        "email" => claims.email().map(|e| e.as_str().to_string()),
        "preferred_username" => claims.preferred_username().map(|u| u.as_str().to_string()),
        "sub" => Some(claims.subject().as_str().to_string()),
        other => claims
            .additional_claims()
            .other
            .get(other)
            .and_then(|v| v.as_str())
            .map(str::to_string),
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// The active employee whose e-mail address is `value` (in any case) and
/// who may sign in.
fn employee_by_claim(conn: &mut DbConnection, value: &str) -> QueryResult<Option<String>> {
    let candidates: Vec<String> = employees::table
        .filter(employees::active.eq(true))
        .filter(lower(employees::email).eq(value.to_lowercase()))
        .select(employees::id)
        .load(conn)?;
    for id in candidates {
        if super::may_sign_in(conn, &id)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// A sign-in on its way to the provider.
pub struct Started {
    /// Where the browser goes.
    pub url: String,
    /// For the browser's cookie (and, hashed, the database).
    pub state: String,
    verifier: String,
    nonce: String,
}

/// What waits in the database for the callback.
pub struct Pending {
    verifier: String,
    nonce: String,
}

/// Keeps a started sign-in's PKCE verifier and nonce under the state's
/// hash for [`LOGIN_MINUTES`].
pub fn remember(conn: &mut DbConnection, s: &Started) -> Result<(), AppError> {
    let now = now_unix();
    diesel::insert_into(oidc_logins::table)
        .values((
            oidc_logins::state_hash.eq(lookup_hash(&s.state)),
            oidc_logins::pkce_verifier.eq(&s.verifier),
            oidc_logins::nonce.eq(&s.nonce),
            oidc_logins::expires_at.eq(now + LOGIN_MINUTES * 60),
        ))
        .execute(conn)?;
    Ok(())
}

/// The callback's first step: the state must be the one this browser was
/// given (its cookie) and unused; the waiting verifier and nonce are taken,
/// once (a second callback with the same state finds nothing).
pub fn take(
    conn: &mut DbConnection,
    state: &str,
    cookie_state: Option<&str>,
) -> Result<Result<Pending, Refusal>, AppError> {
    if cookie_state != Some(state) || state.is_empty() {
        return Ok(Err(Refusal::State));
    }
    let h = lookup_hash(state);
    crate::db::write_transaction(conn, |conn| {
        let found: Option<(String, String, i64)> = oidc_logins::table
            .find(&h)
            .select((
                oidc_logins::pkce_verifier,
                oidc_logins::nonce,
                oidc_logins::expires_at,
            ))
            .first(conn)
            .optional()?;
        // The delete is the claim: of two callbacks at once, one deletes.
        let taken = diesel::delete(oidc_logins::table.find(&h)).execute(conn)?;
        Ok(match found.filter(|_| taken == 1) {
            Some((verifier, nonce, expires_at)) if expires_at >= now_unix() => {
                Ok(Pending { verifier, nonce })
            }
            _ => Err(Refusal::State),
        })
    })
}

/// The callback's last step: a session for the person (its id for the
/// cookie).
pub fn session_for(conn: &mut DbConnection, employee_id: &str) -> Result<String, AppError> {
    Ok(super::start_session(conn, employee_id)?)
}

/// Deletes sign-ins that never came back (with `serve`'s sweep).
pub fn sweep(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::delete(oidc_logins::table.filter(oidc_logins::expires_at.lt(now_unix()))).execute(conn)
}
