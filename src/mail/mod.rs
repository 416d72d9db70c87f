//! Messages: e-mail, where it goes ([`Mailer`]) and what it says
//! ([`render`]); SMS ([`sms`]); and the durable outbox that sends both
//! ([`outbox`]).

pub mod outbox;
pub mod sms;
mod smtp;

use crate::config::Settings;
use crate::lang::Lang;
use crate::AppError;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use maud::html;
use std::path::PathBuf;

/// Where messages go: an SMTP relay, or `.eml` files in a folder (the demo
/// and local trials).
#[derive(Clone)]
pub enum Mailer {
    Smtp(std::sync::Arc<smtp::Relay>),
    Files(PathBuf),
}

/// One thread's way out: to the relay on a connection kept from one
/// message to the next (see [`smtp`]), or into the folder.
pub enum Sending<'a> {
    Smtp(smtp::Session<'a>),
    Files(&'a std::path::Path),
}

impl Sending<'_> {
    /// Hands `message` over; `file_stem` names it in an outbox folder.
    /// `before_hand_over` runs at the last moment before the relay can
    /// accept the message (before its body is sent, or its file written).
    pub fn send(
        &mut self,
        message: &Message,
        file_stem: &str,
        before_hand_over: &mut dyn FnMut() -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        match self {
            Sending::Smtp(session) => {
                session.send(message.envelope(), &message.formatted(), before_hand_over)
            }
            Sending::Files(dir) => {
                before_hand_over()?;
                let path = dir.join(format!("{file_stem}.eml"));
                std::fs::write(&path, message.formatted()).map_err(|e| SendError {
                    permanent: false,
                    message: format!("{}: {e}", path.display()),
                })
            }
        }
    }
}

/// A failed hand-over. Permanent failures (the relay said 5xx) are not
/// retried; others are, with back-off.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Mailer, AppError> {
        if let Some(dir) = &settings.outbox_dir {
            std::fs::create_dir_all(dir)?;
            return Ok(Mailer::Files(dir.clone()));
        }
        let Some(url) = &settings.smtp_url else {
            return Err(AppError::config(
                "no way to send e-mail: set NAERVAER_SMTP_URL (e.g. smtp://user:pass@relay:587?tls=required) \
                 or NAERVAER_OUTBOX_DIR",
            ));
        };
        let relay = smtp::Relay::from_url(url.expose())
            .map_err(|e| AppError::config(format!("NAERVAER_SMTP_URL: {e}")))?;
        Ok(Mailer::Smtp(std::sync::Arc::new(relay)))
    }

    /// A sending thread's handle; it keeps its relay connection until
    /// dropped.
    pub fn sending(&self) -> Sending<'_> {
        match self {
            Mailer::Smtp(relay) => Sending::Smtp(smtp::Session::new(relay)),
            Mailer::Files(dir) => Sending::Files(dir),
        }
    }

    /// Sends one message on a connection of its own.
    pub fn send(&self, message: &Message, file_stem: &str) -> Result<(), SendError> {
        self.sending().send(message, file_stem, &mut || Ok(()))
    }
}

/// Everything a survey e-mail says.
pub struct SurveyMail<'a> {
    pub reminder: bool,
    pub lang: Lang,
    pub organisation: &'a str,
    pub round_title: &'a str,
    pub link: &'a str,
    pub closes_on: chrono::NaiveDate,
    pub contact: &'a str,
}

