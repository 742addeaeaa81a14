//! A small harness: start the real emulator binary on 127.0.0.1:0, run the real `vsimport`
//! binary against it, and talk HTTP to it directly where a test needs raw answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_vsimport");
pub const USER: &str = "api-user";
pub const PASSWORD: &str = "Zebra-Pass-42!";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_catalog() -> PathBuf {
    root().join("samples").join("catalog.json")
}

/// `vsimport import FILE -m MAPPING --catalog samples/catalog.json --dry-run EXTRA…`, run;
/// `mapping` names a file in samples/.
pub fn catalog_dry_run(file: &Path, mapping: &str, extra: &[&str]) -> Run {
    let mapping = root().join("samples").join(mapping);
    let catalog = sample_catalog();
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "-m",
        mapping.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--dry-run",
    ];
    args.extend_from_slice(extra);
    run(vs(&args))
}

/// A running emulator process; stopped (SIGTERM, then kill) on drop.
pub struct Emulator {
    pub child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Emulator {
    pub fn start(extra: &[&str]) -> Emulator {
        Self::start_with_catalog(&sample_catalog(), extra)
    }

    pub fn start_with_catalog(catalog: &Path, extra: &[&str]) -> Emulator {
        Self::spawn(catalog, "127.0.0.1:0", extra)
    }

    /// The emulator on a given address (a server that comes back where it was).
    pub fn start_at(listen: &str, extra: &[&str]) -> Emulator {
        Self::spawn(&sample_catalog(), listen, extra)
    }

    fn spawn(catalog: &Path, listen: &str, extra: &[&str]) -> Emulator {
        Self::spawn_as(catalog, listen, PASSWORD, extra)
    }

    /// The emulator taking another password (a canary).
    pub fn start_with_password(password: &str, extra: &[&str]) -> Emulator {
        Self::spawn_as(&sample_catalog(), "127.0.0.1:0", password, extra)
    }

    fn spawn_as(catalog: &Path, listen: &str, password: &str, extra: &[&str]) -> Emulator {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["emulator", "--catalog"])
            .arg(catalog)
            .args(["--listen", listen, "--user", USER, "--password", password])
            .arg("--log")
            .arg(dir.path().join("requests.jsonl"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("http://127.0.0.1:"),
            "emulator printed {line:?}"
        );
        Emulator {
            child,
            url: line.trim().to_string(),
            dir,
        }
    }

    /// The request log so far, one JSON value per request.
    pub fn log(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Stops with SIGTERM (so a --state file is written) and waits.
    pub fn stop(mut self) -> String {
        terminate(&mut self.child);
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }

    pub fn http(&self) -> Http {
        Http::new(&self.url)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The result of one `vsimport` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stderr with the renderer's line wrapping and gutters removed, for phrase matching.
    pub fn err(&self) -> String {
        self.stderr
            .lines()
            .map(|l| l.trim().trim_start_matches('│').trim())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A `vsimport` command with a clean environment: no config file, VS_USER and VS_PASSWORD set.
pub fn vs(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-vsimport-test-home")
        .env("VS_USER", USER)
        .env("VS_PASSWORD", PASSWORD)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// `vsimport ARGS` run in `dir` (relative paths: messages wrap the same wherever it is).
pub fn in_dir(dir: &Path, args: &[&str]) -> Run {
    let mut c = vs(args);
    c.current_dir(dir);
    run(c)
}

/// `vsimport ARGS` at a terminal: run through `script` (bsdutils), which gives it a pty;
/// stdout then carries everything the terminal showed. The environment is the clean one of
/// [`vs`] (TERM set), without VS_PASSWORD unless `password` is given.
pub fn at_terminal(args: &str, password: Option<&str>) -> Command {
    let mut c = Command::new("script");
    c.arg("-qec")
        .arg(format!("{BIN} {args}"))
        .arg("/dev/null")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-vsimport-test-home")
        .env("TERM", "xterm")
        .env("VS_USER", USER)
        .env("NO_COLOR", "1");
    if let Some(p) = password {
        c.env("VS_PASSWORD", p);
    }
    c
}

pub fn run(mut cmd: impl std::borrow::BorrowMut<Command>) -> Run {
    cmd.borrow_mut().output().expect("run vsimport").into()
}

pub fn run_with_stdin(mut cmd: impl std::borrow::BorrowMut<Command>, input: &str) -> Run {
    let mut child = cmd
        .borrow_mut()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}

/// Raw HTTP against the emulator, for asserting status codes and bodies.
pub struct Http {
    base: String,
    client: reqwest::blocking::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

pub const V2: &str = "application/vs.v2.0+json";
pub const V3: &str = "application/vs.v3.0+json";

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            base: base.to_string(),
            client: reqwest::blocking::Client::new(),
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/{}", self.base, path),
        );
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, Some((USER, PASSWORD)), None, None)
    }

    pub fn put(&self, path: &str, body: &str) -> Answer {
        self.send("PUT", path, Some((USER, PASSWORD)), Some(V2), Some(body))
    }
}

/// The sample catalog, parsed.
pub fn catalog() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(sample_catalog()).unwrap()).unwrap()
}

/// A KPI of the sample catalog by name.
pub fn kpi(name: &str) -> serde_json::Value {
    catalog()["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no KPI {name} in the sample catalog"))
}

pub fn id_of(list: &serde_json::Value, name: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A one-shot HTTP server on 127.0.0.1:0 that answers every request from `answer(path)`
/// with (status, content type, body), for servers that are not the emulator. It records the
/// requests it saw. Stops after `max` requests or 20 s.
pub struct TinyServer {
    pub url: String,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TinyServer {
    pub fn start(
        max: usize,
        answer: impl Fn(&str) -> (u16, &'static str, String) + Send + 'static,
    ) -> TinyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        listener.set_nonblocking(false).unwrap();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            for _ in 0..max {
                if Instant::now() > deadline {
                    break;
                }
                let Ok((mut stream, _)) = listener.accept() else {
                    break;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                        break;
                    }
                    head.push_str(&l);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                seen2.lock().unwrap().push(head.clone());
                let (status, ct, body) = answer(&path);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(resp.as_bytes());
            }
        });
        TinyServer { url, seen }
    }
}

/// `text` with every regex-special character escaped.
fn escaped(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshot settings for whole CLI runs: snapshots in tests/it/snapshots, with the checkout's
/// path, temporary directories, ports, run ids and timings filtered out.
pub fn snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("tests/it/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&escaped(root().to_str().unwrap()), "[ROOT]");
    s.add_filter(
        &format!(
            "{}/\\.tmp[A-Za-z0-9]+",
            escaped(std::env::temp_dir().to_str().unwrap().trim_end_matches('/'))
        ),
        "[TMP]",
    );
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b", "[RUN]");
    s.add_filter(r"\d+\.\d s, [\d,]+ requests/s", "[TIME]");
    s.add_filter(r"\(\d+\.\d s\)", "([TIME])");
    s.add_filter(r"journals/[0-9a-f]{24}\.jsonl", "journals/[JOURNAL].jsonl");
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[TIMESTAMP]");
    s
}

/// A run as a snapshot: the exit code, stdout and stderr.
pub fn shown(r: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// Makes a file its owner's alone (0600), as a config file with a password_command must be.
pub fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
