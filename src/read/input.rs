//! Where the bytes come from: a file (regular, or a named pipe) or standard input (`-`). The
//! input is opened once and read once, front to back; every byte read goes through a SHA-256
//! as it passes, so the content hash (for the journal and for recognising a file seen before)
//! costs no second read.
//!
//! A stream that cannot be read again (standard input, a pipe) is copied to an anonymous
//! temporary file as it is read, so that the few rows rejected after the read (conflicting
//! duplicates, dates settled for the whole file) can be written to rejected.csv as the file
//! has them.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;

use super::ReadError;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// `-` is standard input; anything else a path.
    pub(crate) fn from_arg(arg: &Path) -> Input {
        if arg.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::Path(arg.to_path_buf())
        }
    }

    /// The name shown in messages and reports.
    pub(crate) fn shown(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
        }
    }

    /// The file's extension, lower case (empty for standard input).
    pub(crate) fn extension(&self) -> String {
        match self {
            Input::Path(p) => p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase(),
            Input::Stdin => String::new(),
        }
    }
}

/// The content hash, filled in as the bytes pass.
#[derive(Clone)]
pub(crate) struct Digest {
    state: Arc<Mutex<DigestState>>,
}

struct DigestState {
    ctx: Option<digest::Context>,
    done: Option<String>,
}

impl Digest {
    /// A digest that hashes (`hash`), or one that only passes the bytes on.
    fn new(hash: bool) -> Digest {
        Digest {
            state: Arc::new(Mutex::new(DigestState {
                ctx: hash.then(|| digest::Context::new(&digest::SHA256)),
                done: None,
            })),
        }
    }

    fn update(&self, bytes: &[u8]) {
        if let Ok(mut s) = self.state.lock()
            && let Some(c) = s.ctx.as_mut()
        {
            c.update(bytes);
        }
    }

    fn finish(&self) {
        if let Ok(mut s) = self.state.lock()
            && let Some(c) = s.ctx.take()
        {
            s.done = Some(hex::encode(c.finish().as_ref()));
        }
    }

    /// The SHA-256 of every byte, once the input has been read to its end (when asked for).
    pub(crate) fn sha256(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.done.clone())
    }
}

/// An opened input: a reader that hashes (and, for streams, copies) what passes through it.
pub(crate) struct Opened {
    pub(crate) shown: String,
    reader: Box<dyn Read + Send>,
    pub(crate) digest: Digest,
    /// The size, for a regular file (progress, room for values).
    pub(crate) len: Option<u64>,
    /// How to read the bytes again for rows rejected after the read.
    pub(crate) again: Again,
}

/// The input's bytes, available again after the read.
#[derive(Clone)]
pub(crate) enum Again {
    /// A regular file: the same handle, read again by offset.
    File(Arc<File>),
    /// A stream, copied as it was read.
    Copy(Arc<Mutex<File>>),
}

impl Again {
    /// A reader over the whole input from its start.
    pub(crate) fn reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        let mut f = match self {
            Again::File(f) => f.try_clone()?,
            Again::Copy(f) => f
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .try_clone()?,
        };
        f.seek(SeekFrom::Start(0))?;
        Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, f)))
    }
}

struct Passing {
    inner: Box<dyn Read + Send>,
    digest: Digest,
    copy: Option<Arc<Mutex<File>>>,
}

impl Read for Passing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.digest.finish();
        } else {
            self.digest.update(&buf[..n]);
            if let Some(c) = &self.copy {
                c.lock()
                    .map_err(|_| std::io::Error::other("the copy of the input is unusable"))?
                    .write_all(&buf[..n])?;
            }
        }
        Ok(n)
    }
}

impl Opened {
    /// Opens `input` for one pass; `hash`: compute its SHA-256 on the way.
    pub(crate) fn open(input: &Input, hash: bool) -> Result<Opened, ReadError> {
        let shown = input.shown();
        let io = |what: &str, e: std::io::Error| {
            ReadError::new(
                &shown,
                "io",
                format!("{what}: {}", crate::os::plain(&e.to_string())),
                "check the path and that the file is readable",
            )
        };
        let (reader, len, again): (Box<dyn Read + Send>, Option<u64>, Option<Again>) = match input {
            Input::Path(p) if p.is_dir() => {
                return Err(ReadError::new(
                    &shown,
                    "io",
                    "is a directory, not a file".to_string(),
                    "give the exported file (CSV, xlsx, xlsm, xlsb, xls or ods)",
                ));
            }
            Input::Path(p) => {
                let f = File::open(p).map_err(|e| io("cannot open the file", e))?;
                let meta = f.metadata().map_err(|e| io("cannot look at the file", e))?;
                if meta.is_dir() {
                    return Err(ReadError::new(
                        &shown,
                        "io",
                        "this is a directory, not a file",
                        "name the exported file itself",
                    ));
                }
                if meta.is_file() {
                    let f = Arc::new(f);
                    let reader = f.try_clone().map_err(|e| io("cannot open the file", e))?;
                    (Box::new(reader), Some(meta.len()), Some(Again::File(f)))
                } else {
                    // A named pipe or a device: read as a stream.
                    (Box::new(f), None, None)
                }
            }
            Input::Stdin => (Box::new(std::io::stdin()), None, None),
        };
        let (copy, again) = match again {
            Some(a) => (None, a),
            None => {
                let c = Arc::new(Mutex::new(
                    tempfile::tempfile().map_err(|e| io("cannot make a temporary copy", e))?,
                ));
                (Some(c.clone()), Again::Copy(c))
            }
        };
        let digest = Digest::new(hash);
        Ok(Opened {
            shown,
            reader: Box::new(Passing {
                inner: reader,
                digest: digest.clone(),
                copy,
            }),
            digest,
            len,
            again,
        })
    }

    /// The reader; every byte through it is hashed (and copied, for a stream).
    pub(crate) fn into_reader(self) -> (Box<dyn Read + Send>, Digest, Again, Option<u64>) {
        (self.reader, self.digest, self.again, self.len)
    }
}
