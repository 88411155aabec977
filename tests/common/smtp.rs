//! A real SMTP server for the email tests: aiosmtpd (from PyPI, installed
//! by `scripts/setup.sh --test` under target/tools/python) storing every
//! mail it accepts in a Maildir the test reads.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct SmtpServer {
    pub port: u16,
    port_text: String,
    dir: PathBuf,
    _child: Child,
}

/// One mail as it arrived: its headers and its text, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        // Unfold continuation lines first.
        let head = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The first `http…` address in the text that contains `part`.
    pub fn link(&self, part: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(part))
            .unwrap_or_else(|| panic!("no link with {part:?} in:\n{}", self.text))
            .to_string()
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let python = std::env::var("GLASSCHAT_TEST_SMTP_PYTHON").unwrap_or_else(|_| {
            format!(
                "{}/target/tools/python/bin/python",
                env!("CARGO_MANIFEST_DIR")
            )
        });
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            probe.local_addr().expect("port").port()
        };
        let dir =
            std::env::temp_dir().join(format!("glasschat-smtp-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mail folder");
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start aiosmtpd with {python} ({e}): run `scripts/setup.sh --test`")
            });
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpServer {
                    port,
                    port_text: port.to_string(),
                    dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    /// What a server needs to send here (a digest pass every second).
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("GLASSCHAT_SMTP_HOST", "127.0.0.1"),
            ("GLASSCHAT_SMTP_PORT", &self.port_text),
            ("GLASSCHAT_SMTP_SECURITY", "none"),
            ("GLASSCHAT_SMTP_FROM", "Glasschat <chat@example.com>"),
            ("GLASSCHAT_EMAIL_CHECK_SECS", "1"),
        ]
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let new = self.dir.join("box").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|bytes| parse(&String::from_utf8_lossy(&bytes)))
            .collect()
    }

    /// The mails to `email`.
    pub fn mails_to(&self, email: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.contains(email))
            .collect()
    }

    /// Waits up to `secs` for the `n`th mail to `email` (1-based).
    pub async fn wait_for(&self, email: &str, n: usize, secs: u64) -> Mail {
        for _ in 0..secs * 10 {
            let mails = self.mails_to(email);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no mail #{n} to {email} within {secs} s; got {:?}",
            self.mails()
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parse(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    let (_, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut mail = Mail {
        raw: raw.clone(),
        to: String::new(),
        subject: String::new(),
        text: decode_quoted_printable(body),
    };
    mail.to = mail.header("To").unwrap_or_default();
    mail.subject = mail.header("Subject").unwrap_or_default();
    mail
}

/// RFC 2045 quoted-printable: `=XX` bytes and `=` soft line breaks.
fn decode_quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}
