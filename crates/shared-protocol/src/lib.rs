//! The vocabulary every tintype service shares, and nothing that does I/O.
//!
//! - [`recipe`]: the processing recipe clients submit, and its validation.
//! - [`job`]: job states, priorities and the job message carried by the broker.
//! - [`events`]: the lifecycle events published on the events exchange.
//! - [`schedule`]: when schedules fire (cron or interval, in a time zone) and misfire handling.
//! - [`topology`]: exchange, queue, routing-key and header names.
//! - [`errors`]: stable machine-readable error codes shared by the API and the workers.

pub mod errors;
pub mod events;
pub mod job;
pub mod recipe;
pub mod schedule;
pub mod topology;

pub use errors::ErrorCode;
pub use job::{JobMessage, JobStatus, Priority};
pub use recipe::{Recipe, RecipeError};
