//! The ValueStreamer KPI exchange API: typed models, a pooled HTTP client, retries.
//!
//! Only this module and the upload stage touch the network. The contract is `API.md`
//! (summarised with every assumption in `docs/API-NOTES.md`).

mod client;
pub mod direct;
mod error;
mod limit;
pub mod models;
mod retry;
mod wire;

pub use client::{Client, ClientConfig, is_loopback, parse_base_url};
pub use error::ApiError;
pub use limit::{Limits, Tally};
pub use models::{
    ApiVersion, Catalog, Interval, KpiDetail, KpiMeta, Named, Record, RecordBody, RecordKey,
    RecordValue, is_target_name,
};
pub use retry::{RetryPolicy, Tried};
