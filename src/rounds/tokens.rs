//! Survey tokens and paper codes.
//!
//! Neither is ever stored. Both are derived when needed as
//! HMAC-SHA256(server secret, purpose ‖ invitation id), where the invitation
//! id is 128 random bits; the database keeps only a SHA-256 hash to look the
//! invitation up. Deriving instead of storing means the outbox holds no
//! secret, a reminder carries the same working link as the invitation, and a
//! message resent after a crash is identical to the first.

use crate::AppError;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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
            return Err(AppError::Config(
                "NAERVAER_SECRET_KEY must be at least 32 characters; `naervaer secret` prints a new one".into(),
            ));
        }
        Ok(SecretKey(s.as_bytes().to_vec()))
    }

    /// A new random key, 256 bits as 64 hex digits.
    pub fn generate() -> String {
        format!("{}{}", crate::db::new_id(), crate::db::new_id())
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

/// What is stored to find an invitation by its token or code.
pub fn lookup_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
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
}
