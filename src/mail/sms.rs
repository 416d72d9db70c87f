//! SMS: what a message says ([`survey_text`], [`results_text`]), how many
//! segments it costs ([`segments`]), and where it goes ([`SmsRoute`]): a
//! provider's HTTP API behind the small [`Provider`] trait, chosen by
//! `NAERVAER_SMS_URL` as the mail relay is by `NAERVAER_SMTP_URL`, or text
//! files in the outbox folder (the demo and local trials).
//!
//! The provider today is Twilio's Programmable Messaging API
//! (`POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, Basic
//! authentication): `twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=SENDER`,
//! or `twilio+http://…` for a plain-HTTP endpoint such as a local proxy.
//! The outbox never stores a message's text: it is rendered when it is
//! sent, like an e-mail, and no log line carries the link.

use super::SendError;
use crate::lang::Lang;
use crate::AppError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One SMS segment holds 160 GSM-7 septets, or 70 UCS-2 units when a
/// single character is outside GSM-7.
pub const GSM7_SEGMENT: usize = 160;
pub const UCS2_SEGMENT: usize = 70;
/// Concatenated messages lose room to the header in every part.
const GSM7_PART: usize = 153;
const UCS2_PART: usize = 67;

/// The GSM 03.38 default alphabet (3GPP TS 23.038), one septet each; 0x1B
/// (the escape to the extension table) is not a character.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: two septets each (the escape and the character).
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets `c` costs in GSM-7, or None when it is not in the alphabet.
pub fn gsm7_cost(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Segments a text costs: GSM-7 when every character is in it, else UCS-2
/// (UTF-16 units). A two-septet character or a surrogate pair is never
/// split between parts.
pub fn segments(text: &str) -> usize {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_cost).collect();
    let (units, single, part) = match gsm {
        Some(costs) => (costs, GSM7_SEGMENT, GSM7_PART),
        None => (
            text.chars().map(char::len_utf16).collect(),
            UCS2_SEGMENT,
            UCS2_PART,
        ),
    };
    let total: usize = units.iter().sum();
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let (mut parts, mut used) = (1, 0);
    for u in units {
        if used + u > part {
            parts += 1;
            used = 0;
        }
        used += u;
    }
    parts
}

/// An invitation or a reminder by SMS: the deadline and the link, in
/// GSM-7 only (no dashes or curly quotes), so that with the link it fits
/// one segment for base URLs up to [`MAX_ONE_SEGMENT_BASE_URL`] characters.
pub fn survey_text(l: Lang, reminder: bool, closes_on: chrono::NaiveDate, link: &str) -> String {
    let date = closes_on.format("%d.%m.%Y");
    let lead = if reminder {
        l.pick(
            "Påminnelse: undersøkelsen er åpen til",
            "Påminning: undersøkinga er open til",
            "Reminder: the survey is open until",
        )
    } else {
        l.pick(
            "Medarbeiderundersøkelsen er åpen til",
            "Medarbeidarundersøkinga er open til",
            "The employee survey is open until",
        )
    };
    let answer = l.pick("Svar anonymt:", "Svar anonymt:", "Answer anonymously:");
    format!("{lead} {date}. {answer} {link}")
}

/// The "results are ready" message by SMS.
pub fn results_text(l: Lang, link: &str) -> String {
    let lead = l.pick(
        "Resultatene fra medarbeiderundersøkelsen er klare:",
        "Resultata frå medarbeidarundersøkinga er klare:",
        "The employee survey results are ready:",
    );
    format!("{lead} {link}")
}

/// The longest base URL (`NAERVAER_BASE_URL`) with which every message
/// above, in every language, still fits one segment: the longest text has
/// 160 septets left for the link, `/s/` or `/r/` and a 32-character token.
pub const MAX_ONE_SEGMENT_BASE_URL: usize = 58;

/// Sends one SMS. A provider is a small thing: one request per message.
pub trait Provider: Send + Sync {
    /// Hands `text` for `to` (E.164) over to the provider. An `Err` with
    /// `permanent` is not tried again (an invalid or landline number);
    /// others are, with back-off (rate limits, the provider's errors).
    fn send(&self, to: &str, text: &str) -> Result<(), SendError>;
}

/// Where SMS go.
#[derive(Clone)]
pub enum SmsRoute {
    Provider(std::sync::Arc<dyn Provider>),
    /// `.sms` text files in this folder (the outbox folder).
    Files(PathBuf),
}

impl SmsRoute {
    /// The route of `NAERVAER_SMS_URL`, else the outbox folder, else none
    /// (SMS cannot be sent; rounds then go by e-mail and paper).
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Option<SmsRoute>, AppError> {
        if let Some(dir) = &settings.outbox_dir {
            std::fs::create_dir_all(dir)?;
            return Ok(Some(SmsRoute::Files(dir.clone())));
        }
        match &settings.sms_url {
            None => Ok(None),
            Some(url) => Ok(Some(SmsRoute::Provider(std::sync::Arc::new(
                Twilio::from_url(url.expose())
                    .map_err(|e| AppError::config(format!("NAERVAER_SMS_URL: {e}")))?,
            )))),
        }
    }

