//! The errors that stop a command (exit code 2). Row-level problems are not errors: they are
//! diagnostics collected for the report.

use crate::api::ApiError;
use crate::emulator::EmulatorError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Api(#[from] ApiError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] EmulatorError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] crate::read::ReadError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    MappingFile(Box<crate::map::MappingError>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] crate::persist::WriteError),

    /// Flags, environment or config file do not add up.
    #[error("{message}")]
    #[diagnostic(code(vsimport::settings))]
    Settings {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// The mapping file is not usable with this file or catalog.
    #[error("{path}: {message}")]
    #[diagnostic(code(vsimport::mapping::invalid))]
    Mapping {
        path: String,
        message: String,
        #[help]
        help: Option<String>,
    },

    /// A name given on the command line matches nothing.
    #[error("{message}")]
    #[diagnostic(code(vsimport::usage))]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// Ctrl-C (or SIGTERM) before anything was written.
    #[error("interrupted {when}: nothing was written")]
    #[diagnostic(
        code(vsimport::interrupted),
        help("run the same command again to import the file")
    )]
    Interrupted { when: &'static str },

    /// Another import to the same server (and state directory) is running.
    #[error("another import to {url} is running{}{}", if holder.is_empty() { String::new() } else { format!(" ({holder})") }, if *waited > 0 { format!("; waited {waited} s") } else { String::new() })]
    #[diagnostic(
        code(vsimport::locked),
        help(
            "imports to one server run one at a time, so each compares against what the other wrote: wait for it, or pass --wait-lock SECS to wait in line"
        )
    )]
    Locked {
        url: String,
        holder: String,
        waited: u64,
    },

    /// Another `vsimport watch` holds the watched folder.
    #[error("another vsimport watch holds {root}{}", if holder.is_empty() { String::new() } else { format!(" ({holder})") })]
    #[diagnostic(
        code(vsimport::watch::locked),
        help(
            "one watch per folder: stop the other one first; a second machine may wait for it with a loop around `vsimport watch` (docs/WATCH.md)"
        )
    )]
    WatchLocked { root: String, holder: String },

    /// A file could not be read or written.
    #[error("{path}: {message}")]
    #[diagnostic(code(vsimport::io))]
    Io {
        path: String,
        message: String,
        #[help]
        help: Option<String>,
    },
}

impl From<Box<crate::map::MappingError>> for Error {
    fn from(e: Box<crate::map::MappingError>) -> Error {
        Error::MappingFile(e)
    }
}

impl Error {
    /// The process exit code for this error: 130 when interrupted, else 2 (nothing could be
    /// done).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted { .. } => 130,
            Error::Locked { .. } | Error::WatchLocked { .. } => 4,
            _ => 2,
        }
    }

    pub(crate) fn io(path: impl std::fmt::Display, err: impl std::fmt::Display) -> Error {
        Error::Io {
            path: path.to_string(),
            message: crate::os::plain(&err.to_string()),
            help: None,
        }
    }

    /// A file that `-o` would replace: refused unless `--force`.
    pub(crate) fn check_output(path: &std::path::Path, force: bool) -> Result<(), Error> {
        let refuse = |message: &str, help: &str| Error::Io {
            path: path.display().to_string(),
            message: message.to_string(),
            help: Some(help.to_string()),
        };
        if path.is_dir() {
            return Err(refuse(
                "is a directory",
                "give -o a file name, not a directory",
            ));
        }
        if path.exists() && !force {
            return Err(refuse(
                "already exists, and is not replaced",
                "pass --force to replace it, or give another name with -o",
            ));
        }
        Ok(())
    }
}