/// Subject, plain text and HTML of an invitation or reminder.
pub fn render(m: &SurveyMail) -> (String, String, String) {
    let l = m.lang;
    let date = m.closes_on.format("%d.%m.%Y").to_string();
    let subject = if m.reminder {
        format!(
            "{}: {}",
            l.pick("Påminnelse", "Påminning", "Reminder"),
            m.round_title
        )
    } else {
        format!("{} – {}", m.round_title, m.organisation)
    };
    let greeting = if m.reminder {
        l.pick(
            "Vi har ikke registrert svar fra deg ennå. Hvis du allerede har svart, kan du se bort fra denne e-posten.",
            "Vi har ikkje registrert svar frå deg enno. Om du allereie har svart, kan du sjå bort frå denne e-posten.",
            "We have not yet registered an answer from you. If you have already answered, please ignore this e-mail.",
        )
    } else {
        l.pick(
            "Du er invitert til å svare på medarbeiderundersøkelsen. Det tar om lag ti minutter, på mobil eller PC.",
            "Du er invitert til å svare på medarbeidarundersøkinga. Det tek om lag ti minutt, på mobil eller PC.",
            "You are invited to answer the employee survey. It takes about ten minutes, on a phone or a PC.",
        )
    };
    let deadline = format!(
        "{} {date}.",
        l.pick(
            "Undersøkelsen er åpen til og med",
            "Undersøkinga er open til og med",
            "The survey is open until and including"
        )
    );
    let anonymous = l.pick(
        "Svarene dine er anonyme. Lenken er personlig bare for at ingen skal kunne svare to ganger: svaret lagres uten kobling til deg eller lenken, og resultater vises bare for grupper med nok svar.",
        "Svara dine er anonyme. Lenkja er personleg berre for at ingen skal kunne svare to gonger: svaret blir lagra utan kopling til deg eller lenkja, og resultat blir berre viste for grupper med nok svar.",
        "Your answers are anonymous. The link is personal only so that nobody can answer twice: the answer is stored without any link to you or the link, and results are shown only for groups with enough answers.",
    );
    let ask = format!(
        "{} {}",
        l.pick(
            "Spørsmål? Kontakt",
            "Spørsmål? Kontakt",
            "Questions? Contact"
        ),
        m.contact
    );
    let open = l.pick("Åpne undersøkelsen", "Opne undersøkinga", "Open the survey");
    let dont_share = l.pick(
        "Ikke videresend denne e-posten.",
        "Ikkje vidaresend denne e-posten.",
        "Please do not forward this e-mail.",
    );
    let text = format!(
        "{greeting}\n\n{open}:\n{}\n\n{deadline}\n\n{anonymous}\n\n{dont_share}\n\n{ask}\n",
        m.link
    );
    let html = html_body(
        l,
        &subject,
        &[greeting],
        (open, m.link),
        &[&deadline, anonymous, dont_share, &ask],
    );
    (subject, text, html)
}

/// The HTML part of a message: `before` paragraphs, the link as a button,
/// `after` paragraphs. Table layout and inline attributes only: Outlook
/// ignores most CSS.
fn html_body(
    l: Lang,
    subject: &str,
    before: &[&str],
    (open, link): (&str, &str),
    after: &[&str],
) -> String {
    html! {
        (maud::DOCTYPE)
        html lang=(l.code()) {
            head { meta charset="utf-8"; title { (subject) } }
            body {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" {
                    tr { td style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a; padding: 16px;" {
                        @for p in before { p { (p) } }
                        p { a href=(link) style="color: #0b5394; font-weight: bold;" { (open) } }
                        @for p in after { p { (p) } }
                    } }
                }
            }
        }
    }
    .into_string()
}

/// Everything the "results are ready" message says.
pub struct ResultsMail<'a> {
    pub lang: Lang,
    pub organisation: &'a str,
    pub round_title: &'a str,
    pub link: &'a str,
    pub contact: &'a str,
}

/// Subject, plain text and HTML of the message that tells every invited
/// person the results are ready, with the link to their own group's.
pub fn render_results(m: &ResultsMail) -> (String, String, String) {
    let l = m.lang;
    let subject = format!(
        "{}: {}",
        l.pick(
            "Resultatene er klare",
            "Resultata er klare",
            "The results are ready"
        ),
        m.round_title
    );
    let what = l.pick(
        "Takk til alle som svarte. Resultatene for gruppen din er klare, og lederen din går gjennom dem med dere sammen med verneombudet og den tillitsvalgte.",
        "Takk til alle som svarte. Resultata for gruppa di er klare, og leiaren din går gjennom dei med dykk saman med verneombodet og den tillitsvalde.",
        "Thank you to everyone who answered. The results for your group are ready, and your leader will go through them with you together with the safety representative and the union representative.",
    );
    let anonymous = l.pick(
        "Resultatene vises bare for grupper med nok svar. Lenken er den samme for alle i gruppen og sier ingenting om deg eller om du svarte.",
        "Resultata blir berre viste for grupper med nok svar. Lenkja er den same for alle i gruppa og seier ingenting om deg eller om du svarte.",
        "Results are shown only for groups with enough answers. The link is the same for everyone in the group and tells nothing about you or whether you answered.",
    );
    let open = l.pick("Se resultatene", "Sjå resultata", "See the results");
    let ask = format!(
        "{} {} – {}",
        l.pick(
            "Spørsmål? Kontakt",
            "Spørsmål? Kontakt",
            "Questions? Contact"
        ),
        m.contact,
        m.organisation
    );
    let text = format!("{what}\n\n{open}:\n{}\n\n{anonymous}\n\n{ask}\n", m.link);
    let html = html_body(l, &subject, &[what], (open, m.link), &[anonymous, &ask]);
    (subject, text, html)
}

