//! What each diagnostic code means and how to fix it: the sections of docs/DIAGNOSTICS.md,
//! built into the binary, for `vsimport explain CODE`, the hint under a run's problems and the
//! HTML report's glossary. Input: a code (`vsimport::date::ambiguous` or `date::ambiguous`);
//! output: its section as text.

/// The page, as the repository has it.
const PAGE: &str = include_str!("../../docs/DIAGNOSTICS.md");

/// Every `### `CODE`` section of the page: (code, text after the heading).
pub(crate) fn sections() -> impl Iterator<Item = (&'static str, &'static str)> {
    PAGE.split("\n### `").skip(1).filter_map(|part| {
        let (code, rest) = part.split_once('`')?;
        let body = rest.split("\n## ").next().unwrap_or(rest);
        Some((code, body.trim()))
    })
}

/// The full code for what a user typed: `date::ambiguous` and `vsimport::date::ambiguous` alike.
fn full(code: &str) -> String {
    let code = code.trim();
    if code.starts_with("vsimport::") {
        code.to_string()
    } else {
        format!("vsimport::{code}")
    }
}

/// A code's section: its meaning and its fix.
pub(crate) fn section(code: &str) -> Option<&'static str> {
    let code = full(code);
    sections().find(|(c, _)| *c == code).map(|(_, body)| body)
}

/// A code's section as a terminal shows it: the code, then the text with its markdown
/// emphasis taken off.
pub(crate) fn render(code: &str) -> Option<String> {
    let body = section(code)?;
    let text = body.replace("**", "");
    Some(format!("{}\n\n{text}\n", full(code)))
}

/// A code's section split into what it means and how to fix it, as plain text without the
/// markdown's backticks (the HTML report shows them under each group of problems).
pub(crate) fn means_and_fix(code: &str) -> Option<(String, String)> {
    let body = section(code)?.replace('\n', " ").replace('`', "");
    let (means, fix) = body.split_once("**Fix:**")?;
    let means = means.split_once(":**").map(|(_, m)| m).unwrap_or(means);
    Some((means.trim().to_string(), fix.trim().to_string()))
}

/// The section's anchor on docs/DIAGNOSTICS.md as a markdown renderer makes it.
pub(crate) fn anchor(code: &str) -> String {
    full(code).replace("::", "")
}

/// The codes there are, for a message naming the nearest.
pub(crate) fn nearest(code: &str) -> Option<&'static str> {
    let code = full(code);
    sections()
        .map(|(c, _)| (strsim::jaro_winkler(c, &code), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The line under a run's problems that says where `code` (the first shown) is explained.
pub(crate) fn hint(code: &str) -> String {
    format!(
        "What a code means and how to fix its cells: vsimport explain {} (docs/DIAGNOSTICS.md)",
        code.trim_start_matches("vsimport::")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_has_a_meaning_and_a_fix() {
        let mut n = 0;
        for (code, body) in sections() {
            assert!(code.starts_with("vsimport::"), "{code}");
            assert!(body.starts_with("**Means"), "{code}: {body}");
            assert!(body.contains("**Fix:**"), "{code}");
            n += 1;
        }
        assert!(n > 50, "{n} sections");
    }

    #[test]
    fn short_and_full_codes_find_the_same_section() {
        assert_eq!(
            section("date::ambiguous"),
            section("vsimport::date::ambiguous")
        );
        assert!(section("date::ambiguous").unwrap().contains("dayfirst"));
        assert_eq!(section("date::nonsense"), None);
        assert_eq!(nearest("date::ambigous"), Some("vsimport::date::ambiguous"));
        let (means, fix) = means_and_fix("dedupe::conflict").unwrap();
        assert!(means.starts_with("the same record and slot"), "{means}");
        assert!(fix.starts_with("correct the rows"), "{fix}");
        assert_eq!(anchor("date::ambiguous"), "vsimportdateambiguous");
        assert!(PAGE.contains("(#vsimportdateambiguous)"));
    }

    /// Every code the source gives a diagnostic or an error has its section.
    #[test]
    fn every_code_in_the_source_is_explained() {
        let mut missing = Vec::new();
        let mut seen = 0;
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("explain.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // `"vsimport::a::b"` literals and `code(vsimport::a::b)` attributes.
                for (i, _) in text.match_indices("vsimport::") {
                    let before = &text[..i];
                    if !(before.ends_with('"') || before.ends_with("code(")) {
                        continue;
                    }
                    let code: String = text[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let code = code.trim_end_matches(':');
                    if code == "vsimport::read" {
                        continue; // `format!("vsimport::read::{code}")`: listed below
                    }
                    seen += 1;
                    if section(code).is_none() {
                        missing.push(format!("{code} ({})", path.display()));
                    }
                }
            }
        }
        for kind in [
            "io",
            "empty",
            "not_a_spreadsheet",
            "corrupt",
            "encrypted",
            "no_header",
            "too_big",
            "limit",
        ] {
            if section(&format!("read::{kind}")).is_none() {
                missing.push(format!("vsimport::read::{kind}"));
            }
        }
        assert!(seen > 40, "{seen} codes found in the source");
        assert!(
            missing.is_empty(),
            "no section in docs/DIAGNOSTICS.md: {missing:?}"
        );
    }
}
