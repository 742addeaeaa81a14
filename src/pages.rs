//! The program's memory allocator: the system's, except that blocks of 4 MiB and more are
//! mapped by the program itself and advised into 2 MiB pages (Linux). In: a `Layout`; out:
//! the block, as `std::alloc::GlobalAlloc` says.
//!
//! A dry run keeps its values in a few large lists (32 bytes a value, sort keys 8), whose
//! every fresh 4 KiB page costs a page fault: 24,000 of them in a dry run of 2M values. In
//! 2 MiB pages the kernel maps the same memory in a few hundred faults. The C library's own
//! switch for this (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`) is read from the environment
//! before the program starts, so the program cannot set it; advising a block the C library
//! mapped splits its mapping, after which the library's growth of the block (`mremap`)
//! fails and falls back to a copy. Here the whole mapping is the program's: advised whole,
//! grown whole.
//!
//! Hand-written: the allocator crates, measured on dry runs of the 50-column and 5-KPI wide
//! exports (means of seven `perf stat` runs; jemalloc's default, medians of eleven
//! alternating runs): mimalloc 0.258 -> 0.247 s on the first, with its peak memory 108 ->
//! 187 MB, over the 150 MB goal (126 MB with its purge delay at 0, then no faster);
//! jemalloc 0.252 -> 0.337 s, with `thp:always` 0.268 -> 0.243 s but 108 -> 162 MB. Large
//! pages by the C library's switch: 0.268 -> 0.245 s and 0.169 -> 0.140 s at the same peak
//! (109 MB and 69 MB), which this gives from inside the program. Measured in
//! docs/PERFORMANCE.md ("Large pages").

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large are mapped by the program (smaller ones are the C library's,
/// which packs them into its own pages).
const LARGE: usize = 4 << 20;

/// The allocator: [`System`] for small blocks, whole advised mappings for large ones.
pub struct Pages;

/// Whether a block of this layout is one of the program's own mappings. Its size and
/// alignment are all that decide, and they are the same at allocation, growth and release.
fn mapped(size: usize, align: usize) -> bool {
    cfg!(target_os = "linux") && size >= LARGE && align <= 4096
}

/// `size` rounded up to whole 4 KiB pages.
fn pages(size: usize) -> usize {
    size.div_ceil(4096) * 4096
}

#[cfg(target_os = "linux")]
mod linux {
    /// A fresh mapping of `len` bytes (zeroed), advised into large pages; null when none.
    pub(super) unsafe fn map(len: usize) -> *mut u8 {
        // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
        // memory of the program's.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        advise(p, len);
        p.cast()
    }

    /// Large pages for the whole mapping. Advice only: a kernel without them (or with them
    /// switched off) refuses, and the mapping stays in small pages.
    fn advise(p: *mut libc::c_void, len: usize) {
        // SAFETY: `p..p+len` is one whole mapping of the program's.
        let _ = unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
    }

    /// The mapping at `p` (`old` bytes) grown or shrunk to `new` bytes, moved if it must be
    /// (the kernel moves the pages, not their contents); null when it cannot.
    pub(super) unsafe fn remap(p: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: `p..p+old` is one whole mapping of the program's, never split (advised
        // whole), which is what mremap needs.
        let q = unsafe { libc::mremap(p.cast(), old, new, libc::MREMAP_MAYMOVE) };
        if q == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // The advice is the mapping's and moves with it; a grown part has it too.
        q.cast()
    }

    /// Gives the mapping at `p` (`len` bytes) back.
    pub(super) unsafe fn unmap(p: *mut u8, len: usize) {
        // SAFETY: `p..p+len` is one whole mapping of the program's, released once.
        let _ = unsafe { libc::munmap(p.cast(), len) };
    }
}

#[cfg(not(target_os = "linux"))]
mod linux {
    pub(super) unsafe fn map(_: usize) -> *mut u8 {
        std::ptr::null_mut()
    }
    pub(super) unsafe fn remap(_: *mut u8, _: usize, _: usize) -> *mut u8 {
        std::ptr::null_mut()
    }
    pub(super) unsafe fn unmap(_: *mut u8, _: usize) {}
}

// SAFETY: every block is either the system allocator's (alloc, release and growth all go to
// it, decided by the layout alone) or one whole mapping of at least its size, page-aligned
// (so aligned to any `align` up to 4096), released whole.
unsafe impl GlobalAlloc for Pages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(layout.size(), layout.align()) {
            // SAFETY: see `linux::map`.
            unsafe { linux::map(pages(layout.size())) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(layout.size(), layout.align()) {
            // SAFETY: see `linux::map`; fresh anonymous pages read as zeros.
            unsafe { linux::map(pages(layout.size())) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(layout.size(), layout.align()) {
            // SAFETY: `ptr` came from `map` or `remap` with this size (the caller's contract).
            unsafe { linux::unmap(ptr, pages(layout.size())) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        match (mapped(layout.size(), align), mapped(new_size, align)) {
            // SAFETY: the caller's contract, passed on.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                let (old, new) = (pages(layout.size()), pages(new_size));
                if old == new {
                    return ptr;
                }
                // SAFETY: `ptr` is a whole mapping of `old` bytes (the caller's contract).
                unsafe { linux::remap(ptr, old, new) }
            }
            // Across the line: a new block, the contents copied, the old block released.
            _ => {
                let Ok(new_layout) = Layout::from_size_align(new_size, align) else {
                    return std::ptr::null_mut();
                };
                // SAFETY: a layout of non-zero size (the caller's contract on `new_size`).
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks hold at least the bytes copied, and are distinct.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks below, at and above the line, grown and shrunk across it: the contents stay.
    #[test]
    fn blocks_keep_their_contents_across_the_line() {
        let a = Pages;
        let sizes = [
            1000,
            LARGE - 1,
            LARGE,
            LARGE + 1,
            3 * LARGE + 5,
            LARGE / 2,
            17,
        ];
        for align in [8, 64, 4096] {
            let layout = Layout::from_size_align(sizes[0], align).unwrap();
            // SAFETY: a non-zero layout; every later call gets the block and layout it had.
            unsafe {
                let mut p = a.alloc(layout);
                assert!(!p.is_null());
                let fill = |p: *mut u8, n: usize| {
                    for i in (0..n).step_by(509) {
                        *p.add(i) = (i % 251) as u8;
                    }
                };
                fill(p, sizes[0]);
                let mut size = sizes[0];
                for &next in &sizes[1..] {
                    p = a.realloc(p, Layout::from_size_align(size, align).unwrap(), next);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "aligned to {align}");
                    for i in (0..size.min(next)).step_by(509) {
                        assert_eq!(*p.add(i), (i % 251) as u8, "byte {i}, {size} -> {next}");
                    }
                    fill(p, next);
                    size = next;
                }
                a.dealloc(p, Layout::from_size_align(size, align).unwrap());
                let z = Layout::from_size_align(2 * LARGE, align).unwrap();
                let q = a.alloc_zeroed(z);
                assert!(!q.is_null());
                assert!((0..z.size()).step_by(4093).all(|i| *q.add(i) == 0));
                a.dealloc(q, z);
            }
        }
    }

    /// A vector grown past the line through the allocator, as the entry lists are.
    #[test]
    fn a_vector_grows_through_mappings() {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..(3 * LARGE / 8) as u64 {
            v.push(i);
        }
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64));
        v.truncate(10);
        v.shrink_to_fit();
        assert_eq!(v, (0..10).collect::<Vec<u64>>());
    }
}