/// Everything the request for a written account says.
pub struct AccountMail<'a> {
    pub reminder: bool,
    pub lang: Lang,
    pub organisation: &'a str,
    pub unit: &'a str,
    pub kind: crate::analysis::model::AbsenceKind,
    pub period: (chrono::NaiveDate, chrono::NaiveDate),
    pub rate: f64,
    pub target: f64,
    pub link: &'a str,
    pub due_on: chrono::NaiveDate,
    pub contact: &'a str,
}

/// Subject, plain text and HTML of the request for a written account of a
/// unit above its absence target, or its reminder.
pub fn render_account(m: &AccountMail) -> (String, String, String) {
    let l = m.lang;
    let d = |x: chrono::NaiveDate| x.format("%d.%m.%Y").to_string();
    let pct = |x: f64| format!("{}\u{a0}%", crate::lang::decimal(x, 1, l));
    let subject = format!(
        "{}{}: {}",
        if m.reminder {
            l.pick("Påminnelse – ", "Påminning – ", "Reminder – ")
        } else {
            ""
        },
        l.pick(
            "Redegjørelse for sykefraværet",
            "Utgreiing om sjukefråværet",
            "Account of sickness absence"
        ),
        m.unit
    );
    let what = match l {
        Lang::Nb => format!(
            "{} i {} var {} i perioden {}–{}, over målet på {}. Arbeidsmiljøutvalget ber om en kort skriftlig redegjørelse for hvordan enheten arbeider for å få fraværet ned: hva som gjøres nå, hva som er planlagt, og hvilken støtte dere trenger (bedriftshelsetjenesten, NAV arbeidslivssenter, HR).",
            capitalise(m.kind.name(l)), m.unit, pct(m.rate), d(m.period.0), d(m.period.1), pct(m.target)
        ),
        Lang::Nn => format!(
            "{} i {} var {} i perioden {}–{}, over målet på {}. Arbeidsmiljøutvalet ber om ei kort skriftleg utgreiing om korleis eininga arbeider for å få fråværet ned: kva som blir gjort no, kva som er planlagt, og kva støtte de treng (bedriftshelsetenesta, NAV arbeidslivssenter, HR).",
            capitalise(m.kind.name(l)), m.unit, pct(m.rate), d(m.period.0), d(m.period.1), pct(m.target)
        ),
        Lang::En => format!(
            "{} in {} was {} in the period {}–{}, above the target of {}. The working-environment committee asks for a short written account of how the unit works to bring absence down: what is done now, what is planned, and what support you need (occupational health service, NAV working-life centre, HR).",
            capitalise(m.kind.name(l)), m.unit, pct(m.rate), d(m.period.0), d(m.period.1), pct(m.target)
        ),
    };
    let due = format!(
        "{} {}.",
        l.pick("Svarfrist:", "Svarfrist:", "Please answer by"),
        d(m.due_on)
    );
    let open = l.pick(
        "Skriv redegjørelsen",
        "Skriv utgreiinga",
        "Write the account",
    );
    let figures = l.pick(
        "Tallene gjelder hele enheten med underenheter, og vises bare fordi enheten er stor nok til at fraværet kan vises.",
        "Tala gjeld heile eininga med undereiningar, og blir berre viste fordi eininga er stor nok til at fråværet kan visast.",
        "The figures are for the whole unit with the units below it, and are shown only because the unit is large enough for its absence to be shown.",
    );
    let ask = format!(
        "{} {} – {}",
        l.pick(
            "Spørsmål? Kontakt",
            "Spørsmål? Kontakt",
            "Questions? Contact"
        ),
        m.contact,
        m.organisation
    );
    let text = format!(
        "{what}\n\n{open}:\n{}\n\n{due}\n\n{figures}\n\n{ask}\n",
        m.link
    );
    let html = html_body(
        l,
        &subject,
        &[&what],
        (open, m.link),
        &[&due, figures, &ask],
    );
    (subject, text, html)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The domain a message's `Message-ID` names: the sender's, or, where the
/// sender's address has no real domain (`noreply@localhost`), the base
/// URL's host. Spam filters count a Message-ID under a domain that does not
/// exist against a message.
pub fn message_id_domain(settings: &Settings) -> String {
    let real = |d: &str| d.contains('.') && !d.starts_with('.') && !d.ends_with('.');
    let sender = settings
        .mail_from
        .parse::<Mailbox>()
        .ok()
        .map(|m| m.email.domain().to_ascii_lowercase());
    if let Some(d) = sender.filter(|d| real(d)) {
        return d;
    }
    url::Url::parse(&settings.base_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A multipart (plain text + HTML) message with a stable Message-ID (under
/// [`message_id_domain`]), so a copy resent after a crash is recognisable
/// as the same message. Every message is marked `Auto-Submitted:
/// auto-generated` (RFC 3834), so that out-of-office replies are not sent
/// back for it by the thousand after an invitation run.
pub fn build(
    settings: &Settings,
    to: &str,
    message_id: &str,
    lang: Lang,
    subject: &str,
    text: String,
    html: String,
) -> Result<Message, AppError> {
    let from = &settings.mail_from;
    let from: Mailbox = from
        .parse()
        .map_err(|e| AppError::config_by(format!("NAERVAER_MAIL_FROM '{from}'"), e))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| AppError::internal_by(format!("recipient «{to}»"), e))?;
    let header = |name: &'static str, value: String| {
        lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str(name),
            value,
        )
    };
    Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!(
            "<{message_id}@{}>",
            message_id_domain(settings)
        )))
        .raw_header(header("Content-Language", lang.code().to_string()))
        .raw_header(header("Auto-Submitted", "auto-generated".to_string()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| AppError::internal_by("building the e-mail", e))
}

