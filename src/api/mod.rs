//! The ValueStreamer KPI exchange API: typed models, a pooled HTTP client, retries.
//!
//! Only this module and the upload stage touch the network. The contract is `API.md`
//! (summarised with every assumption in `docs/API-NOTES.md`).

mod base_url;
mod body;
mod client;
mod error;
mod lenient;
mod limit;
pub(crate) mod models;
mod retry;
mod scrub;

pub(crate) use client::{Client, ClientConfig, Proxies};
pub(crate) use error::ApiError;
pub(crate) use limit::{Limits, Tally};
pub(crate) use models::{
    ApiVersion, Catalog, Interval, KpiDetail, KpiMeta, Named, Record, RecordBody, RecordKey,
    RecordValue, is_target_name,
};
pub(crate) use retry::RetryPolicy;
