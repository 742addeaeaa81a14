//! The operating system's error messages in plain words, for every message users read.

/// An operating system's error message in plain words: `File exists (os error 17)` becomes
/// `already exists`.
pub(crate) fn plain(message: &str) -> String {
    let core = match message.rfind(" (os error ") {
        Some(i) if message.ends_with(')') => &message[..i],
        _ => message,
    };
    match core {
        "File exists" => "already exists".to_string(),
        "Is a directory" => "is a directory, not a file".to_string(),
        "Not a directory" => "a part of the path is not a directory".to_string(),
        "No such file or directory" => "no such file or directory".to_string(),
        "Permission denied" => "permission denied".to_string(),
        "No space left on device" => "the disk is full".to_string(),
        "Read-only file system" => "the file system is read-only".to_string(),
        other => other.to_string(),
    }
}

/// This machine's host name (for lock files that other machines on a share read).
pub(crate) fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            if end > 0 {
                return String::from_utf8_lossy(&buf[..end]).into_owned();
            }
        }
    }
    "unknown-host".to_string()
}

/// The process's peak resident memory in kB since it started this program (Linux: `VmHWM`
/// of /proc/self/status, which starts afresh at exec, unlike getrusage's `ru_maxrss`, which
/// a child inherits from the memory of the process that spawned it); `None` elsewhere.
pub(crate) fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
