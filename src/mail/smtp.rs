//! The relay side of [`super::Mailer`]: lettre's SMTP protocol layer
//! ([`SmtpConnection`]: greeting, STARTTLS, AUTH, replies) over one
//! connection per sending thread.
//!
//! Why not lettre's `SmtpTransport`: it writes a message's body and the
//! terminating `CRLF.CRLF` in two writes on a socket without `TCP_NODELAY`,
//! so Nagle's algorithm holds the terminator until the relay acknowledges
//! the body — and the relay, waiting for the terminator before it answers,
//! delays that acknowledgement (40 ms on Linux). That capped every
//! connection at about 22 messages a second. Here the body and its
//! terminator leave in one write, and each message costs four round trips.

use super::SendError;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::fmt;
use std::time::Duration;

/// Where and how to reach the relay, read from `NAERVAER_SMTP_URL` with
/// the same rules as lettre's `SmtpTransport::from_url`: `smtp://host[:25]`
/// (plain), `smtp://host[:587]?tls=required` or `?tls=opportunistic`
/// (STARTTLS), `smtps://host[:465]` (TLS from the start); `user:password@`
/// for AUTH PLAIN/LOGIN; a path names the client in EHLO.
pub struct Relay {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

impl Relay {
    pub fn from_url(text: &str) -> Result<Relay, String> {
        let url = url::Url::parse(text).map_err(|e| e.to_string())?;
        let host = url
            .host_str()
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_param = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
        let (default_port, tls) = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None) => (25, Tls::None),
            ("smtp", Some("required")) => (587, Tls::Required(params()?)),
            ("smtp", Some("opportunistic")) => (587, Tls::Opportunistic(params()?)),
            ("smtps", _) => (465, Tls::Wrapper(params()?)),
            (scheme, tls) => {
                return Err(format!(
                    "use smtp://, smtp://…?tls=required, smtp://…?tls=opportunistic or smtps:// \
                     (got scheme '{scheme}'{})",
                    tls.map(|t| format!(" with tls={t}")).unwrap_or_default()
                ))
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "the user name or password is not UTF-8 once decoded".to_string())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let path = url.path().trim_matches('/');
        let hello = if path.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(path.to_string())
        };
        Ok(Relay {
            port: url.port().unwrap_or(default_port),
            host,
            tls,
            credentials,
            hello,
            timeout: Duration::from_secs(30),
        })
    }

    fn connect(&self) -> Result<SmtpConnection, lettre::transport::smtp::Error> {
        let wrapper = match &self.tls {
            Tls::Wrapper(p) => Some(p),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )?;
        match &self.tls {
            Tls::Required(p) => conn.starttls(p, &self.hello)?,
            Tls::Opportunistic(p) if conn.can_starttls() => conn.starttls(p, &self.hello)?,
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)?;
        }
        Ok(conn)
    }
}

/// One thread's connection to the relay, opened on first use, kept for the
/// next message, closed with QUIT when dropped.
pub struct Session<'a> {
    relay: &'a Relay,
    conn: Option<SmtpConnection>,
}

/// A failed delivery, and whether it failed before the relay took any
/// responsibility for the message (then it is safe to try again on a new
/// connection).
struct Failed {
    error: SendError,
    before_data: bool,
}

impl Failed {
    fn before_data(error: impl Into<SendError>) -> Failed {
        Failed {
            error: error.into(),
            before_data: true,
        }
    }

