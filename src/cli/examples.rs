//! Two or three examples at the end of every command's `--help`, in one table, and the clap
//! command they are added to (for parsing, completions and the CLI reference alike).

use clap::CommandFactory;

/// (command path, examples).
const EXAMPLES: &[(&[&str], &str)] = &[
    (
        &[],
        "  vsimport demo                                  # the whole job on the bundled emulator
  vsimport inspect export.csv                    # what vsimport sees in a file
  vsimport import export.csv -m export.mapping.toml --dry-run --diff",
    ),
    (
        &["import"],
        "  vsimport import oee.csv -m oee.mapping.toml --dry-run --diff   # preview, write nothing
  vsimport import oee.csv -m oee.mapping.toml --report out/        # write, reports in out/
  vsimport import oee.xlsx -m oee.mapping.toml --sheet Daten --no-partial",
    ),
    (
        &["undo"],
        "  vsimport undo --last --dry-run        # what undoing the newest import would do
  vsimport undo 20250106-101500-3f2a    # undo that import",
    ),
    (
        &["mapping"],
        "  vsimport mapping init export.csv -o export.mapping.toml
  vsimport mapping init --layout wide -o wide.mapping.toml",
    ),
    (
        &["mapping", "init"],
        "  vsimport mapping init export.csv -o export.mapping.toml   # suggested from the columns
  vsimport mapping init --layout semi-wide                   # an annotated template",
    ),
    (
        &["inspect"],
        "  vsimport inspect export.csv
  vsimport inspect report.xlsx --sheet 2 --rows 20
  vsimport inspect export.csv --format json",
    ),
    (
        &["kpis"],
        "  vsimport kpis                       # the tenant's KPIs as a table
  vsimport kpis --save catalog.json   # keep the catalog for offline dry runs",
    ),
    (
        &["export"],
        "  vsimport export --kpi OEE --from 2025-01-01 --to 2025-03-31 -o oee.csv
  vsimport export --from 2025-01-01 --team \"Montage Süd\"",
    ),
    (
        &["runs"],
        "  vsimport runs                        # past imports, newest first
  vsimport runs prune --older-than 90d",
    ),
    (
        &["runs", "prune"],
        "  vsimport runs prune --older-than 90d
  vsimport runs prune --older-than 2w --state-dir /var/lib/vsimport",
    ),
    (
        &["template"],
        "  vsimport template --kpi OEE --from 2025-01-01 --to 2025-01-31 -o oee.xlsx
  vsimport template --kpi OEE --kpi Scrap --layout long --from 2025-01-01 --to 2025-01-07 -o week.xlsx",
    ),
    (
        &["watch"],
        "  vsimport watch /srv/kpi-drop --check   # settings, mappings, server: all well?
  vsimport watch /srv/kpi-drop            # run until stopped
  vsimport watch /srv/kpi-drop --once     # what is there now (cron, systemd timers)",
    ),
    (
        &["demo"],
        "  vsimport demo
  vsimport demo --out demo-files",
    ),
    (
        &["emulator"],
        "  vsimport emulator --catalog samples/catalog.json --listen 127.0.0.1:8080
  vsimport emulator --catalog samples/catalog.json --fail-rate 0.05 --throttle-rps 200",
    ),
    (
        &["completions"],
        "  vsimport completions bash > ~/.local/share/bash-completion/completions/vsimport
  vsimport completions zsh > ~/.zfunc/_vsimport
  vsimport completions fish > ~/.config/fish/completions/vsimport.fish",
    ),
    (
        &["explain"],
        "  vsimport explain date::ambiguous
  vsimport explain vsimport::dedupe::conflict",
    ),
];

fn with_examples(mut cmd: clap::Command, path: &[&str], examples: &str) -> clap::Command {
    if let Some((first, rest)) = path.split_first() {
        return cmd.mut_subcommand(*first, |c| with_examples(c, rest, examples));
    }
    let before = cmd
        .get_after_help()
        .map(|h| format!("{h}\n\n"))
        .unwrap_or_default();
    cmd = cmd.after_help(format!("{before}Examples:\n{examples}"));
    cmd
}

/// The command line as clap knows it, examples added.
pub(crate) fn command() -> clap::Command {
    EXAMPLES
        .iter()
        .fold(super::Cli::command(), |cmd, (path, ex)| {
            with_examples(cmd, path, ex)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: String) {
            if cmd.get_name() != "help" {
                let after = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(after.contains("Examples:\n  vsimport"), "{path}");
            }
            for sub in cmd.get_subcommands() {
                walk(sub, format!("{path} {}", sub.get_name()));
            }
        }
        walk(&super::command(), "vsimport".into());
    }
}
