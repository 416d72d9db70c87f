//! Secrets and what is derived from them: the installation's key, survey
//! tokens and paper codes, the one hash that stores them, random ids and
//! tokens, and masking of secrets in text. A leaf: it knows nothing of the
//! database or the web.
//!
//! Survey tokens and paper codes are never stored. Both are derived when needed as
//! HMAC-SHA256(server secret, purpose ‖ invitation id), where the invitation
//! id is 128 random bits; the database keeps only a SHA-256 hash to look the
//! invitation up. Deriving instead of storing means the outbox holds no
//! secret, a reminder carries the same working link as the invitation, and a
//! message resent after a crash is identical to the first.

use crate::AppError;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// Crockford's base32: no I, L, O or U, so a code typed from paper cannot be
/// misread; `normalise_code` maps the look-alikes back.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a paper code: 11 × 5 = 55 bits.
pub const CODE_LEN: usize = 11;
/// Characters in an e-mail token: 32 × 5 = 160 bits.
pub const TOKEN_LEN: usize = 32;

// ANONYMITY.md §1 and the issue: tokens ≥ 128 bits, paper codes ≥ 50 bits.
const _: () = assert!(TOKEN_LEN * 5 >= 128 && CODE_LEN * 5 >= 50);

/// The installation's secret key (`NAERVAER_SECRET_KEY`).
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    pub fn new(s: &str) -> Result<SecretKey, AppError> {
        if s.len() < 32 {
            return Err(AppError::config(
                "NAERVAER_SECRET_KEY must be at least 32 characters; `naervaer secret` prints a new one",
            ));
        }
        Ok(SecretKey(s.as_bytes().to_vec()))
    }

    /// A new random key, 256 bits as 64 hex digits.
    pub fn generate() -> String {
        random_hex(32)
    }

    fn derive(&self, purpose: &str, invitation_id: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(invitation_id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token in the e-mailed link `/s/{token}`.
    pub fn survey_token(&self, invitation_id: &str) -> String {
        base32(&self.derive("survey-token", invitation_id), TOKEN_LEN).to_ascii_lowercase()
    }

    /// The token in the e-mailed link `/redegjorelse/{token}` of a written
    /// account: only that account's form opens with it.
    pub fn account_token(&self, account_id: &str) -> String {
        base32(&self.derive("account-token", account_id), TOKEN_LEN).to_ascii_lowercase()
    }

    /// The token in the link `/r/{token}` of a "results are ready"
    /// message: it opens one group's released results of one round, and
    /// names no person (everyone in the group gets the same link).
    pub fn results_token(&self, round_id: &str, group_key: &str) -> String {
        let id = format!("{round_id}\0{group_key}");
        base32(&self.derive("results-token", &id), TOKEN_LEN).to_ascii_lowercase()
    }

    /// The one-time code on a paper letter.
    pub fn paper_code(&self, invitation_id: &str) -> String {
        base32(&self.derive("paper-code", invitation_id), CODE_LEN)
    }
}

fn base32(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        if out.len() == len {
            break;
        }
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    out
}

/// What is stored instead of a secret (a survey token or paper code, a
/// sign-in link token, a session id) to find its row again: SHA-256, hex.
/// A copy of the database lets nobody use what it finds.
pub fn lookup_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes as hex digits, from the operating system's
/// generator (through `rand`'s thread-local CSPRNG).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A fresh random row id: 128 bits as 32 hex digits. Random, never
/// sequential, so an id says nothing about when or in which order a row was
/// written.
pub fn new_id() -> String {
    random_hex(16)
}

/// A random token for a sign-in link, a session or a CSRF field: 256 bits.
pub fn random_token() -> String {
    random_hex(32)
}

/// Compares a submitted token with the expected one in constant time.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A value that must never reach a log or a screen in full.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Replaces the password of `scheme://user:password@host/...` and any
/// `password=` query parameter with `***`.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                let masked = format!("{}:***{}", &userinfo[..colon], &authority[at..]);
                out = format!(
                    "{}{}{}",
                    &url[..scheme_end + 3],
                    masked,
                    &rest[authority_end..]
                );
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

/// A typed code as the person may have written it (lower case, spaces,
/// dashes, O for 0, I or L for 1) in canonical form, or None if it cannot be
/// a code at all.
pub fn normalise_code(input: &str) -> Option<String> {
    let mut out = String::new();
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{a0}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

/// A code as printed: `XXXX-XXXX-XXX`.
pub fn format_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn tokens_and_codes_are_long_enough_and_differ_per_invitation() {
        let k = key();
        let a = k.survey_token("a");
        assert_eq!(a.len(), TOKEN_LEN);
        assert_ne!(a, k.survey_token("b"));
        assert_eq!(a, k.survey_token("a"), "derivation is stable");
        assert_eq!(k.paper_code("a").len(), CODE_LEN);
        let other = SecretKey::new("another key of at least thirty-two chars").unwrap();
        assert_ne!(other.survey_token("a"), a, "the key matters");
    }

    #[test]
    fn typed_codes_are_normalised() {
        let code = key().paper_code("x");
        let printed = format_code(&code);
        assert_eq!(printed.len(), CODE_LEN + 2);
        assert_eq!(normalise_code(&printed.to_lowercase()), Some(code.clone()));
        assert_eq!(normalise_code(" 0O1I-L "), None, "too short");
        assert_eq!(normalise_code("OOOO-IIII-LLL"), Some("00001111111".into()));
        assert_eq!(normalise_code("ÆØÅÆ-ØÅÆØ-ÅÆØ"), None);
        assert!(SecretKey::new("short").is_err());
    }

    #[test]
    fn masks_password_in_userinfo_and_query() {
        assert_eq!(
            mask_url("postgres://app:hemmelig@db:5432/n"),
            "postgres://app:***@db:5432/n"
        );
        assert_eq!(
            mask_url("postgres://db/n?user=a&password=x"),
            "postgres://db/n?user=a&password=***"
        );
        assert_eq!(mask_url("sqlite://naervaer.db"), "sqlite://naervaer.db");
        assert_eq!(
            mask_url("smtp://u:p@mail:587?tls=starttls"),
            "smtp://u:***@mail:587?tls=starttls"
        );
    }
}
