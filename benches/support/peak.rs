//! The peak resident memory a vsimport child logs at exit (`peak_rss_kb=`, its `VmHWM`, with
//! `RUST_LOG=vsimport=debug`): wait4's `ru_maxrss` also counts the parent's pages at the
//! spawn, which a bench that made a large input first would add to every child.

/// The peak in KB from a child's standard error.
pub fn peak_rss_kb(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split("peak_rss_kb=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kb in: {stderr}"))
}
