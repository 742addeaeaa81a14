//! The dedupe stage's ordering: entries (`&mut [Entry]`) sorted in place into record order
//! by a radix sort over keys packed from the file's own ranges; out ([`Sorted`]), the sorted
//! keys ([`SortKeys`]), which the merge uses to find each slot's entries, or, for a file of
//! one value slot in date order, none: only whether a slot is there twice.

use rayon::iter::{IntoParallelIterator, IntoParallelRefIterator, ParallelIterator};
use rayon::slice::ParallelSlice;

use crate::record::Entry;

/// Sorts the entries into (date, KPI, team, sub-tile, slot, forecast, row) order, in place,
/// by an MSD radix sort over one `u64` per entry packed from each field's range in this file
/// (a file's dates span a few thousand days, its KPIs and teams a few hundred): one
/// American-flag pass per byte of the key swaps entries into their buckets (256 write heads
/// moving forward: cache-friendly), down to buckets of a few thousand entries, which are
/// sorted by counting passes when their keys differ in few bits ([`counting_sort`]), else on
/// (key, row, place in the row) by comparison (by insertion when tiny), the buckets in
/// parallel. `None` when the ranges do not fit in 64 bits (the caller then sorts
/// on the 128-bit `pack`); else the sorted keys, which tell slots apart as `slot_key` does.
/// Entries already in date order, or in reverse date order, are sorted date by date instead
/// ([`by_date`]).
///
/// Hand-written: radsort (LSD, stable) needs a scratch copy of what it sorts, so sorting 2M
/// entries of 32 bytes took 64 MB beside them, or, sorting (key, index) pairs, a permutation
/// to apply after, whose chain of dependent random reads cost 0.22 s of a 0.98 s dry run
/// (1M random-order rows); this sort takes only the keys beside the entries (8 bytes an
/// entry, computed once and moved with them). Measured in docs/PERFORMANCE.md ("Ordering").
///
/// A file of one value slot and one forecast state in date order (most wide exports) keeps
/// no keys at all ([`Sorted::Unkeyed`], [`unkeyed_runs`]).
pub(super) fn radix_sort(entries: &mut [Entry]) -> Option<Sorted> {
    use chrono::Datelike;
    if entries.len() < 4096 {
        return None;
    }
    let bits = |span: u64| 64 - span.leading_zeros();
    let fields = |e: &Entry| {
        [
            // Year and day of the year: ordered like the date, and cheaper to get than a day
            // number (chrono keeps a date as year and ordinal).
            (u64::try_from(i64::from(e.date.year()) + (1 << 20)).unwrap_or(0) << 9)
                | u64::from(e.date.ordinal0()),
            u64::from(e.kpi),
            u64::from(e.team),
            u64::from(e.sub_tile),
            u64::from(e.slot),
            u64::from(e.forecast),
        ]
    };
    // Each field as its offset from the file's least value, in as many bits as its span
    // (the spans found on every thread: one pass over all entries).
    let (lo, hi) = entries
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut lo = [u64::MAX; 6];
            let mut hi = [0u64; 6];
            for e in chunk {
                for (i, v) in fields(e).into_iter().enumerate() {
                    lo[i] = lo[i].min(v);
                    hi[i] = hi[i].max(v);
                }
            }
            (lo, hi)
        })
        .reduce(
            || ([u64::MAX; 6], [0u64; 6]),
            |(a, b), (c, d)| {
                (
                    std::array::from_fn(|i| a[i].min(c[i])),
                    std::array::from_fn(|i| b[i].max(d[i])),
                )
            },
        );
    let widths: [u32; 6] = std::array::from_fn(|i| bits(hi[i] - lo[i]));
    let total: u32 = widths.iter().sum();
    if total > 64 {
        return None;
    }
    // The slot and forecast fields are the key's lowest: above them, the record.
    let record_shift = widths[4] + widths[5];
    // Each field's place: above the fields after it. A field of one value adds 0 whatever
    // its shift (its offset is 0; only such a field can have a shift of 64, which
    // `wrapping_shl` takes as 0), so every field is added without a branch (a fold that
    // skipped the fields of width 0 took 18 instructions a key more).
    let shifts: [u32; 6] = std::array::from_fn(|i| widths[i + 1..].iter().sum());
    let key = |e: &Entry| {
        let f = fields(e);
        (0..6).fold(0u64, |k, i| k | (f[i] - lo[i]).wrapping_shl(shifts[i]))
    };
    // One slot and one forecast state in the whole file (every record one entry), in date
    // order: each date's keys are made for its own sort and not kept.
    if record_shift == 0 && widths[0] > 0 {
        let date_order = entries.par_windows(2).all(|w| w[0].date <= w[1].date);
        if date_order || entries.par_windows(2).all(|w| w[0].date >= w[1].date) {
            if !date_order {
                entries.reverse();
            }
            let repeat = unkeyed_runs(entries, &key, total - widths[0]);
            return Some(Sorted::Unkeyed { repeat });
        }
    }
    // Each entry's key once (in parallel), sorted beside the entries: 8 bytes an entry.
    let mut keys: Vec<u64> = entries.par_iter().map(key).collect();
    // The date is the key's top field: entries already in date order (or against it) need
    // only each date's entries sorted.
    if widths[0] > 0 && by_date(entries, &mut keys, total - widths[0]) {
        return Some(Sorted::Keys(SortKeys { keys, record_shift }));
    }
    if !split_in_two(entries, &mut keys, total) {
        msd_sort(entries, &mut keys, total);
    }
    Some(Sorted::Keys(SortKeys { keys, record_shift }))
}

