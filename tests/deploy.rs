//! docs/deploy.md's files, checked for real: the systemd unit's command
//! line and environment (deploy/glasschat.service) start a node; nginx with
//! the documented proxy file (deploy/nginx/glasschat-proxy.conf) passes its
//! check and carries pages, API calls and a WebSocket to it; and the unit's
//! stop (SIGTERM) reaches the browser through nginx as "reconnect now"
//! (1012) and ends the process cleanly within the unit's TimeoutStopSec.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use glasschat::realtime::protocol::close;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// What the unit says, the lines this test relies on.
struct Unit {
    exec_start: String,
    environment: Vec<(String, String)>,
    kill_signal: String,
    timeout_stop: Duration,
}

fn unit() -> Unit {
    let text = std::fs::read_to_string(Path::new(REPO).join("deploy/glasschat.service"))
        .expect("deploy/glasschat.service");
    let value = |key: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
            .collect()
    };
    let one = |key: &str| {
        value(key)
            .pop()
            .unwrap_or_else(|| panic!("the unit has no {key}"))
    };
    Unit {
        exec_start: one("ExecStart"),
        environment: value("Environment")
            .iter()
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("Environment=KEY=VALUE");
                (k.to_string(), v.to_string())
            })
            .collect(),
        kill_signal: one("KillSignal"),
        timeout_stop: Duration::from_secs(one("TimeoutStopSec").parse().expect("seconds")),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is not installed: scripts/setup.sh --test installs it (Debian nginx-light)")
}

/// nginx, stopped when dropped.
struct Nginx {
    pid_file: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
            if let Ok(pid) = pid.trim().parse::<libc::pid_t>() {
                // SAFETY: kill(2) on the nginx master this test started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

/// nginx on `front` with the documented proxy file, in front of `node`.
fn start_nginx(dir: &Path, front: u16, node: u16) -> Nginx {
    let conf = dir.join("nginx.conf");
    let proxy = Path::new(REPO).join("deploy/nginx/glasschat-proxy.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    upstream glasschat {{ server 127.0.0.1:{node} max_fails=0; }}
    server {{
        listen 127.0.0.1:{front};
        include {};
    }}
}}
",
            proxy.display()
        ),
    )
    .expect("write nginx.conf");
    let nginx = nginx_binary();
    for check in [true, false] {
        let mut cmd = std::process::Command::new(&nginx);
        if check {
            cmd.arg("-t");
        }
        let out = cmd
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir)
            .output()
            .expect("run nginx");
        assert!(
            out.status.success(),
            "nginx {}: {}",
            if check { "-t" } else { "start" },
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Nginx {
        pid_file: dir.join("nginx.pid"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_starts_a_node_that_nginx_serves_and_stops_cleanly() {
    let unit = unit();
    assert_eq!(unit.kill_signal, "SIGTERM");
    assert!(
        unit.timeout_stop >= Duration::from_secs(10),
        "a stop takes up to 10 s"
    );
    assert!(
        unit.exec_start.ends_with("/glasschat"),
        "{}",
        unit.exec_start
    );
    let names: Vec<&str> = unit.environment.iter().map(|(k, _)| k.as_str()).collect();
    for needed in [
        "GLASSCHAT_ADDR",
        "DATABASE_URL",
        "GLASSCHAT_PUBLIC_URL",
        "GLASSCHAT_BEHIND_PROXY",
    ] {
        assert!(names.contains(&needed), "the unit sets {needed}: {names:?}");
    }

    let dir = std::env::temp_dir().join(format!("glasschat-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (node, front) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{front}");
    let _nginx = start_nginx(&dir, front, node);

    // The unit's command line with its environment; only what is this
    // machine's differs: where the database and the port are, and the
    // public address (nginx here, without TLS).
    let mut command = Command::new(common::BIN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in &unit.environment {
        command.env(key, value);
    }
    let mut child = command
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/glasschat.db", dir.display()),
        )
        .env("GLASSCHAT_ADDR", format!("127.0.0.1:{node}"))
        .env("GLASSCHAT_PUBLIC_URL", &public)
        .env("RUST_LOG", "warn")
        .current_dir(REPO)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the unit's command line");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.starts_with("glasschat listening on") {
                return;
            }
        }
        panic!("the node exited before listening");
    })
    .await
    .expect("listening within 60 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    // Through nginx: the health check, the login page, a sign-up.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let health = http
        .get(format!("{public}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let page = http
        .get(format!("{public}/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status(), 200);
    let signed_up = http
        .post(format!("{public}/api/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &public)
        .body(common::encode_form(&[
            ("email", "ops@example.com"),
            ("display_name", "Ops"),
            ("password", "correct horse battery"),
        ]))
        .send()
        .await
        .expect("sign up");
    assert_eq!(signed_up.status(), 200);
    let cookie = signed_up
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("glasschat_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();

    // A socket through nginx, welcomed.
    let mut request = format!("ws://127.0.0.1:{front}/ws")
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", public.parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket through nginx");
    match ws.next().await {
        Some(Ok(Message::Text(text))) => {
            assert!(text.as_str().starts_with(r#"{"type":"welcome""#), "{text}")
        }
        other => panic!("expected the welcome, got {other:?}"),
    }

    // The unit's stop: the browser hears "reconnect now" through nginx,
    // and the process ends cleanly in time.
    let pid = child.id().expect("running") as libc::pid_t;
    let started = std::time::Instant::now();
    // SAFETY: kill(2) on the child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(close::RESTARTING));
    let status = tokio::time::timeout(unit.timeout_stop, child.wait())
        .await
        .expect("stopped within TimeoutStopSec")
        .expect("wait");
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