/// Subject, plain text and HTML of a sign-in link.
pub fn render_sign_in(l: Lang, name: &str, link: &str) -> (String, String, String) {
    let subject = l
        .pick(
            "Innlogging til resultatene i naervaer",
            "Innlogging til resultata i naervaer",
            "Sign in to the results in naervaer",
        )
        .to_string();
    let hello = format!("{} {name},", l.pick("Hei", "Hei", "Hello"));
    let what = l.pick(
        "Bruk lenken under for å logge inn. Den virker én gang og i 15 minutter.",
        "Bruk lenkja under for å logge inn. Ho verkar éin gong og i 15 minutt.",
        "Use the link below to sign in. It works once, for 15 minutes.",
    );
    let ignore = l.pick(
        "Har du ikke bedt om dette, kan du se bort fra e-posten.",
        "Har du ikkje bede om dette, kan du sjå bort frå e-posten.",
        "If you did not ask for this, you can ignore this e-mail.",
    );
    let open = l.pick("Logg inn", "Logg inn", "Sign in");
    let text = format!("{hello}\n\n{what}\n\n{link}\n\n{ignore}\n");
    let body = html! {
        (maud::DOCTYPE)
        html lang=(l.code()) {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a;" {
                p { (hello) }
                p { (what) }
                p { a href=(link) style="color: #0b5394; font-weight: bold;" { (open) } }
                p { (ignore) }
            }
        }
    };
    (subject, text, body.into_string())
}

/// Sends a sign-in link to `email`, when it belongs to someone who may sign
/// in and has not asked too often ([`crate::auth::request_link`]);
/// otherwise nothing. The caller answers the same either way.
pub fn send_sign_in_link(
    conn: &mut crate::db::DbConnection,
    settings: &Settings,
    email: &str,
) -> Result<(), AppError> {
    let Some((to, token)) = crate::auth::request_link(conn, email)? else {
        return Ok(());
    };
    let link = format!(
        "{}/innlogging/{token}",
        settings.base_url.trim_end_matches('/')
    );
    let (subject, text, html) = render_sign_in(to.lang, &to.name, &link);
    let message = build(
        settings,
        &to.email,
        &crate::crypto::new_id(),
        to.lang,
        &subject,
        text,
        html,
    )?;
    let mailer = Mailer::from_settings(settings)?;
    mailer
        .send(&message, &format!("innlogging-{}", crate::crypto::new_id()))
        .map_err(|e| AppError::config(format!("sending the sign-in link: {e}")))
}
