//! Signing in through an OpenID Connect provider: discovery from the issuer, the authorization
//! code flow with PKCE, `state` and `nonce`, and the ID token's signature and claims checked
//! (`openidconnect`). The provider is reached with our own HTTP client, which never follows a
//! redirect (a provider's answer must not send the portal's requests elsewhere).

use std::time::Duration;

use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};

use crate::auth::session::ProviderFlow;
use crate::db::oidc::Provider;

/// The most a provider's answer may weigh.
const ANSWER_LIMIT: usize = 1 << 20;

/// Why a sign-in through a provider did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The provider did not answer, or not as a provider should (down, or misconfigured).
    #[error("the provider can't be reached: {0}")]
    Unreachable(String),
    /// It answered, and the answer does not sign anyone in (a replayed code, a bad token).
    #[error("the provider's answer was refused: {0}")]
    Refused(String),
}

/// What the provider says of the person, once its ID token is checked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// The flow begun: where to send the browser, and what to keep until it comes back.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

/// The client every provider is reached with: short timeouts, no redirects followed.
pub fn http_client() -> reqwest::Client {
    // TLS by ring, as everywhere in the portal (once per process; a second install is refused).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

async fn fetch(client: reqwest::Client, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
    let request = reqwest::Request::try_from(request).map_err(|e| HttpFailure(e.to_string()))?;
    let mut answer = client.execute(request).await.map_err(|e| HttpFailure(e.to_string()))?;
    let mut response = openidconnect::http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    // Read a piece at a time, so that an endless answer is cut off, not held in memory.
    let too_large = || HttpFailure("the answer is larger than 1 MiB".into());
    if answer.content_length().is_some_and(|n| n > ANSWER_LIMIT as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(piece) = answer.chunk().await.map_err(|e| HttpFailure(e.to_string()))? {
        if body.len() + piece.len() > ANSWER_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&piece);
    }
    response.body(body).map_err(|e| HttpFailure(e.to_string()))
}

/// The provider's metadata, read from its issuer's `.well-known/openid-configuration`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<CoreProviderMetadata, Problem> {
    let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| Problem::Unreachable(e.to_string()))?;
    let call = |r: HttpRequest| fetch(http.clone(), r);
    CoreProviderMetadata::discover_async(issuer, &call).await.map_err(|e| Problem::Unreachable(describe(&e)))
}

/// An error and its causes, in one line.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn client(
    metadata: CoreProviderMetadata,
    provider: &Provider,
    secret: &str,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Problem,
> {
    let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|e| Problem::Unreachable(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// Begins a sign-in: the provider's authorization URL, with a fresh `state`, `nonce` and PKCE
/// challenge.
pub async fn start(
    http: &reqwest::Client,
    provider: &Provider,
    secret: &str,
    redirect: &str,
) -> Result<Started, Problem> {
    let metadata = discover(http, &provider.issuer).await?;
    let client = client(metadata, provider, secret, redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut asking = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    for scope in provider.scopes.split_whitespace().filter(|s| *s != "openid") {
        asking = asking.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, state, nonce) = asking.url();
    Ok(Started {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    })
}

/// Ends a sign-in: the code exchanged (with the PKCE verifier), the ID token's signature,
/// issuer, audience, expiry and nonce checked, and the person's subject and email read.
pub async fn finish(
    http: &reqwest::Client,
    provider: &Provider,
    secret: &str,
    redirect: &str,
    code: &str,
    flow: &ProviderFlow,
) -> Result<Identity, Problem> {
    let metadata = discover(http, &provider.issuer).await?;
    let client = client(metadata, provider, secret, redirect)?;
    let call = |r: HttpRequest| fetch(http.clone(), r);
    let exchange = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| Problem::Unreachable(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
    let tokens = exchange.request_async(&call).await.map_err(|e| match e {
        RequestTokenError::Request(e) => Problem::Unreachable(e.to_string()),
        // The body of a refused exchange is never repeated: it may hold tokens.
        RequestTokenError::ServerResponse(e) => Problem::Refused(e.error().to_string()),
        RequestTokenError::Parse(..) => Problem::Refused("the token answer could not be read".into()),
        RequestTokenError::Other(e) => Problem::Refused(e),
    })?;
    let token = tokens.id_token().ok_or_else(|| Problem::Refused("no ID token was given".into()))?;
    let verifier = client.id_token_verifier();
    let claims =
        token.claims(&verifier, &Nonce::new(flow.nonce.clone())).map_err(|e| Problem::Refused(e.to_string()))?;
    // Verified above; read again as JSON for the claim the provider keeps the email in.
    let payload = token.to_string();
    let payload = payload.split('.').nth(1).unwrap_or_default();
    let payload: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let email = payload.get(&provider.email_claim).and_then(|v| v.as_str()).map(str::to_owned);
    // Entra ID sends no `email_verified`; its optional claim `xms_edov` says the email's domain
    // is verified as the tenant's.
    let yes = |claim: &str| match payload.get(claim) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let email_verified = yes("email_verified") || yes("xms_edov");
    let text = |claim: &str| payload.get(claim).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        email,
        email_verified,
        given_name: text("given_name"),
        family_name: text("family_name"),
    })
}