    fn during(error: lettre::transport::smtp::Error) -> Failed {
        Failed {
            error: error.into(),
            before_data: false,
        }
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> SendError {
        SendError {
            permanent: e.is_permanent(),
            message: e.to_string(),
        }
    }
}

/// A refusal found before anything was sent: the relay lacks an extension.
fn unsupported(what: &str) -> Failed {
    Failed::before_data(SendError {
        permanent: true,
        message: format!("the relay does not accept {what}"),
    })
}

impl<'a> Session<'a> {
    pub fn new(relay: &'a Relay) -> Session<'a> {
        Session { relay, conn: None }
    }

    /// Hands one message to the relay. A kept connection the relay has
    /// closed meanwhile fails at MAIL FROM; then the message goes once more
    /// on a new connection. `before_body` runs after the relay has taken
    /// DATA and before the body and its terminator are written: until then
    /// the relay cannot accept the message.
    pub fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        before_body: &mut dyn FnMut() -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        let reused = self.conn.is_some();
        match self.try_send(envelope, message, before_body) {
            Err(f) if reused && f.before_data && !f.error.permanent => self
                .try_send(envelope, message, before_body)
                .map_err(|f| f.error),
            result => result.map_err(|f| f.error),
        }
    }

    fn try_send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        before_body: &mut dyn FnMut() -> Result<(), SendError>,
    ) -> Result<(), Failed> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            // A refusal while connecting (TLS, AUTH) is about this
            // installation's settings, not the message: it waits for a retry.
            None => self.relay.connect().map_err(|e| {
                Failed::before_data(SendError {
                    permanent: false,
                    message: e.to_string(),
                })
            })?,
        };
        match transaction(&mut conn, envelope, message, before_body) {
            Ok(()) => {
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                // After any failure the connection's state is unknown.
                conn.abort();
                Err(e)
            }
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }
}

/// MAIL, RCPT…, DATA, then (after `before_body`) the body and its
/// terminator in one write.
fn transaction(
    conn: &mut SmtpConnection,
    envelope: &Envelope,
    message: &[u8],
    before_body: &mut dyn FnMut() -> Result<(), SendError>,
) -> Result<(), Failed> {
    let mut options = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(unsupported("non-ASCII addresses (SMTPUTF8)"));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !message.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(unsupported("8-bit messages (8BITMIME)"));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .map_err(Failed::before_data)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .map_err(Failed::during)?;
    }
    conn.command(Data).map_err(Failed::during)?;
    before_body().map_err(|error| Failed {
        error,
        before_data: false,
    })?;
    match std::str::from_utf8(message) {
        Ok(text) => conn.command(Body(text)).map(|_| ()),
        // Not text: lettre's own (two-write) path.
        Err(_) => conn.message(message).map(|_| ()),
    }
    .map_err(Failed::during)
}

/// A message's content as SMTP sends it after DATA: every line that starts
/// with a dot gets another (RFC 5321 §4.5.2), then `CRLF.CRLF`.
struct Body<'a>(&'a str);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.split("\r\n").enumerate() {
            if i > 0 {
                f.write_str("\r\n")?;
            }
            if line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
        }
        f.write_str("\r\n.\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_starting_with_a_dot_are_doubled_and_the_terminator_follows() {
        let text = ".first\r\nmiddle.\r\n.\r\n..two\r\nlast";
        assert_eq!(
            Body(text).to_string(),
            "..first\r\nmiddle.\r\n..\r\n...two\r\nlast\r\n.\r\n"
        );
    }

    #[test]
    fn relay_urls_follow_lettres_rules() {
        let r = Relay::from_url("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("127.0.0.1", 2525));
        assert!(matches!(r.tls, Tls::None) && r.credentials.is_none());
        let r = Relay::from_url("smtp://u%40x:p%2Bw+@relay.example?tls=required").unwrap();
        assert_eq!(r.port, 587);
        assert!(matches!(r.tls, Tls::Required(_)));
        assert_eq!(
            r.credentials,
            Some(Credentials::new("u@x".into(), "p+w+".into()))
        );
        let r = Relay::from_url("smtps://relay.example/naervaer.kommune.no").unwrap();
        assert_eq!(r.port, 465);
        assert!(matches!(r.tls, Tls::Wrapper(_)));
        assert_eq!(r.hello, ClientId::Domain("naervaer.kommune.no".into()));
        assert!(Relay::from_url("smtp://relay?tls=starttls")
            .err()
            .unwrap()
            .contains("tls=required"));
        assert!(Relay::from_url("http://relay").is_err());
    }
}
