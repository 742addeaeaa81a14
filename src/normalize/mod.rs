//! Normalise stage: one [`Cell`](crate::read::Cell) in; a date ([`DateParse`]), a number
//! ([`NumParse`]) or minutes since midnight ([`time::Minutes`]) out — or the reason it is none
//! of those. Pure functions, no catalog: the validate stage decides which parser a cell needs
//! and checks the result against the KPI.
//!
//! Where a cell alone cannot decide (is `03/04/2025` the 3rd of April or March 4th? is `1,234`
//! one thousand two hundred and thirty-four or one point two three four?), the parser says so
//! ([`DateParse::Slash`], [`NumParse::Ambiguous`]) and the caller decides for the whole file
//! from the cells that are not ambiguous, or from the mapping's `dayfirst` / `decimal`.

mod date;
mod number;
#[cfg(test)]
mod props;
mod time;

pub(crate) use date::{DateOptions, DateParse, DayOrder, YEARS, parse_date, parse_date_text};
pub(crate) use number::{Decimal, NumParse, parse_number_seen, parse_number_text};
pub(crate) use time::{TIME_HELP, TimeFormat, parse_time, parse_time_text};

/// `text` without surrounding white space and a leading `'` (Excel's text marker), without
/// the cost of a Unicode-aware trim when both ends are plain ASCII.
#[inline]
pub(crate) fn clean(text: &str) -> &str {
    let b = text.as_bytes();
    let plain = b
        .first()
        .is_some_and(|c| c.is_ascii_graphic() && *c != b'\'')
        && b.last().is_some_and(u8::is_ascii_graphic);
    if plain {
        text
    } else {
        text.trim().trim_start_matches('\'')
    }
}