/// Sorts entries in date order date by date, as [`date_runs`] does, each date's keys made
/// into a list kept per thread just for its sort: 8 bytes an entry fewer (14 MB fresh of a
/// 2M-value wide export's 86 MB, written once and read twice more: for repeats and for the
/// record ends). Whether any key is there twice (a slot twice).
fn unkeyed_runs(entries: &mut [Entry], key: &(impl Fn(&Entry) -> u64 + Sync), shift: u32) -> bool {
    if entries.len() >= SPLIT_MIN && rayon::current_num_threads() >= 2 {
        let middle = entries[entries.len() / 2].date;
        let mut cut = entries.partition_point(|e| e.date < middle);
        if cut == 0 {
            cut = entries.partition_point(|e| e.date <= middle);
        }
        if cut > 0 && cut < entries.len() {
            let (e0, e1) = entries.split_at_mut(cut);
            let (a, b) = rayon::join(
                || unkeyed_runs(e0, key, shift),
                || unkeyed_runs(e1, key, shift),
            );
            return a || b;
        }
    }
    // Taken from the thread, not borrowed: a large date's sort runs buckets in parallel,
    // and this thread may sort another date meanwhile.
    let mut keys = RUN_KEYS.take();
    let mut repeat = false;
    let mut rest = entries;
    while let Some(d) = rest.first().map(|e| e.date) {
        // The date's end, looked for near its start (a search over all the rest probed
        // entries far apart: 19 -> 34 ms of the 5-KPI wide file's sort).
        let mut step = 1;
        while step < rest.len() && rest[step].date == d {
            step *= 2;
        }
        let from = step / 2;
        let n = from + rest[from..step.min(rest.len())].partition_point(|e| e.date == d);
        let (run, tail) = rest.split_at_mut(n);
        keys.clear();
        keys.extend(run.iter().map(key));
        if n > 1 && !place_once(run, &keys, shift) {
            msd_sort(run, &mut keys, shift);
            repeat |= keys.windows(2).any(|w| w[0] == w[1]);
        }
        rest = tail;
    }
    // A very large date's room is not held for the rest of the run.
    if keys.capacity() > 1 << 20 {
        keys = Vec::new();
    }
    RUN_KEYS.set(keys);
    repeat
}

