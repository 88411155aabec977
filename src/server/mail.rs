//! Sending email over SMTP (lettre): one pooled transport built from the
//! settings at start. What the mails say is decided by the services that
//! send them (password reset, digests); this only delivers.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::server::config::{EmailSettings, SmtpSecurity};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot set up SMTP to {host}: {source}")]
    Setup {
        host: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("not an email address: {0:?}")]
    BadAddress(String),
    #[error("cannot build the email: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("the SMTP server did not take the email: {0}")]
    Send(#[from] lettre::transport::smtp::Error),
}

/// One email: plain text, to one person.
pub struct Mail<'a> {
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub subject: &'a str,
    pub text: String,
    /// The one-click unsubscribe address (RFC 8058: mail programs POST
    /// `List-Unsubscribe=One-Click` to it), for mail that is not a direct
    /// answer to something the person asked for.
    pub unsubscribe: Option<&'a str>,
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &EmailSettings) -> Result<Mailer, MailError> {
        let setup = |source| MailError::Setup {
            host: settings.host.clone(),
            source,
        };
        let builder = match settings.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(setup)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(setup)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            }
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(30)));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }

    pub async fn send(&self, mail: Mail<'_>) -> Result<(), MailError> {
        let address = mail
            .to_email
            .parse()
            .map_err(|_| MailError::BadAddress(mail.to_email.to_string()))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(mail.to_name.to_string()), address))
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            // Quoted-printable whatever the text: readable in any mail
            // program's source view, and safe for servers without 8BITMIME.
            .header(ContentTransferEncoding::QuotedPrintable);
        if let Some(link) = mail.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        self.transport.send(builder.body(mail.text)?).await?;
        Ok(())
    }
}
