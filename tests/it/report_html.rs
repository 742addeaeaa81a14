//! report.html: rendered by headless Chromium without console errors and showing the
//! headline; file content shown as text, never as markup; formulas inert in the CSV files.

use std::path::Path;
use std::process::Command;

use crate::harness::*;

/// Debian's Chromium. The test fails without it (`.ci/run` installs it), unless
/// VSIMPORT_NO_BROWSER=1 says to leave the browser out on purpose.
fn chromium() -> Option<&'static str> {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return Some(c);
        }
    }
    assert!(
        std::env::var("VSIMPORT_NO_BROWSER").is_ok_and(|v| v == "1"),
        "Chromium is needed for this test: apt-get install chromium (or set VSIMPORT_NO_BROWSER=1 to leave it out)"
    );
    None
}

/// Chromium headless on a local file: (the DOM after scripts ran, its log on stderr).
fn render(browser: &str, page: &Path, screenshot: Option<&Path>) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(s) => c.arg(format!("--screenshot={}", s.display())),
        None => c.arg("--dump-dom"),
    };
    let out = c
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Console errors in Chromium's log: uncaught exceptions and console.error lines.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect()
}

#[test]
fn the_report_of_a_dry_run_with_diff_renders_in_chromium() {
    let em = Emulator::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mapping = root().join("samples/oee_semi_wide_de.mapping.toml");
    let imported = run(vs(&[
        "import",
        root()
            .join("samples/oee_semi_wide_de.earlier.csv")
            .to_str()
            .unwrap(),
        "-m",
        mapping.to_str().unwrap(),
        "--url",
        &em.url,
        "--state-dir",
        state.to_str().unwrap(),
    ]));
    assert_eq!(imported.code, 0, "{}", imported.all());
    let report = dir.path().join("report");
    let r = run(vs(&[
        "import",
        root()
            .join("samples/oee_semi_wide_de.csv")
            .to_str()
            .unwrap(),
        "-m",
        mapping.to_str().unwrap(),
        "--url",
        &em.url,
        "--dry-run",
        "--diff",
        "--report",
        report.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    let page = report.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for outside in ["http://", "https://", "src=\"", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in the page");
    }
    assert!(html.contains("Dry run: 65 records would be written; no row has a problem."));
    assert!(html.contains("<svg"), "a chart per KPI");
    // Paths are escaped in the page ('/' as &#x2f;).
    let escaped_root = root().to_str().unwrap().replace('/', "&#x2f;");
    let pinned = html
        .replace(root().to_str().unwrap(), "[ROOT]")
        .replace(&escaped_root, "[ROOT]");
    snapshots().bind(|| insta::assert_snapshot!("report_html_dry_run_diff", pinned));
    let Some(browser) = chromium() else {
        return;
    };
    let (dom, log) = render(browser, &page, None);
    assert!(console_errors(&log).is_empty(), "{log}");
    assert!(
        dom.contains(
            "<h1 id=\"headline\">Dry run: 65 records would be written; no row has a problem.</h1>"
        ),
        "{dom}"
    );
    // The changes table came through the script untouched (largest first: 1200 -> 1210).
    let first = dom.find("<td>Lackiererei</td>").unwrap();
    let second = dom
        .find("<td>Montage Nord</td><td>2025-01-06</td>")
        .unwrap();
    assert!(first < second);
    let shot = dir.path().join("shot.png");
    let (_, log) = render(browser, &page, Some(&shot));
    assert!(console_errors(&log).is_empty(), "{log}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn cell_content_is_text_in_the_page_and_inert_in_the_csv_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("hostile.csv");
    std::fs::write(
        &csv,
        "Datum;Team;Kennzahl;Ist;Soll\n\
         06.01.2025;<script>alert(1)</script>;OEE;85,0;90\n\
         06.01.2025;Montage Süd;=HYPERLINK(\"http://evil.example\",\"x\");85,0;90\n\
         07.01.2025;Montage Süd;OEE;<img src=x onerror=alert(2)>;90\n",
    )
    .unwrap();
    let report = dir.path().join("report");
    let r = catalog_dry_run(
        &csv,
        "oee_semi_wide_de.mapping.toml",
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert(1)"), "raw script in the page");
    assert!(!html.contains("<img src=x"), "raw markup in the page");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "the name as text"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    let rejected = std::fs::read_to_string(report.join("rejected.csv")).unwrap();
    assert!(rejected.contains("'=HYPERLINK"), "{rejected}");
    assert!(!rejected.contains(";=HYPERLINK"), "{rejected}");
    if let Some(browser) = chromium() {
        let (dom, log) = render(browser, &report.join("report.html"), None);
        assert!(console_errors(&log).is_empty(), "{log}");
        assert!(
            dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{dom}"
        );
    }
}

/// Each group of problems in report.html says what its code means and how to fix it, with the
/// anchor of its section in docs/DIAGNOSTICS.md.
#[test]
fn each_problem_group_says_what_its_code_means() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let r = catalog_dry_run(
        &root().join("samples/typical_mistakes.csv"),
        "typical_mistakes.mapping.toml",
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    let docs = std::fs::read_to_string(root().join("docs/DIAGNOSTICS.md")).unwrap();
    for code in [
        "catalog::unknown_team",
        "date::ambiguous",
        "dedupe::conflict",
    ] {
        let anchor = format!("vsimport{}", code.replace("::", ""));
        if code == "date::ambiguous" {
            // Not among this sample's problems: no group, no explanation.
            assert!(!html.contains(&format!("id=\"{anchor}\"")));
            continue;
        }
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{code}");
        assert!(
            docs.contains(&format!("(#{anchor})")),
            "{code} listed in the page"
        );
    }
    assert!(html.contains("<b>What it means:</b> no team of that name"));
    assert!(html.contains("<b>How to fix it:</b> correct the name, or add an alias in [aliases]."));
    assert!(!html.contains("`"), "no markdown in the page");
}