thread_local! {
    /// [`unkeyed_runs`]' keys of one date.
    static RUN_KEYS: std::cell::Cell<Vec<u64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Sorts entries whose keys are already in order of their bits from `shift` up (the date)
/// — or in reverse order, which is turned round first — by sorting each run of one date on
/// the bits below; `false` (nothing moved) when they are in neither order. Exports list rows
/// by date, each date's teams and KPIs in their own order (a wide row holds one date's KPIs
/// side by side), and then this replaces the radix passes over all entries with small sorts
/// in cache. Instructions of a whole dry run (cachegrind, `--threads 1`): the first 100k
/// rows of the 5-KPI wide export 805 -> 775 million, 200k rows in reverse order 855 -> 793
/// million, 400k rows of the long layout 1,218 -> 1,194 million, 200k grouped rows
/// unchanged; median wall times of nine alternating runs of the whole files: wide 0.21 ->
/// 0.19 s, reverse 0.40 -> 0.36 s, long 0.60 -> 0.57 s. A random order fails the check at
/// its second entry.
fn by_date(entries: &mut [Entry], keys: &mut [u64], shift: u32) -> bool {
    let date = |k: u64| k >> shift;
    if !keys.is_sorted_by_key(|k| date(*k)) {
        if !keys.windows(2).all(|w| date(w[0]) >= date(w[1])) {
            return false;
        }
        entries.reverse();
        keys.reverse();
    }
    date_runs(entries, keys, shift);
    true
}

/// Sorts each run of one date (keys in date order) on the bits below `shift`: two halves cut
/// at a run's start in parallel while large, then run by run.
fn date_runs(entries: &mut [Entry], keys: &mut [u64], shift: u32) {
    let date = |k: u64| k >> shift;
    if keys.len() >= SPLIT_MIN && rayon::current_num_threads() >= 2 {
        let middle = date(keys[keys.len() / 2]);
        let mut cut = keys.partition_point(|k| date(*k) < middle);
        if cut == 0 {
            cut = keys.partition_point(|k| date(*k) <= middle);
        }
        if cut > 0 && cut < keys.len() {
            let (e0, e1) = entries.split_at_mut(cut);
            let (k0, k1) = keys.split_at_mut(cut);
            rayon::join(|| date_runs(e0, k0, shift), || date_runs(e1, k1, shift));
            return;
        }
    }
    let (mut rest, mut rest_keys) = (entries, keys);
    while let Some(&first) = rest_keys.first() {
        let n = rest_keys.partition_point(|k| date(*k) == date(first));
        let (run, tail) = rest.split_at_mut(n);
        let (run_keys, tail_keys) = rest_keys.split_at_mut(n);
        if n > 1 {
            msd_sort(run, run_keys, shift);
        }
        (rest, rest_keys) = (tail, tail_keys);
    }
}

/// Inputs at least this long have their first pass split between two threads.
const SPLIT_MIN: usize = 1 << 18;

/// The first pass on two threads (it was one thread's work: 30-45 ms of 2M entries): the top
/// byte's buckets are split into a lower and an upper half of about equal size; each half of
/// the slice is partitioned, in parallel, into its own entries and the other half's, the
/// misplaced parts (equally long) are swapped, and the halves sorted in parallel. The sort
/// of 1M random-order rows (2M entries) took 65-80 ms against 68-96 ms as one, the plant's
/// 72-101 against 97-108 (timers inside the run, alternating). `false` when not worth it
/// (the caller sorts as one).
fn split_in_two(entries: &mut [Entry], keys: &mut [u64], bits: u32) -> bool {
    if entries.len() < SPLIT_MIN || rayon::current_num_threads() < 2 || bits == 0 {
        return false;
    }
    let (digit, counts) = top_byte(keys, bits);
    // The first bucket that ends past the middle starts the upper half.
    let half = entries.len() / 2;
    let mut at = 0;
    let mut cut = 0;
    for (d, c) in counts.iter().enumerate() {
        if at + c > half {
            // The split is at this bucket's start or end, whichever is nearer the middle.
            (cut, at) = if half - at <= at + c - half {
                (d, at)
            } else {
                (d + 1, at + c)
            };
            break;
        }
        at += c;
    }
    if at == 0 || at == entries.len() {
        return false;
    }
    let low = |k: u64| digit(k) < cut;
    let (e0, e1) = entries.split_at_mut(at);
    let (k0, k1) = keys.split_at_mut(at);
    // Lower half: its own entries first; upper half: the lower half's entries first.
    let (mine0, theirs1) = rayon::join(|| partition(e0, k0, low), || partition(e1, k1, low));
    let misplaced = at - mine0;
    debug_assert_eq!(misplaced, theirs1);
    e0[mine0..].swap_with_slice(&mut e1[..misplaced]);
    k0[mine0..].swap_with_slice(&mut k1[..misplaced]);
    rayon::join(|| msd_sort(e0, k0, bits), || msd_sort(e1, k1, bits));
    true
}

/// The byte of a key below its top `64 - bits` bits (the key's bits `[bits - 8, bits)`), and
/// how many of `keys` have each value of it.
fn top_byte(keys: &[u64], bits: u32) -> (impl Fn(u64) -> usize + Copy + use<>, [usize; 256]) {
    let shift = bits.saturating_sub(8);
    let digit = move |k: u64| ((k >> shift) & 0xff) as usize;
    let mut counts = [0usize; 256];
    for k in keys {
        counts[digit(*k)] += 1;
    }
    (digit, counts)
}

/// Moves the entries whose key is `low` to the front (both slices in step); their count.
fn partition(entries: &mut [Entry], keys: &mut [u64], low: impl Fn(u64) -> bool) -> usize {
    let (mut i, mut j) = (0, keys.len());
    loop {
        while i < j && low(keys[i]) {
            i += 1;
        }
        while i < j && !low(keys[j - 1]) {
            j -= 1;
        }
        if i >= j {
            return i;
        }
        j -= 1;
        entries.swap(i, j);
        keys.swap(i, j);
        i += 1;
    }
}

/// What [`radix_sort`] leaves for the merge.
pub(super) enum Sorted {
    /// The keys, moved with the entries.
    Keys(SortKeys),
    /// No keys kept (one value slot, one forecast state, in date order): every entry is a
    /// record of its own unless `repeat`, a slot there twice.
    Unkeyed { repeat: bool },
}

/// The keys [`radix_sort`] sorted by, in the entries' new order.
pub(super) struct SortKeys {
    pub(super) keys: Vec<u64>,
    /// How many of a key's low bits tell a record's slots apart: two entries are of one
    /// record when their keys agree above them.
    pub(super) record_shift: u32,
}

/// Below this many entries a bucket is sorted by comparison.
const LEAF: usize = 2048;
const _: () = assert!(LEAF <= u16::MAX as usize);
/// Below this many entries a bucket is sorted by insertion.
const SMALL: usize = 32;

/// A leaf's sort keys — (key, row, place in row, place in the leaf) — and its copy.
type Scratch = (Vec<(u64, u32, u16, u16)>, Vec<Entry>);

thread_local! {
    /// A leaf's buffers, kept per thread between leaves.
    static LEAF_SCRATCH: std::cell::RefCell<Scratch> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The widest digit a counting pass sorts on: 2,048 counters (8 KB, in L1 beside the run).
const DIGIT: u32 = 11;
/// Longest slice sorted by counting passes: its copy (40 bytes an entry, kept per thread)
/// stays in L2.
const COUNTED: usize = 1 << 14;

/// Whether a slice of `n` entries whose keys differ only in their low `bits` bits is sorted
/// by [`counting_sort`]: at most two passes, and enough entries to pay for the counters.
fn counted(n: usize, bits: u32) -> bool {
    let width = if bits <= DIGIT {
        bits
    } else {
        bits.div_ceil(2)
    };
    (8..=COUNTED).contains(&n) && bits > 0 && bits <= 2 * DIGIT && (1usize << width) <= 16 * n
}

/// A slice's copy for [`counting_sort`] and its counters, kept per thread between slices.
type Counting = (Vec<Entry>, Vec<u64>, Vec<u32>);

thread_local! {
    static COUNTING: std::cell::RefCell<Counting> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Sorts a slice whose keys differ only in their low `bits` bits (at most `2 * DIGIT`) by
/// stable counting passes (least significant digit first: one pass up to `DIGIT` bits, else
/// two of half the bits each) between the slice and a copy kept per thread; then each run of
/// equal keys (the same slot twice: rare) is put in (row, place in row) order, which the
/// passes keep only when the slice came in file order.
///
/// A date's entries of a wide export come team by team, each team's KPIs side by side: their
/// record order (KPI, then team) is the transpose, which cost the comparison sort of a leaf
/// about 210 instructions an entry (50 KPIs x 20 teams a date) and the insertion sort about
/// 100 (5 KPIs x 6 teams). Measured in docs/PERFORMANCE.md ("Counting passes").
fn counting_sort(entries: &mut [Entry], keys: &mut [u64], bits: u32) {
    let n = entries.len();
    let widths = if bits <= DIGIT {
        [bits, 0]
    } else {
        [bits / 2, bits - bits / 2]
    };
    COUNTING.with_borrow_mut(|(copy, copy_keys, counts)| {
        // The copies only grow: what they hold from an earlier slice is written over before
        // it is read (filling them afresh wrote every entry once more).
        if copy.len() < n {
            copy.resize(n, entries[0]);
            copy_keys.resize(n, 0);
        }
        let (copy, copy_keys) = (&mut copy[..n], &mut copy_keys[..n]);
        let mut shift = 0;
        // Pass 1: the slice into the copy; pass 2 (when there is one): back.
        for (pass, width) in widths.into_iter().enumerate() {
            if width == 0 {
                // One pass: the sorted copy back into the slice.
                entries.copy_from_slice(copy);
                keys.copy_from_slice(copy_keys);
                break;
            }
            let mask = (1u64 << width) - 1;
            let digit = |k: u64| ((k >> shift) & mask) as usize;
            counts.clear();
            counts.resize(1 << width, 0);
            let (from, from_keys, to, to_keys): (&[Entry], &[u64], &mut [Entry], &mut [u64]) =
                if pass == 0 {
                    (&*entries, &*keys, &mut *copy, &mut *copy_keys)
                } else {
                    (&*copy, &*copy_keys, &mut *entries, &mut *keys)
                };
            for k in from_keys {
                counts[digit(*k)] += 1;
            }
            let mut sum = 0;
            for c in counts.iter_mut() {
                (*c, sum) = (sum, sum + *c);
            }
            for (e, k) in from.iter().zip(from_keys) {
                let at = &mut counts[digit(*k)];
                to[*at as usize] = *e;
                to_keys[*at as usize] = *k;
                *at += 1;
            }
            shift += width;
        }
    });
    if !keys.windows(2).any(|w| w[0] == w[1]) {
        return;
    }
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && keys[j] == keys[i] {
            j += 1;
        }
        if j - i > 1 {
            entries[i..j].sort_unstable_by_key(|e| (e.row, e.seq));
        }
        i = j;
    }
}

/// One date's sort for [`unkeyed_runs`] when one counting pass covers the low `bits` of its
/// keys (a wide export's date: 50 KPIs x 20 teams in 11 bits): the keys are counted, and when
/// none is there twice the entries are put in place through a copy, by their keys, which stay
/// as they were (the caller keeps none). [`counting_sort`] also moves the keys, copies them
/// back and looks for a key twice after: about 10 instructions an entry more. `false`, with
/// nothing moved, when a key is there twice or one pass does not cover them: the caller
/// sorts as before.
fn place_once(entries: &mut [Entry], keys: &[u64], bits: u32) -> bool {
    if bits > DIGIT || !counted(entries.len(), bits) || keys.len() != entries.len() {
        return false;
    }
    let mask = (1u64 << bits) - 1;
    let digit = |k: u64| (k & mask) as usize;
    COUNTING.with_borrow_mut(|(copy, _, counts)| {
        counts.clear();
        counts.resize(1 << bits, 0);
        for k in keys {
            counts[digit(*k)] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            if *c > 1 {
                return false;
            }
            (*c, sum) = (sum, sum + *c);
        }
        copy.clear();
        copy.extend_from_slice(entries);
        for (e, k) in copy.iter().zip(keys) {
            let at = &mut counts[digit(*k)];
            entries[*at as usize] = *e;
            *at += 1;
        }
        true
    })
}

/// One American-flag pass on the key's bits `[bits - 8, bits)`, then each bucket on the
/// bits below it (in parallel when large).
fn msd_sort(entries: &mut [Entry], keys: &mut [u64], bits: u32) {
    if bits == 0 {
        // One key: row order (the keys are all equal and stay as they are).
        entries.sort_unstable_by_key(|e| (e.row, e.seq));
        return;
    }
    if counted(entries.len(), bits) {
        counting_sort(entries, keys, bits);
        return;
    }
    if entries.len() <= SMALL {
        // An insertion sort on (key, row, place in row), both slices in step.
        for i in 1..entries.len() {
            let (e, k) = (entries[i], keys[i]);
            let rank = (k, e.row, e.seq);
            let mut j = i;
            while j > 0 && (keys[j - 1], entries[j - 1].row, entries[j - 1].seq) > rank {
                entries[j] = entries[j - 1];
                keys[j] = keys[j - 1];
                j -= 1;
            }
            entries[j] = e;
            keys[j] = k;
        }
        return;
    }
    if entries.len() <= LEAF {
        // Sorted by (key, row, place in row), then moved through a copy of the bucket (at
        // most LEAF entries: 64 KB), in buffers kept per thread.
        LEAF_SCRATCH.with_borrow_mut(|(keyed, copy)| {
            keyed.clear();
            keyed.extend(
                entries
                    .iter()
                    .zip(keys.iter())
                    .enumerate()
                    .map(|(i, (e, k))| (*k, e.row, e.seq, i as u16)),
            );
            keyed.sort_unstable();
            copy.clear();
            copy.extend_from_slice(entries);
            for ((to, key), (k, _, _, from)) in
                entries.iter_mut().zip(keys.iter_mut()).zip(keyed.iter())
            {
                *to = copy[*from as usize];
                *key = *k;
            }
        });
        return;
    }
    let shift = bits.saturating_sub(8);
    let (digit, counts) = top_byte(keys, bits);
    let mut starts = [0usize; 256];
    let mut sum = 0;
    for (d, c) in counts.iter().enumerate() {
        starts[d] = sum;
        sum += c;
    }
    let ends: [usize; 256] = std::array::from_fn(|d| starts[d] + counts[d]);
    let mut heads = starts;
    // Rounds over the unfinished buckets (ska_sort's loop): each entry read is swapped to
    // its bucket's head, which puts one entry in its place; the entry that comes back is
    // left for the next round. Unlike following one entry from bucket to bucket, the reads
    // of one round do not wait on each other.
    let mut open: Vec<usize> = (0..256).filter(|&d| counts[d] > 0).collect();
    while open.len() > 1 {
        for &d in &open {
            for p in heads[d]..ends[d] {
                let to = digit(keys[p]);
                let at = heads[to];
                heads[to] += 1;
                entries.swap(p, at);
                keys.swap(p, at);
            }
        }
        // Once all buckets but one are full, the last one is too.
        open.retain(|&d| heads[d] < ends[d]);
    }
    let mut buckets = Vec::with_capacity(256);
    let (mut rest, mut rest_keys) = (entries, keys);
    for c in counts {
        let (bucket, tail) = rest.split_at_mut(c);
        let (bucket_keys, tail_keys) = rest_keys.split_at_mut(c);
        if bucket.len() > 1 {
            buckets.push((bucket, bucket_keys));
        }
        (rest, rest_keys) = (tail, tail_keys);
    }
    if buckets.len() > 1 && sum > 100_000 {
        buckets
            .into_par_iter()
            .for_each(|(b, k)| msd_sort(b, k, shift));
    } else {
        for (b, k) in buckets {
            msd_sort(b, k, shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(row: u32, seq: u16) -> Entry {
        Entry {
            kpi: 0,
            date: chrono::NaiveDate::MIN,
            team: 0,
            sub_tile: crate::record::NO_SUB_TILE,
            slot: 0,
            forecast: false,
            percent_sign: false,
            value: f64::from(row),
            row,
            seq,
        }
    }

    #[test]
    fn counting_passes_sort_like_the_comparison() {
        let mut rng = fastrand::Rng::with_seed(5);
        // One pass and two; the smallest and largest slices counted; keys all different,
        // and keys drawn from a few (the same slot in several rows, out of row order).
        for (n, bits) in [
            (8, 3),
            (30, 6),
            (30, 8),
            (860, 11),
            (2000, 16),
            (5000, 22),
            (COUNTED, 22),
            (COUNTED, 12),
        ] {
            assert!(counted(n, bits), "{n} entries, {bits} bits");
            for few in [None, Some(3u64)] {
                let top = 0xabc_u64 << bits;
                let distinct: Vec<u64> = (0..few.unwrap_or(u64::MAX).min(n as u64))
                    .map(|_| rng.u64(..1 << bits))
                    .collect();
                let mut entries: Vec<Entry> =
                    (0..n).map(|_| entry(rng.u32(..50), rng.u16(..3))).collect();
                let mut keys: Vec<u64> = (0..n)
                    .map(|i| {
                        top | if few.is_some() {
                            distinct[rng.usize(..distinct.len())]
                        } else {
                            distinct[i]
                        }
                    })
                    .collect();
                let mut expected: Vec<(u64, u32, u16)> = keys
                    .iter()
                    .zip(&entries)
                    .map(|(k, e)| (*k, e.row, e.seq))
                    .collect();
                expected.sort();
                counting_sort(&mut entries, &mut keys, bits);
                let got: Vec<(u64, u32, u16)> = keys
                    .iter()
                    .zip(&entries)
                    .map(|(k, e)| (*k, e.row, e.seq))
                    .collect();
                assert_eq!(got, expected, "{n} entries, {bits} bits, {few:?}");
                // The values moved with their entries.
                assert!(entries.iter().all(|e| e.value == f64::from(e.row)));
            }
        }
        // Too few entries for their counters, too many bits, too long: not counted.
        assert!(!counted(7, 3));
        assert!(!counted(30, 11));
        assert!(!counted(5000, 23));
        assert!(!counted(COUNTED + 1, 11));
    }

    #[test]
    fn a_wide_export_comes_out_in_record_order() {
        // Dates in order; each date's teams in the file's order, each team's KPIs side by
        // side (the transpose of record order), some cells empty, and some dates twice.
        // Many KPIs and teams a date, and few.
        for (teams, kpis) in [(&[7u32, 2, 19, 0, 11, 4][..], 50u32), (&[5, 1, 3][..], 5)] {
            // One value slot (no keys kept), with dates twice and without; two slots.
            for (slots, twice) in [(1, true), (1, false), (2, true)] {
                wide_export_in_record_order(teams, kpis, slots, twice);
            }
        }
    }

    fn wide_export_in_record_order(teams: &[u32], kpis: u32, slots: u16, twice: bool) {
        let base = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        let mut rng = fastrand::Rng::with_seed(9);
        let mut entries = Vec::new();
        let mut row = 1;
        for day in 0..2000u64 {
            for repeat in 0..if twice && day % 500 == 7 { 2 } else { 1 } {
                for &team in teams {
                    row += 1;
                    for (seq, kpi) in (0..kpis).filter(|_| rng.u8(..7) != 0).enumerate() {
                        entries.push(Entry {
                            kpi,
                            date: base + chrono::Days::new(day),
                            team,
                            seq: seq as u16,
                            row,
                            slot: (kpi % u32::from(slots)) as u16,
                            value: f64::from(repeat),
                            ..entry(0, 0)
                        });
                    }
                }
            }
        }
        let mut expected = entries.clone();
        expected.sort_by_key(|e| (super::super::pack(e), e.row, e.seq));
        let mut got = entries.clone();
        let repeats = |e: &[Entry]| {
            e.windows(2)
                .any(|w| super::super::slot_key(&w[0]) == super::super::slot_key(&w[1]))
        };
        match radix_sort(&mut got) {
            Some(Sorted::Keys(sorted)) => {
                // The keys moved with their entries: in order, equal where the slots are.
                assert_eq!(sorted.keys.len(), got.len());
                for (w, k) in got.windows(2).zip(sorted.keys.windows(2)) {
                    let same = super::super::slot_key(&w[0]) == super::super::slot_key(&w[1]);
                    assert!(k[0] <= k[1] && (k[0] == k[1]) == same, "keys ({kpis} KPIs)");
                }
                assert!(slots > 1, "one slot keeps no keys ({kpis} KPIs)");
            }
            Some(Sorted::Unkeyed { repeat }) => {
                assert_eq!(slots, 1, "{kpis} KPIs");
                assert_eq!(repeat, repeats(&expected), "repeats ({kpis} KPIs)");
            }
            None => panic!("fits in 64 bits"),
        }
        assert!(
            got == expected,
            "in date order ({kpis} KPIs, {slots} slots)"
        );
        // Reversed: each date's entries come in reverse row order, ties too.
        let mut got = entries;
        got.reverse();
        assert!(radix_sort(&mut got).is_some());
        assert!(got == expected, "in reverse date order ({kpis} KPIs)");
    }
}
