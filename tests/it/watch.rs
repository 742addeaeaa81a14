//! `vsimport watch`: files dropped into an inbox are imported once, only when complete, and
//! end in done/ or failed/ with their reports; restarts, a second watch, a server that is
//! down. Every test drives the real binary against the emulator and checks the server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

fn sample() -> Vec<u8> {
    std::fs::read(root().join("samples/oee_semi_wide_de.csv")).unwrap()
}

fn mapping() -> PathBuf {
    root().join("samples/oee_semi_wide_de.mapping.toml")
}

/// The sample's 72 records.
const RECORDS: u64 = 72;

/// A watched folder whose vsimport.toml points at `url`, with `[watch]` keys added.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new(url: &str, watch: &str) -> Root {
        let dir = tempfile::tempdir().unwrap();
        let settle = if watch.contains("settle_secs") {
            ""
        } else {
            "settle_secs = 1\n"
        };
        let toml = format!(
            "url = \"{url}\"\n\n[watch]\nmapping = {:?}\nrescan_secs = 1\n{settle}{watch}\n",
            mapping().display().to_string()
        );
        std::fs::write(dir.path().join("vsimport.toml"), toml).unwrap();
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        Root { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn s(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn inbox(&self, name: &str) -> PathBuf {
        self.path().join("inbox").join(name)
    }

    /// Files under `sub` (done, failed, processing), any depth, relative to it, sorted.
    fn files(&self, sub: &str) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let base = self.path().join(sub);
        let mut out = Vec::new();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }

    /// The data files (not reports) under `sub`.
    fn data(&self, sub: &str) -> Vec<String> {
        self.files(sub)
            .into_iter()
            .filter(|f| {
                !f.ends_with(".report.json")
                    && !f.ends_with(".report.html")
                    && !f.ends_with(".checked.xlsx")
                    && !f.ends_with(".rejected.csv")
                    && !f.ends_with(".failed.csv")
                    && !f.ends_with(".toml")
                    && !f.starts_with('.')
                    && !f.contains("/.")
            })
            .collect()
    }

    /// The report.json of the one file under `sub` whose name starts with `stem`.
    fn report(&self, sub: &str, stem: &str) -> serde_json::Value {
        let f = self
            .files(sub)
            .into_iter()
            .find(|f| {
                f.ends_with(".report.json")
                    && Path::new(f)
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(stem))
            })
            .unwrap_or_else(|| panic!("no report for {stem} in {sub}: {:?}", self.files(sub)));
        serde_json::from_str(&std::fs::read_to_string(self.path().join(sub).join(f)).unwrap())
            .unwrap()
    }

    fn once(&self, extra: &[&str]) -> Run {
        let mut args = vec!["watch", self.s(), "--once"];
        args.extend(extra);
        run(vs(&args))
    }

    /// Waits for `cond`; on timeout the panic shows the folder and the watch's log.
    fn wait(&self, what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}\nfiles: {:?}\nlog:\n{}",
                    self.files(""),
                    std::fs::read_to_string(self.path().join("vsimport.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn(&self, extra: &[&str]) -> Watching {
        let mut args = vec!["watch", self.s()];
        args.extend(extra);
        Watching(Some(
            vs(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ))
    }
}

fn puts(em: &Emulator) -> usize {
    em.log().iter().filter(|l| l["method"] == "PUT").count()
}

/// How many of the sample's records the server holds with the file's values.
fn unchanged_on_server(em: &Emulator) -> u64 {
    let r = run(vs(&[
        "import",
        root()
            .join("samples/oee_semi_wide_de.csv")
            .to_str()
            .unwrap(),
        "-m",
        mapping().to_str().unwrap(),
        "--url",
        &em.url,
        "--dry-run",
        "--diff",
        "--format",
        "json",
    ]));
    let doc: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()));
    doc["summary"]["records_unchanged"].as_u64().unwrap_or(0)
}

/// A running watch, killed if a test ends without stopping it.
struct Watching(Option<Child>);

