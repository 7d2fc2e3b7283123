//! Two-step sign-in: time-based codes (RFC 6238: SHA-1, six digits, 30-second steps, as every
//! authenticator app reads them), the QR code an app scans, and recovery codes.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::secret;

/// Codes from one step before or after are taken too: a phone's clock a little off.
const SKEW: u16 = 1;

/// A new secret: 160 random bits, as base32 text (what an app is given and what is stored).
pub fn new_secret() -> String {
    Secret::from(secret::random_bytes::<20>()).to_base32()
}

fn totp(secret: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(SKEW)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .ok()
}

/// The time step `code` belongs to at `now` (seconds since 1970), when it is right and newer than
/// `last_step`, the last one accepted: a code is never accepted twice.
pub fn check(secret: &str, code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp(secret)?.check(&code, u64::try_from(now).ok()?)?;
    let step = i64::try_from(step).ok()?;
    (last_step.is_none_or(|last| step > last)).then_some(step)
}

/// The code of `now` (for tests, and nothing else).
pub fn code_at(secret: &str, now: i64) -> String {
    totp(secret).map(|t| t.generate(u64::try_from(now).unwrap_or(0)).to_string()).unwrap_or_default()
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn address(issuer: &str, account: &str, secret: &str) -> String {
    let issuer = encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        encode(account)
    )
}

/// Percent-encodes all but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR code of `text` as an SVG image in a `data:` address, drawn on the server: one path of
/// dark squares on white, with a quiet zone of four modules.
pub fn qr_image(text: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let width = size + 8;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {width}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{width}\" height=\"{width}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    );
    Some(format!("data:image/svg+xml;base64,{}", base64(svg.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Ten recovery codes such as `k7rq-m2xd-9p`: 50 random bits each, in letters and digits that
/// are not mistaken for one another.
pub fn new_recovery_codes() -> Vec<String> {
    const LETTERS: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..10)
        .map(|_| {
            let bytes = secret::random_bytes::<10>();
            let chars: String = bytes.iter().map(|b| LETTERS[usize::from(b % 31)] as char).collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..10])
        })
        .collect()
}

/// A recovery code as typed (any case, with or without its dashes and spaces), as it is stored:
/// its digest.
pub fn recovery_digest(typed: &str) -> Option<String> {
    let plain: String = typed.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).flat_map(char::to_lowercase).collect();
    (plain.len() == 10 && plain.chars().all(|c| c.is_ascii_alphanumeric())).then(|| secret::digest(&plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_taken_once_and_from_a_step_either_side() {
        let secret = new_secret();
        let now = 1_800_000_015;
        let code = code_at(&secret, now);
        let step = check(&secret, &code, now, None).expect("the code of now");
        assert_eq!(check(&secret, &code, now, Some(step)), None, "not twice");
        assert!(check(&secret, &code_at(&secret, now - 30), now, None).is_some());
        assert!(check(&secret, &code_at(&secret, now - 90), now, None).is_none());
        assert!(check(&secret, &format!("{} {}", &code[..3], &code[3..]), now, None).is_some());
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert!(check(&secret, bad, now, None).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_read_however_they_are_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let code = &codes[0];
        assert_eq!(code.len(), 12);
        let digest = recovery_digest(code).unwrap();
        assert_eq!(recovery_digest(&code.to_uppercase().replace('-', " ")), Some(digest));
        assert_eq!(recovery_digest("short"), None);
    }

    #[test]
    fn the_qr_image_is_an_svg_and_the_address_is_encoded() {
        let address = address("Acme & Co", "ann@example.com", "ABC");
        assert_eq!(
            address,
            "otpauth://totp/Acme%20%26%20Co:ann%40example.com?secret=ABC&issuer=Acme%20%26%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_image(&address).unwrap().starts_with("data:image/svg+xml;base64,PHN2Zy"));
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }
}
