//! Passkeys (WebAuthn), as the relying party: the portal's identity for authenticators (the
//! host of `PUBLIC_URL`), and the two ceremonies it runs — adding a passkey and using one at the
//! second step of signing in. The challenge's state is kept by the caller, on the server.

use std::sync::Arc;

use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The relying party for the portal at `public_url`; None when its host is an address rather
/// than a name (authenticators accept names only), in which case passkeys are not offered.
pub fn relying_party(public_url: &str) -> Option<Arc<Webauthn>> {
    let url = Url::parse(public_url).ok()?;
    let host = url.domain()?.to_owned();
    let builder = WebauthnBuilder::new(&host, &url).ok()?.rp_name("Concierge");
    // On one's own machine a browser may reach the portal on any port.
    let builder = builder.allow_any_port(host == "localhost");
    builder.build().ok().map(Arc::new)
}

/// What a ceremony's answer could be refused for, in the words the page shows.
pub const REFUSED: &str = "That passkey could not be used. Try again, or use a code from your app.";

/// A new user handle: random, the same for all of one user's passkeys.
pub fn new_handle() -> String {
    Uuid::new_v4().to_string()
}

/// Begins adding a passkey for `handle`/`email` (none of the `stored` ones again): the options
/// for the browser (JSON), and the state to keep.
pub fn begin_adding(
    rp: &Webauthn,
    handle: &str,
    email: &str,
    name: &str,
    stored: &[String],
) -> Option<(String, String)> {
    let handle = Uuid::parse_str(handle).ok()?;
    let existing: Vec<CredentialID> =
        stored.iter().filter_map(|p| serde_json::from_str::<Passkey>(p).ok()).map(|p| p.cred_id().clone()).collect();
    let (options, state) = rp.start_passkey_registration(handle, email, name, Some(existing)).ok()?;
    // Kept on the device where it can be (a "discoverable" passkey), it can also sign in without
    // the password; a security key with no room still serves as the second step.
    let mut options = serde_json::to_value(&options).ok()?;
    options["publicKey"]["authenticatorSelection"]["residentKey"] = "preferred".into();
    Some((options.to_string(), serde_json::to_string(&state).ok()?))
}

/// Finishes adding: the passkey (its credential id as text, and its JSON), when the browser's
/// answer (`credential`, JSON) answers the kept `state`.
pub fn finish_adding(rp: &Webauthn, state: &str, credential: &str) -> Option<(String, String)> {
    let state: PasskeyRegistration = serde_json::from_str(state).ok()?;
    let answer: RegisterPublicKeyCredential = serde_json::from_str(credential).ok()?;
    let passkey = rp.finish_passkey_registration(&answer, &state).ok()?;
    Some((credential_id(passkey.cred_id()), serde_json::to_string(&passkey).ok()?))
}

/// Begins a sign-in's second step with one of these passkeys (their JSON): the options and the
/// state to keep.
pub fn begin_using(rp: &Webauthn, stored: &[String]) -> Option<(String, String)> {
    let passkeys: Vec<Passkey> = stored.iter().filter_map(|p| serde_json::from_str(p).ok()).collect();
    if passkeys.is_empty() {
        return None;
    }
    let (options, state) = rp.start_passkey_authentication(&passkeys).ok()?;
    Some((serde_json::to_string(&options).ok()?, serde_json::to_string(&state).ok()?))
}

/// Finishes the second step: which passkey answered (its credential id) and its JSON after
/// (a new counter), when the answer matches the kept `state` and one of `stored`.
pub fn finish_using(rp: &Webauthn, state: &str, credential: &str, stored: &[String]) -> Option<(String, String)> {
    let state: PasskeyAuthentication = serde_json::from_str(state).ok()?;
    let answer: PublicKeyCredential = serde_json::from_str(credential).ok()?;
    let result = rp.finish_passkey_authentication(&answer, &state).ok()?;
    let mut passkey = stored
        .iter()
        .filter_map(|p| serde_json::from_str::<Passkey>(p).ok())
        .find(|p| p.cred_id() == result.cred_id())?;
    passkey.update_credential(&result);
    Some((credential_id(passkey.cred_id()), serde_json::to_string(&passkey).ok()?))
}

/// Begins a sign-in by a passkey alone (whichever the device holds for this portal): the
/// options and the state to keep.
pub fn begin_signing_in(rp: &Webauthn) -> Option<(String, String)> {
    let (options, state) = rp.start_discoverable_authentication().ok()?;
    Some((serde_json::to_string(&options).ok()?, serde_json::to_string(&state).ok()?))
}

/// Whose passkey answered a sign-in by passkey alone: (user handle, credential id).
pub fn identify(rp: &Webauthn, credential: &str) -> Option<(String, String)> {
    let answer: PublicKeyCredential = serde_json::from_str(credential).ok()?;
    let (handle, _) = rp.identify_discoverable_authentication(&answer).ok()?;
    let id = serde_json::to_value(&answer.raw_id).ok()?.as_str()?.to_owned();
    Some((handle.to_string(), id))
}

/// Finishes a sign-in by passkey alone with the `stored` passkey `identify` named: its JSON after.
pub fn finish_signing_in(rp: &Webauthn, state: &str, credential: &str, stored: &str) -> Option<String> {
    let state: DiscoverableAuthentication = serde_json::from_str(state).ok()?;
    let answer: PublicKeyCredential = serde_json::from_str(credential).ok()?;
    let mut passkey: Passkey = serde_json::from_str(stored).ok()?;
    let result = rp.finish_discoverable_authentication(&answer, state, &[DiscoverableKey::from(&passkey)]).ok()?;
    passkey.update_credential(&result);
    serde_json::to_string(&passkey).ok()
}

fn credential_id(id: &CredentialID) -> String {
    serde_json::to_value(id).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_needed_for_passkeys() {
        assert!(relying_party("http://127.0.0.1:8080").is_none());
        assert!(relying_party("http://[::1]:8080").is_none());
        assert!(relying_party("https://portal.example.com").is_some());
        assert!(relying_party("http://localhost").is_some());
    }

    #[test]
    fn an_answer_that_is_not_one_is_refused() {
        let rp = relying_party("https://portal.example.com").unwrap();
        let (options, state) = begin_adding(&rp, &new_handle(), "ann@example.com", "Ann", &[]).unwrap();
        assert!(options.contains("\"challenge\""));
        for answer in ["", "{}", "null", "\0", &"x".repeat(300_000)] {
            assert!(finish_adding(&rp, &state, answer).is_none());
        }
        assert!(finish_using(&rp, &state, "{}", &[]).is_none(), "a registration's state is no sign-in's");
    }
}
