//! The CLI reference, generated from the command line itself: `man/vsimport.1` (clap_mangen)
//! and `docs/CLI.md` (every command's `--help`). A test keeps the committed files current
//! (`VSIMPORT_BLESS=1 cargo test --test it cli_reference` writes them).

/// The man page (roff) and the markdown page.
pub fn generate() -> (Vec<u8>, String) {
    let mut cmd = super::examples::command().version(env!("CARGO_PKG_VERSION"));
    cmd.build();
    let mut man = Vec::new();
    // Rendering to memory does not fail.
    let _ = clap_mangen::Man::new(cmd.clone()).date("").render(&mut man);
    let mut md = String::from(
        "# Command-line reference\n\nGenerated from `vsimport --help` (`VSIMPORT_BLESS=1 cargo test --test it cli_reference` writes it again; CI fails when it is out of date). The man page is `man/vsimport.1`.\n",
    );
    fn walk(cmd: &mut clap::Command, path: &str, md: &mut String) {
        let name = if path.is_empty() {
            "vsimport".to_string()
        } else {
            format!("vsimport {path}")
        };
        md.push_str(&format!("\n## `{name}`\n\n```text\n"));
        let help = cmd.clone().term_width(100).render_long_help().to_string();
        for line in help.lines() {
            md.push_str(line.trim_end());
            md.push('\n');
        }
        md.push_str("```\n");
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .filter(|n| n != "help")
            .collect();
        for sub in subs {
            if let Some(s) = cmd.find_subcommand_mut(&sub) {
                let p = if path.is_empty() {
                    sub.clone()
                } else {
                    format!("{path} {sub}")
                };
                walk(s, &p, md);
            }
        }
    }
    walk(&mut cmd, "", &mut md);
    (man, md)
}
