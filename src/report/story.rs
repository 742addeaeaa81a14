//! The demo's story as the user reads it: who plays the server, what each step runs, and
//! where the files are. The plan, the comparison and what was written come from [`super::text`].

use std::path::Path;

/// Who plays the server, and what it holds before the story starts.
pub(crate) fn intro(url: &str, sample: &str, seeded: u64) -> String {
    format!(
        "vsimport demo: the bundled emulator plays a ValueStreamer tenant at {url}\n\
         (user demo); nothing leaves this machine. The server holds last week's export ({}).\n\
         This week's export is {sample}, a German MES report (windows-1252, semicolons,\n\
         decimal commas, a title row).\n",
        super::count(seeded, "record", "records")
    )
}

/// A step's heading and the command it runs.
pub(crate) fn step(n: u32, what: &str, command: &str) -> String {
    format!("\n{n}. {what}\n   $ {command}\n")
}

/// Where the reports are, how to look at the files, and what to run against a real tenant.
pub(crate) fn end(out: &Path, report: &Path, samples: &Path) -> String {
    format!(
        "\nReports, undo data and journals of these runs: {}\n\
         \x20 the import's report, to open in a browser: {}\n\
         \x20 the sample files, to try yourself: {} (start with vsimport inspect FILE)\n\
         Against a real tenant: VS_USER=... VS_PASSWORD=... vsimport import FILE -m MAPPING --tenant NAME --dry-run --diff\n",
        out.display(),
        report.join("report.html").display(),
        samples.display()
    )
}
