//! The shared client: accounts, rooms and sockets through the public HTTP
//! API and `/ws`, exactly as a browser does them.

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::{AnyError, Args, Ws, PASSWORD};

/// A minimal HTTP/1.1 form POST (the generator needs nothing more).
pub async fn post(
    args: &Args,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), AnyError> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let cookie = cookie
        .map(|c| format!("Cookie: glasschat_session={c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n{cookie}\r\n{body}",
        args.host,
        body.len()
    );
    let (status, head, body) = exchange(args, &request).await?;
    let session = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.trim().strip_prefix("glasschat_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .find(|v| !v.is_empty());
    Ok((status, session, body))
}

pub fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs up (or, if taken, logs in) `email`; returns the session cookie.
pub async fn account(args: &Args, email: &str) -> Result<String, AnyError> {
    let (status, session, body) = post(
        args,
        "/api/signup",
        &[
            ("email", email),
            ("display_name", "load"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await?;
    if status == 200 {
        return session.ok_or_else(|| "sign-up gave no cookie".into());
    }
    let (status, session, _) = post(
        args,
        "/api/login",
        &[("email", email), ("password", PASSWORD)],
        None,
    )
    .await?;
    match (status, session) {
        (200, Some(s)) => Ok(s),
        _ => Err(format!("cannot sign up or log in {email}: {body}").into()),
    }
}

pub async fn accounts(
    args: &Args,
    prefix: &str,
    n: usize,
) -> Result<Vec<(String, String)>, AnyError> {
    let mut out = Vec::with_capacity(n);
    // Sign-ups are argon2-bound on the server: a few at a time is enough.
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let futs = chunk.iter().map(|i| {
            let email = format!("{prefix}-{i}-{}@load.test", args.tag);
            async move { account(args, &email).await.map(|c| (email, c)) }
        });
        for r in futures::future::join_all(futs).await {
            out.push(r?);
        }
    }
    Ok(out)
}

pub async fn create_room(
    args: &Args,
    owner: &str,
    name: &str,
    members: &[String],
) -> Result<i64, AnyError> {
    let members = members.join(",");
    let (status, _, body) = post(
        args,
        "/api/rooms/create",
        &[("name", name), ("members", &members)],
        Some(owner),
    )
    .await?;
    if status != 200 {
        return Err(format!("create room: {status} {body}").into());
    }
    Ok(body.trim().parse()?)
}

/// The direct chat of `cookie`'s account with `email` (found or made).
pub async fn direct_chat(args: &Args, cookie: &str, email: &str) -> Result<i64, AnyError> {
    let (status, _, body) =
        post(args, "/api/rooms/direct", &[("email", email)], Some(cookie)).await?;
    let room = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["Room"].as_i64())
        .ok_or_else(|| format!("direct chat: {status} {body}"))?;
    Ok(room)
}

/// A socket as a browser opens it (session cookie, our Origin, no Nagle).
pub async fn open_socket(args: &Args, cookie: &str) -> Result<Ws, AnyError> {
    open_socket_on(args, &args.host, cookie).await
}

/// A socket to the node at `host`, with the public origin both nodes share.
pub async fn open_socket_on(args: &Args, host: &str, cookie: &str) -> Result<Ws, AnyError> {
    let mut request = format!("ws://{host}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", format!("glasschat_session={cookie}").parse()?);
    request.headers_mut().insert("origin", args.url.parse()?);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok(ws)
}

pub async fn connect(args: &Args, cookie: &str) -> Result<Ws, AnyError> {
    connect_on(args, &args.host, cookie).await
}

pub async fn connect_on(args: &Args, host: &str, cookie: &str) -> Result<Ws, AnyError> {
    let mut ws = open_socket_on(args, host, cookie).await?;
    // Welcome, then an empty hello: start live from now.
    ws.next().await.ok_or("closed before welcome")??;
    ws.send(Message::Text(r#"{"type":"hello","rooms":[]}"#.into()))
        .await?;
    Ok(ws)
}

/// A plain GET of `path` (no cookie): the status and the body.
pub async fn get_text(args: &Args, path: &str) -> Result<(u16, String), AnyError> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.host
    );
    let (status, _, body) = exchange(args, &request).await?;
    Ok((status, body))
}

/// Sends one request on a new connection and reads the whole answer:
/// (status, head, body dechunked).
async fn exchange(args: &Args, request: &str) -> Result<(u16, String, String), AnyError> {
    let mut stream = TcpStream::connect(&args.host).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, head.to_string(), body))
}
