//! loadgen: drives a running tintype (or the Celery reference in `bench/reference`) over HTTP with
//! a chosen workload, follows every job to its final state and reports submit and end-to-end
//! latency, throughput, errors by kind, and the CPU and memory the services spent.

pub mod compare;
pub mod drive;
pub mod procs;
pub mod report;
pub mod stats;
pub mod workload;

pub use drive::run;
pub use report::Report;
pub use workload::{Arrival, Source, Workload};
