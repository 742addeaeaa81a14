//! The upload stage: the plan's records written to the server.
//!
//! - [`compare`]: the planned records next to what the server holds (new, changed, unchanged).
//! - [`write`](mod@write): an import's writing — what to send, undo data first, the journal, the engine.
//! - [`engine`]: concurrent sending through the client's one limit and retry policy.
//! - [`journal`]: the append-only journal that makes a re-run resume.
//! - [`undo`]: the previous values of every record an import touches.
//! - [`state`]: where journals and run directories live.
//! - [`lock`]: one import per server and state directory at a time.
//! - [`runs`]: past runs listed (`vsimport runs`, `undo --last`) and pruned.

pub(crate) mod compare;
pub(crate) mod engine;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod runs;
pub(crate) mod state;
pub(crate) mod undo;
pub(crate) mod write;