    /// Sends one message; `file_stem` names it in an outbox folder, and
    /// `before_hand_over` runs at the last moment before the provider can
    /// accept it.
    pub fn send(
        &self,
        to: &str,
        text: &str,
        file_stem: &str,
        before_hand_over: &mut dyn FnMut() -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        before_hand_over()?;
        match self {
            SmsRoute::Provider(p) => p.send(to, text),
            SmsRoute::Files(dir) => write_file(dir, file_stem, to, text),
        }
    }
}

fn write_file(dir: &Path, stem: &str, to: &str, text: &str) -> Result<(), SendError> {
    let path = dir.join(format!("{stem}.sms"));
    let body = format!("To: {to}\nSegments: {}\n\n{text}\n", segments(text));
    std::fs::write(&path, body).map_err(|e| SendError {
        permanent: false,
        message: format!("{}: {e}", path.display()),
    })
}

/// Twilio's Programmable Messaging API.
pub struct Twilio {
    /// `https://api.twilio.com` (or `http://host:port` with `twilio+http`).
    endpoint: String,
    account: String,
    token: crate::config::Secret,
    /// A number in E.164 or an alphanumeric sender id (up to 11
    /// characters, which Norwegian operators accept), in `From`; or a
    /// messaging service (`MG…`) in `MessagingServiceSid`.
    from: String,
    agent: ureq::Agent,
}

impl Twilio {
    /// `twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=SENDER`
    /// ([`crate::config::SmsUrl`]).
    pub fn from_url(url: &str) -> Result<Twilio, String> {
        let crate::config::SmsUrl {
            endpoint,
            account,
            token,
            from,
        } = crate::config::SmsUrl::parse(url)?;
        let agent = crate::net::agent(Duration::from_secs(30));
        Ok(Twilio {
            endpoint,
            account,
            token,
            from,
            agent,
        })
    }
}

/// Twilio's error answer: `{"code": 21211, "message": …, "status": 400}`.
#[derive(serde::Deserialize, Default)]
struct TwilioError {
    code: Option<u32>,
    message: Option<String>,
}

impl Provider for Twilio {
    fn send(&self, to: &str, text: &str) -> Result<(), SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.endpoint,
            percent_encoding::utf8_percent_encode(
                &self.account,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let auth = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{}:{}", self.account, self.token.expose())
            )
        );
        let answer = self
            .agent
            .post(&url)
            .header("Authorization", &auth)
            .send_form([("To", to), (sender, self.from.as_str()), ("Body", text)]);
        match answer {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(());
                }
                let e: TwilioError = response.body_mut().read_json().unwrap_or_default();
                let code = e.code.map_or(String::new(), |c| format!(" {c}"));
                // Twilio's message names the number; what is recorded and
                // logged must not (ANONYMITY.md §6c).
                let said = e.message.unwrap_or_default().replace(to, "[nummer]");
                let said = match to.strip_prefix('+') {
                    Some(digits) => said.replace(digits, "[nummer]"),
                    None => said,
                };
                let message = format!("Twilio answered {status}{code}: {said}");
                // 429 (too many requests) and 5xx are tried again, and so
                // are refused credentials (401, 403): a rotated auth token
                // is put right in the settings, and the messages still go
                // within the retries. Any other answer (an invalid or
                // landline number, a refused sender) would only be refused
                // again.
                let permanent = !(status == 429 || status >= 500 || status == 401 || status == 403);
                Err(SendError { permanent, message })
            }
            Err(e) => Err(SendError {
                permanent: false,
                message: format!("Twilio could not be reached: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_letters_are_gsm7_and_dashes_are_not() {
        for c in "ÆØÅæøå".chars() {
            assert_eq!(gsm7_cost(c), Some(1), "{c}");
        }
        assert_eq!(gsm7_cost('€'), Some(2));
        assert_eq!(gsm7_cost('–'), None);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments(&format!("{}–", "a".repeat(69))), 1);
        assert_eq!(segments(&format!("{}–", "a".repeat(70))), 2);
        // A two-septet character is not split between parts.
        assert_eq!(
            segments(&format!("{}€{}", "a".repeat(152), "a".repeat(153))),
            3
        );
    }

    #[test]
    fn every_message_fits_one_segment_up_to_the_stated_base_url_length() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        let longest = |base_len: usize| {
            let base = format!("https://{}", "x".repeat(base_len - 8));
            let link = format!("{base}/s/{}", "a".repeat(crate::crypto::TOKEN_LEN));
            let mut most = 0;
            for l in [Lang::Nb, Lang::Nn, Lang::En] {
                for text in [
                    survey_text(l, false, date, &link),
                    survey_text(l, true, date, &link),
                    results_text(l, &link),
                ] {
                    assert!(text.chars().all(|c| gsm7_cost(c).is_some()), "{text}");
                    most = most.max(segments(&text));
                }
            }
            most
        };
        assert_eq!(longest(MAX_ONE_SEGMENT_BASE_URL), 1);
        assert_eq!(longest(MAX_ONE_SEGMENT_BASE_URL + 1), 2);
    }
}
