//! Sign-in through a real OpenID Connect provider: panva's certified
//! `oidc-provider` on Node.js, started here, the whole flow driven in
//! Chromium (`tests/browser/oidc.mjs`); then the ID-token checks on real
//! tokens of that provider: a good one passes, a tampered one, one for
//! another application, one past its expiry and one with another nonce do
//! not.

use crate::support::{free_port, settings, TestServer};
use diesel::prelude::*;
use naervaer::auth::oidc::{OidcSettings, Provider, Refusal};
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::{oidc_logins, sessions};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct IdentityProvider {
    child: Child,
    port: u16,
}

impl IdentityProvider {
    fn start_on(port: u16, callback: &str, expired_email: &str) -> IdentityProvider {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the identity provider needs `npm ci` in tests/browser (bash .ci/run does it)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("oidc-provider.mjs"))
            .arg(port.to_string())
            .arg(callback)
            .current_dir(&dir)
            .env("EXPIRED_EMAIL", expired_email)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is required for the identity provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            format!("READY {port}"),
            "the identity provider did not start"
        );
        IdentityProvider { child, port }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's token endpoint, asked by the test itself with a caught
/// code: the raw ID token the service would have checked.
fn exchange(issuer: &str, code: &str, verifier: &str, callback: &str) -> String {
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", callback),
        ("client_id", "naervaer"),
        ("client_secret", "naervaer-test-secret"),
    ])
    .unwrap();
    let addr: std::net::SocketAddr = issuer.trim_start_matches("http://").parse().unwrap();
    let r = crate::support::http(addr, "POST", "/token", &form);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["id_token"].as_str().unwrap().to_string()
}

crate::both_backends! {
    fn sign_in_through_a_real_openid_connect_provider_and_its_tokens_checked(t) {
    let mut c = t.conn();
    naervaer::demo::seed(&mut c).unwrap();
    let people = naervaer::demo::sign_in_people(&mut c).unwrap();
    let leader = &people[0];
    assert!(
        !leader.email.is_empty(),
        "the demo's leader of Oppvekst has an address"
    );
    // The service first (its address is the callback's), then the provider
    // on the port the service's settings name.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = listener.local_addr().unwrap();
    drop(listener);
    let base = format!("http://{app}");
    let s = settings(
        &t,
        &[
            ("NAERVAER_BASE_URL", &base),
            ("NAERVAER_BIND", &app.to_string()),
            ("NAERVAER_OIDC_ISSUER", &issuer),
            ("NAERVAER_OIDC_CLIENT_ID", "naervaer"),
            ("NAERVAER_OIDC_CLIENT_SECRET", "naervaer-test-secret"),
        ],
    );
    let server = TestServer::start_on(&t, s.clone(), app);
    let callback = format!("{base}/oidc/callback");
    let idp = {
        let p = IdentityProvider::start_on(port, &callback, &leader.email);
        assert_eq!(p.issuer(), issuer);
        p
    };

    let sessions_before: i64 = sessions::table.count().get_result(&mut c).unwrap();
    let result = crate::browser::run_script(
        "oidc.mjs",
        &[
            ("BASE", &base),
            ("LEADER", &leader.email),
            ("UNKNOWN", "ingen.rolle@andre.no"),
        ],
    );
    // One session: the leader's; none for the unknown, the expired, the
    // cancelled, the replayed or the other browser's callback.
    let sessions_after: i64 = sessions::table.count().get_result(&mut c).unwrap();
    assert_eq!(sessions_after - sessions_before, 1);

    // The caught callback: its state's verifier and nonce, the code
    // exchanged here for the raw token.
    let caught = url::Url::parse(result["caught"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<String, String> = caught.query_pairs().into_owned().collect();
    let (verifier, nonce): (String, String) = oidc_logins::table
        .find(lookup_hash(&q["state"]))
        .select((oidc_logins::pkce_verifier, oidc_logins::nonce))
        .first(&mut c)
        .unwrap();
    let token = exchange(&idp.issuer(), &q["code"], &verifier, &callback);
    let ours = Provider::new(OidcSettings::from_settings(&s).unwrap());
    let claims = ours
        .verify_token(&token, &nonce, None)
        .expect("a good token passes");
    assert_eq!(
        naervaer::auth::oidc::claim(&claims, "email").as_deref(),
        Some(leader.email.as_str())
    );
    // Tampered: the payload's audience changed, the signature kept.
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(base64url_decode(parts[1])).unwrap();
    let forged = payload.replace(&leader.email, "admin@demo-kommune.no");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64url_encode(forged.as_bytes()),
        parts[2]
    );
    assert!(matches!(
        ours.verify_token(&tampered, &nonce, None),
        Err(Refusal::Token(_))
    ));
    // For another application of the same provider: the audience is wrong.
    let other = Provider::new(OidcSettings {
        client_id: "annen-app".into(),
        client_secret: naervaer::config::Secret::new("annen-app-secret".to_string()),
        ..OidcSettings::from_settings(&s).unwrap()
    });
    let e = other.verify_token(&token, &nonce, None).unwrap_err();
    assert!(
        matches!(&e, Refusal::Token(m) if m.to_lowercase().contains("audience")),
        "{e}"
    );
    // After its expiry.
    let exp = claims.expiration();
    let e = ours
        .verify_token(&token, &nonce, Some(exp + chrono::Duration::seconds(1)))
        .unwrap_err();
    assert!(
        matches!(&e, Refusal::Token(m) if m.to_lowercase().contains("expired")),
        "{e}"
    );
    // Another sign-in's nonce.
    assert!(matches!(
        ours.verify_token(&token, "another-nonce", None),
        Err(Refusal::Token(_))
    ));
    drop(server);
    }
}

fn base64url_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = A.iter().position(|x| *x == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn base64url_encode(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0);
    for x in b {
        acc = (acc << 8) | u32::from(*x);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}
