//! What a run finds besides the records it plans: the diagnostics (grouped by code and
//! column, at most [`KEEP_PER_GROUP`] kept of each, all counted), the rejected rows with their
//! reasons, and the row counts. The validate stage starts the findings; dedupe and plan add
//! to them; the report renders them.

use std::collections::BTreeMap;

mod rejected;
pub(crate) use rejected::{Rejected, RejectedRow};

use crate::diag::{Diagnostic, Location, Problem, Severity};

/// How many diagnostics of one kind (code and column) are kept; all are counted.
pub(crate) const KEEP_PER_GROUP: usize = 1000;
/// The longest message or help kept (characters).
pub(crate) const MESSAGE_CHARS: usize = 1000;
/// How many of a group get a rendered source excerpt.
pub(crate) const CONTEXT_PER_GROUP: usize = 3;

/// Diagnostics, grouped by code and column so that a wall of errors stays readable.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub(crate) list: Vec<Diagnostic>,
    /// (code, column) -> how many there were.
    pub(crate) groups: BTreeMap<(&'static str, Option<u32>), usize>,
}

impl Diags {
    pub(crate) fn push(&mut self, mut d: Diagnostic) {
        let n = self.groups.entry((d.code, d.location.column)).or_default();
        *n += 1;
        if *n <= KEEP_PER_GROUP {
            // A message quotes its cell: a cell of megabytes must not make one of megabytes.
            if d.message.len() > MESSAGE_CHARS {
                d.message = crate::diag::shorten(&d.message, MESSAGE_CHARS);
            }
            if let Some(h) = d.help.as_mut().filter(|h| h.len() > MESSAGE_CHARS) {
                *h = crate::diag::shorten(h, MESSAGE_CHARS);
            }
            self.list.push(d);
        }
    }

    /// Whether the next diagnostic of this kind should carry its row's text.
    pub(crate) fn wants_context(&self, code: &'static str, column: Option<u32>) -> bool {
        self.groups.get(&(code, column)).copied().unwrap_or(0) < CONTEXT_PER_GROUP
    }

    /// How many problems of `severity` there were (dropped ones included), by the severity of
    /// each group's first.
    pub(crate) fn count(&self, severity: Severity) -> usize {
        self.groups
            .iter()
            .filter(|((code, col), _)| {
                self.list
                    .iter()
                    .find(|d| d.code == *code && d.location.column == *col)
                    .is_some_and(|d| d.severity == severity)
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Appends what `other` collected after this: the same as pushing its diagnostics one by
    /// one (the per-kind cap holds), with all of them counted.
    pub(crate) fn append(&mut self, other: Diags) {
        let mut seen: BTreeMap<(&'static str, Option<u32>), usize> = BTreeMap::new();
        for d in other.list {
            let key = (d.code, d.location.column);
            let before = self.groups.get(&key).copied().unwrap_or(0);
            let n = seen.entry(key).or_default();
            *n += 1;
            if before + *n <= KEEP_PER_GROUP {
                self.list.push(d);
            }
        }
        for (k, n) in other.groups {
            *self.groups.entry(k).or_default() += n;
        }
    }
}

/// Counts of a run's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) rows_read: u64,
    pub(crate) rows_rejected: u64,
    pub(crate) rows_without_values: u64,
    /// Rows skipped by `skip_rows_where` (totals and footer rows).
    pub(crate) rows_skipped: u64,
    pub(crate) duplicates_merged: u64,
    pub(crate) conflicts: u64,
}

/// Diagnostics, rejected rows and counts.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) diags: Diags,
    /// The rejected rows, by row number.
    pub(crate) rejected: Rejected,
    pub(crate) stats: Stats,
}

impl Findings {
    /// Rejects `row` (once counted, however many reasons) for `p`, found at `location`
    /// after the row was read.
    pub(crate) fn reject_late(&mut self, row: u64, location: Location, p: Problem) {
        self.reject_quietly(row, &p.message);
        self.diags.push(Diagnostic {
            code: p.code,
            severity: Severity::Error,
            location,
            message: p.message,
            help: p.help,
            context: None,
        });
    }

    /// Rejects `row` for `reason` (kept for rejected.csv) without a diagnostic of its own:
    /// another row's diagnostic already tells the story (one conflict, one message).
    pub(crate) fn reject_quietly(&mut self, row: u64, reason: &str) {
        let r = RejectedRow {
            reasons: vec![reason.to_string()],
            cells: None,
        };
        if self.rejected.add(row, r) {
            self.stats.rows_rejected += 1;
        }
    }

    /// Appends the findings of the rows after these (another thread's part of the file).
    pub(crate) fn append(&mut self, other: Findings) {
        self.diags.append(other.diags);
        self.rejected.append(other.rejected);
        let (s, o) = (&mut self.stats, other.stats);
        s.rows_read += o.rows_read;
        s.rows_rejected += o.rows_rejected;
        s.rows_without_values += o.rows_without_values;
        s.rows_skipped += o.rows_skipped;
        s.duplicates_merged += o.duplicates_merged;
        s.conflicts += o.conflicts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn diag(row: u64) -> Diagnostic {
        Diagnostic {
            code: "vsimport::date::invalid",
            severity: Severity::Error,
            location: Location {
                file: Arc::from("x.csv"),
                sheet: None,
                row,
                column: Some(1),
                byte: None,
            },
            message: String::new(),
            help: None,
            context: None,
        }
    }

    #[test]
    fn appending_keeps_the_cap_of_one_collection() {
        let mut one = Diags::default();
        let mut a = Diags::default();
        let mut b = Diags::default();
        for row in 0..1500 {
            one.push(diag(row));
            if row < 700 {
                a.push(diag(row));
            } else {
                b.push(diag(row));
            }
        }
        a.append(b);
        assert_eq!(a.list.len(), KEEP_PER_GROUP);
        assert_eq!(a.list, one.list);
        assert_eq!(a.groups, one.groups);
    }
}