impl Watching {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    fn kill(&mut self) -> std::io::Result<()> {
        self.0.as_mut().map_or(Ok(()), Child::kill)
    }

    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match self.0.as_mut() {
            Some(c) => c.wait(),
            None => Err(std::io::Error::other("no child")),
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// SIGTERM, then the exit code and stderr.
fn stop(mut watching: Watching) -> (i32, String) {
    let Some(mut child) = watching.0.take() else {
        return (-1, String::new());
    };
    terminate(&mut child);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (child.wait().unwrap().code().unwrap_or(-1), err)
}

/// The sample with its data rows split by `pad` bytes of blank lines: a reader that took
/// the file early would miss the rows after the padding.
fn padded(pad: usize) -> Vec<u8> {
    let s = sample();
    let text: Vec<&[u8]> = s.split(|b| *b == b'\n').collect();
    let mut out = Vec::with_capacity(s.len() + pad);
    let half = text.len() / 2;
    for (i, line) in text.iter().enumerate() {
        if i == half {
            out.extend(std::iter::repeat_n(b'\n', pad));
        }
        out.extend_from_slice(line);
        if i + 1 < text.len() {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn a_file_written_slowly_is_imported_once_when_complete() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "settle_secs = 2");
    let watch = root.spawn(&[]);
    // 50 MB in 1 MB chunks over about 5 s, the rows after the padding written last.
    let content = padded(50 * 1024 * 1024);
    let mut f = std::fs::File::create(root.inbox("slow.csv")).unwrap();
    for chunk in content.chunks(1024 * 1024) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(f);
    // Written to a temporary name, then renamed; and a copy that replaces a file.
    let mut part = std::fs::File::create(root.inbox("renamed.csv.part")).unwrap();
    for chunk in sample().chunks(500) {
        part.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(part);
    std::fs::rename(root.inbox("renamed.csv.part"), root.inbox("renamed.csv")).unwrap();
    root.wait("the three files in done/", 90, || {
        root.data("done").len() == 2
    });
    let (code, err) = stop(watch);
    assert_eq!(code, 0, "{err}");
    // Each imported once: the slow file wrote every record, the renamed one found them there.
    assert_eq!(puts(&em), RECORDS as usize, "{err}");
    assert_eq!(unchanged_on_server(&em), RECORDS);
    let slow = root.report("done", "slow.csv");
    assert_eq!(slow["summary"]["records_written"], RECORDS, "{slow}");
    assert_eq!(slow["watch"]["outcome"], "done");
    let renamed = root.report("done", "renamed.csv");
    assert!(
        renamed["watch"]["outcome"] == "done" || renamed["watch"]["outcome"] == "duplicate",
        "{renamed}"
    );
    assert!(root.data("processing").is_empty() && root.data("failed").is_empty());
    assert!(err.contains("done inbox/slow.csv: 72 written"), "{err}");
}

#[test]
fn a_file_replaced_by_a_copy_while_settling_is_imported_once_with_the_copy() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "settle_secs = 2");
    let watch = root.spawn(&[]);
    // Half a file, then a complete copy renamed over it before it settles.
    let s = sample();
    std::fs::write(root.inbox("export.csv"), &s[..s.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    std::fs::write(root.path().join("copy.tmp"), &s).unwrap();
    std::fs::rename(root.path().join("copy.tmp"), root.inbox("export.csv")).unwrap();
    root.wait("export.csv in done/", 30, || root.data("done").len() == 1);
    let (code, err) = stop(watch);
    assert_eq!(code, 0, "{err}");
    assert_eq!(puts(&em), RECORDS as usize, "{err}");
    assert_eq!(unchanged_on_server(&em), RECORDS);
}

#[test]
fn lock_hidden_and_temporary_files_are_left_alone_and_one_content_is_written_once() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    let untouched = [
        "~$book.xlsx",
        ".hidden.csv",
        "x.tmp",
        "x.part",
        "y.crdownload",
    ];
    for n in untouched {
        std::fs::write(root.inbox(n), sample()).unwrap();
    }
    std::fs::write(root.inbox("a.csv"), sample()).unwrap();
    std::fs::write(root.inbox("b.csv"), sample()).unwrap();
    let r = root.once(&["--settle-secs", "0"]);
    assert_eq!(r.code, 0, "{}", r.all());
    for n in untouched {
        assert_eq!(
            std::fs::read(root.inbox(n)).unwrap(),
            sample(),
            "{n} was touched"
        );
    }
    assert_eq!(root.data("done").len(), 2, "{:?}", root.files("done"));
    assert_eq!(puts(&em), RECORDS as usize);
    assert!(r.stderr.contains("duplicate inbox/"), "{}", r.stderr);
    // The same content again next day, under a third name: not sent.
    std::fs::write(root.inbox("c.csv"), sample()).unwrap();
    let r = root.once(&["--settle-secs", "0"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(puts(&em), RECORDS as usize);
    let c = root.report("done", "c.csv");
    assert_eq!(c["watch"]["outcome"], "duplicate", "{c}");
}

#[test]
fn a_hundred_touches_of_one_file_make_one_import() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    let watch = root.spawn(&[]);
    let p = root.inbox("touched.csv");
    std::fs::write(&p, sample()).unwrap();
    for _ in 0..100 {
        let f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.set_modified(std::time::SystemTime::now()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    root.wait("touched.csv in done/", 30, || root.data("done").len() == 1);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, err) = stop(watch);
    assert_eq!(code, 0, "{err}");
    assert_eq!(root.data("done").len(), 1);
    assert_eq!(puts(&em), RECORDS as usize, "{err}");
}

#[test]
fn kill_9_mid_import_then_a_restart_finishes_the_file_exactly_once() {
    // One record at a time, 30 ms each: the import writes for about 2 s.
    for after_puts in [0usize, 1, 25, 60] {
        let em = Emulator::start(&["--latency-ms", "30"]);
        let root = Root::new(&em.url, "");
        std::fs::write(root.inbox("k.csv"), sample()).unwrap();
        let mut watch = root.spawn(&["--settle-secs", "0", "--concurrency", "1"]);
        root.wait("the file in processing/", 20, || {
            root.data("processing").len() == 1
        });
        root.wait("PUTs", 20, || puts(&em) >= after_puts);
        watch.kill().unwrap();
        let _ = watch.wait();
        assert!(
            root.data("done").is_empty(),
            "after {after_puts}: done too soon"
        );
        let r = root.once(&[]);
        assert_eq!(r.code, 0, "after {after_puts}: {}", r.all());
        assert_eq!(
            root.data("done").len(),
            1,
            "after {after_puts}: {:?}",
            root.files("done")
        );
        assert!(root.data("processing").is_empty());
        assert_eq!(unchanged_on_server(&em), RECORDS, "after {after_puts}");
        // Each record written once: the journal skipped what the killed watch wrote.
        assert!(
            puts(&em) <= RECORDS as usize + 1,
            "after {after_puts}: {} PUTs",
            puts(&em)
        );
        let rep = root.report("done", "k.csv");
        assert_eq!(rep["watch"]["resumed"], true, "{rep}");
        assert!(r.stderr.contains("(resumed)"), "{}", r.stderr);
    }
}

#[test]
fn a_second_watch_on_the_same_root_exits_at_once_with_code_4() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    let first = root.spawn(&[]);
    let pid = format!("\"pid\":{}", first.id());
    root.wait("the lock file", 20, || {
        std::fs::read_to_string(root.path().join(".vsimport-watch.lock"))
            .is_ok_and(|t| t.contains(&pid))
    });
    let started = Instant::now();
    let second = root.once(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(second.code, 4, "{}", second.all());
    assert!(
        second.stderr.contains("another vsimport watch holds"),
        "{}",
        second.stderr
    );
    let (code, _) = stop(first);
    assert_eq!(code, 0);
    // Once the first is gone, the folder is free.
    assert_eq!(root.once(&[]).code, 0);
}

/// `from` replaced by `to` once, in bytes (the sample is cp1252).
fn replace_once(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = s.windows(from.len()).position(|w| w == from).unwrap();
    [&s[..i], to, &s[i + from.len()..]].concat()
}

/// The sample with two rows broken (a date and a number).
fn with_bad_rows() -> Vec<u8> {
    let s = replace_once(&sample(), b"06.01.2025;", b"31.02.2025;");
    replace_once(&s, b";1220;", b";12x0;")
}

#[test]
fn rejected_rows_end_as_the_policy_says_and_a_non_spreadsheet_fails_with_a_report() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "annotate = true");
    std::fs::write(root.inbox("bad.csv"), with_bad_rows()).unwrap();
    std::fs::write(
        root.inbox("photo.xlsx"),
        b"\x89PNG\r\n\x1a\n not a workbook",
    )
    .unwrap();
    let r = root.once(&["--settle-secs", "0", "--on-rejected", "hold"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert_eq!(puts(&em), 0, "hold wrote nothing");
    let failed = root.files("failed");
    assert!(
        failed.iter().any(|f| f.ends_with("bad.csv.rejected.csv")),
        "{failed:?}"
    );
    let bad = root.report("failed", "bad.csv");
    assert_eq!(bad["watch"]["outcome"], "failed", "{bad}");
    let photo = root.report("failed", "photo.xlsx");
    assert_eq!(photo["error"]["exit_code"], 2, "{photo}");
    assert!(
        photo["watch"]["detail"]
            .as_str()
            .unwrap()
            .contains("photo.xlsx"),
        "{photo}"
    );
    // The default policy: the valid records are written, the rows listed beside the file.
    std::fs::write(root.inbox("bad2.csv"), with_bad_rows()).unwrap();
    let r = root.once(&["--settle-secs", "0"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let done = root.files("done");
    assert!(
        done.iter().any(|f| f.ends_with("bad2.csv.rejected.csv")),
        "{done:?}"
    );
    let bad2 = root.report("done", "bad2.csv");
    assert_eq!(bad2["summary"]["records_written"], RECORDS - 2, "{bad2}");
}

#[test]
fn while_the_server_is_down_files_wait_and_go_through_when_it_is_back() {
    // An address with nothing behind it yet.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap().to_string();
    drop(probe);
    let root = Root::new(&format!("http://{addr}/api"), "");
    std::fs::write(root.inbox("night.csv"), sample()).unwrap();
    let watch = root.spawn(&["--settle-secs", "0"]);
    root.wait("the file waiting in processing/", 20, || {
        root.data("processing").len() == 1
            && std::fs::read_to_string(root.path().join("vsimport.log"))
                .is_ok_and(|l| l.contains("waiting inbox/night.csv"))
    });
    assert!(root.data("failed").is_empty());
    let em = Emulator::start_at(&addr, &[]);
    root.wait("night.csv in done/", 40, || root.data("done").len() == 1);
    let (code, err) = stop(watch);
    assert_eq!(code, 0, "{err}");
    assert!(root.data("failed").is_empty(), "{err}");
    assert_eq!(unchanged_on_server(&em), RECORDS);
    let status: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join(".vsimport-status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status["done"], 1, "{status}");
}

#[test]
fn once_with_a_thousand_small_files_processes_them_all() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    let day0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..1000u64 {
        let day = day0 + chrono::Days::new(i);
        let text = format!(
            "Datum;Team;Kennzahl;Ist;Soll\n{};Montage S\u{fc}d;OEE;{},5;90\n",
            day.format("%d.%m.%Y"),
            60 + i % 30
        );
        std::fs::write(root.inbox(&format!("day-{i:04}.csv")), text).unwrap();
    }
    let started = Instant::now();
    let r = root.once(&["--settle-secs", "0"]);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(root.data("done").len(), 1000);
    assert!(root.data("inbox").is_empty() && root.data("processing").is_empty());
    assert_eq!(puts(&em), 1000);
    eprintln!("1,000 files with --once: {took:?}");
}

#[test]
fn check_lists_what_would_be_imported_and_moves_nothing() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    std::fs::write(root.inbox("a.csv"), sample()).unwrap();
    std::fs::write(root.inbox("~$a.xlsx"), "").unwrap();
    std::fs::create_dir_all(root.inbox("weekly")).unwrap();
    std::fs::write(
        root.inbox("weekly").join("mapping.toml"),
        "[columns]\ndate = ",
    )
    .unwrap();
    let r = run(vs(&["watch", root.s(), "--check", "--settle-secs", "0"]));
    assert_eq!(r.code, 2, "{}", r.all());
    let shown = r
        .stdout
        .replace(root.s(), "ROOT")
        .replace(&em.url, "URL")
        .replace(mapping().to_str().unwrap(), "MAPPING");
    snapshots().bind(|| insta::assert_snapshot!("watch_check", shown));
    assert!(root.inbox("a.csv").exists());
    assert_eq!(puts(&em), 0);
}

#[test]
fn a_password_in_the_watched_folder_is_refused() {
    let root = Root::new("http://127.0.0.1:1/api", "");
    let p = root.path().join("vsimport.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, format!("password = \"hunter2\"\n{text}")).unwrap();
    let r = root.once(&[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(!r.all().contains("hunter2"));
    snapshots().bind(|| {
        insta::assert_snapshot!(
            "watch_password_in_root",
            shown(&r).replace(root.s(), "ROOT")
        )
    });
}

#[test]
fn on_file_done_gets_the_outcome_and_the_log_has_one_line_per_file() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    std::fs::write(root.inbox("a.csv"), sample()).unwrap();
    let hook =
        "echo \"$VSIMPORT_OUTCOME $VSIMPORT_FILE $VSIMPORT_WRITTEN $VSIMPORT_PATH\" >> hook.txt";
    let r = root.once(&[
        "--settle-secs",
        "0",
        "--on-file-done",
        hook,
        "--log-format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let today = chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let hooked = std::fs::read_to_string(root.path().join("hook.txt")).unwrap();
    assert_eq!(
        hooked.trim(),
        format!("done inbox/a.csv 72 done/{today}/a.csv")
    );
    let log = std::fs::read_to_string(root.path().join("vsimport.log")).unwrap();
    let files: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "file")
        .collect();
    assert_eq!(files.len(), 1, "{log}");
    assert_eq!(files[0]["outcome"], "done");
    assert_eq!(files[0]["counts"]["written"], 72);
}

#[test]
fn the_log_says_what_became_of_each_file() {
    let em = Emulator::start(&[]);
    let root = Root::new(&em.url, "");
    std::fs::write(root.inbox("a.csv"), sample()).unwrap();
    // Oldest first: a.csv, then the rest. The watch orders by the last change (the later of
    // mtime and ctime), and setting the mtime back is itself a change: the other files are
    // written after it, so a.csv is first however coarse the file system's clock is.
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .append(true)
        .open(root.inbox("a.csv"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    std::fs::write(root.inbox("bad.csv"), with_bad_rows()).unwrap();
    std::fs::write(root.inbox("photo.xlsx"), b"not a workbook").unwrap();
    std::fs::write(root.inbox("copy of a.csv"), sample()).unwrap();
    let r = root.once(&["--settle-secs", "0"]);
    assert_eq!(r.code, 2, "{}", r.all());
    let today = chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let mut lines: Vec<String> = r
        .stderr
        .lines()
        .map(|l| {
            // Times and the day's folder vary; the order of equally old files does not matter.
            let l = l.get(20..).unwrap_or(l).replace(&today, "DAY");
            let l = match l.find(" UTC;") {
                Some(i) if i >= 6 => format!("{}HH:MM{}", &l[..i - 5], &l[i..]),
                _ => l,
            };
            l.replace(root.s(), "ROOT")
        })
        .collect();
    let first = lines.remove(0);
    assert!(first.starts_with("started watching ROOT (host "), "{first}");
    lines.sort();
    let shown = lines.join("\n");
    snapshots().bind(|| insta::assert_snapshot!("watch_log", shown));
    // The same lines went to ROOT/vsimport.log.
    let log = std::fs::read_to_string(root.path().join("vsimport.log")).unwrap();
    assert_eq!(log.lines().count(), r.stderr.lines().count(), "{log}");
    // A second watch on the folder while it is held: the message.
    let first = root.spawn(&[]);
    let pid = format!("\"pid\":{}", first.id());
    root.wait("the lock file", 20, || {
        std::fs::read_to_string(root.path().join(".vsimport-watch.lock"))
            .is_ok_and(|t| t.contains(&pid))
    });
    let second = root.once(&[]);
    let _ = stop(first);
    assert_eq!(second.code, 4, "{}", second.all());
    let msg = shown_run(&second, root.s());
    snapshots().bind(|| insta::assert_snapshot!("watch_second_instance", msg));
}

/// A run as shown, with the folder and the lock holder (host, pid, times) made stable.
fn shown_run(r: &Run, root: &str) -> String {
    let s = shown(r).replace(root, "ROOT");
    let holder = regex::Regex::new(r"\(host [\s\S]*? s ago\)").unwrap();
    holder
        .replace_all(&s, "(host [HOST], pid [PID], ...)")
        .into_owned()
}

#[test]
fn sigterm_while_writing_checkpoints_the_file_and_exits_0() {
    let em = Emulator::start(&["--latency-ms", "30"]);
    let root = Root::new(&em.url, "");
    std::fs::write(root.inbox("t.csv"), sample()).unwrap();
    let watch = root.spawn(&["--settle-secs", "0", "--concurrency", "1"]);
    root.wait("some PUTs", 20, || puts(&em) >= 10);
    let (code, err) = stop(watch);
    assert_eq!(code, 0, "{err}");
    let written = puts(&em);
    assert!(written < RECORDS as usize, "{err}");
    assert_eq!(root.data("processing").len(), 1, "{err}");
    assert!(err.contains("stopped inbox/t.csv:"), "{err}");
    // The next start finishes it, sending only what the stopped one had not.
    let r = root.once(&[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(root.data("done").len(), 1);
    assert_eq!(puts(&em), RECORDS as usize, "{}", r.all());
    assert_eq!(unchanged_on_server(&em), RECORDS);
}
