//! Test-only: checks that the deployment files agree with the code, so that a setting renamed in a
//! service, a probe pointing at a path nobody serves or a KEDA trigger on the wrong queue fails
//! `cargo test` instead of a rollout. No container engine or cluster is needed.
//!
//! - [`services`]: what each binary reads from its environment (from its clap definitions, plus the
//!   few variables read by the telemetry setup and the OpenTelemetry SDK) and where it listens.
//! - [`routes`]: whether a service serves a path, asked of the real routing code.
//! - [`manifests`]: docker-compose.yml (interpolated with .env.example) and the kustomize overlays,
//!   rendered by `scripts/check-deploy.sh kustomize`, as JSON values.
//!
//! The checks themselves are in `tests/consistency.rs`.

pub mod manifests;
pub mod routes;
pub mod services;
