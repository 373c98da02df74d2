//! End-to-end tests: the real gateway, worker and scheduler in-process against the real
//! PostgreSQL, RabbitMQ and SeaweedFS, each test in its own database, namespace and bucket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod browser;
mod contract;
mod delivery;
mod helpers;
mod jobs;
mod listing;
mod load;
mod observability;
mod operator_views;
mod outbox;
mod process;
mod protection;
mod resources;
mod schedules;
mod sources;
mod webhooks;
