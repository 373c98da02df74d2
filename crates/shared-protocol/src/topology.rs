//! Broker names. Every exchange, queue, routing key and header name lives here, so services and
//! operators agree on them; a [`Topology`] adds an optional namespace prefix so that test runs (or
//! two deployments sharing one broker) never see each other's messages.

use crate::job::Priority;

/// Default namespace of every exchange and queue.
pub const DEFAULT_PREFIX: &str = "tintype";

/// Suffix of the direct exchange jobs are published to (routing key = priority).
pub const JOBS_EXCHANGE: &str = "jobs";
/// Suffix of the dead-letter exchange.
pub const DEAD_LETTER_EXCHANGE: &str = "dlx";
/// Suffix of the queue dead letters end in.
pub const DEAD_LETTER_QUEUE: &str = "jobs.dead";
/// Suffix of the fanout exchange for worker control commands.
pub const CONTROL_EXCHANGE: &str = "control";
/// Suffix of the topic exchange for job lifecycle events.
pub const EVENTS_EXCHANGE: &str = "events";
/// Suffix of the exchange the retry delay queues are bound to.
pub const RETRY_EXCHANGE: &str = "retry";

/// Delay tiers, in seconds, of the retry queues (fixed TTLs avoid head-of-line blocking).
pub const RETRY_DELAY_TIERS_SECS: [u32; 3] = [5, 30, 300];

/// How many times RabbitMQ may deliver one job message before dead-lettering it.
pub const DELIVERY_LIMIT: u32 = 20;

/// W3C trace-context header carried on AMQP messages.
pub const HEADER_TRACEPARENT: &str = "traceparent";
/// W3C trace-state header carried on AMQP messages.
pub const HEADER_TRACESTATE: &str = "tracestate";
/// Header RabbitMQ sets on redelivered quorum-queue messages.
pub const HEADER_DELIVERY_COUNT: &str = "x-delivery-count";
/// Message type of job messages (AMQP `type` property).
pub const MESSAGE_TYPE_JOB: &str = "tintype.job.v1";
/// Message type of job events (AMQP `type` property).
pub const MESSAGE_TYPE_EVENT: &str = "tintype.event.v1";

/// Concrete broker names for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
}

impl Default for Topology {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Topology {
    /// Names under `prefix` (the default deployment uses [`DEFAULT_PREFIX`]).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The namespace prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}.{}", self.prefix, suffix)
    }

    /// The jobs direct exchange, e.g. `tintype.jobs`.
    pub fn jobs_exchange(&self) -> String {
        self.name(JOBS_EXCHANGE)
    }

    /// The queue of one priority, e.g. `tintype.jobs.high`.
    pub fn jobs_queue(&self, priority: Priority) -> String {
        format!("{}.{}", self.jobs_exchange(), priority.as_str())
    }

    /// The dead-letter exchange, e.g. `tintype.dlx`.
    pub fn dead_letter_exchange(&self) -> String {
        self.name(DEAD_LETTER_EXCHANGE)
    }

    /// The dead-letter queue, e.g. `tintype.jobs.dead`.
    pub fn dead_letter_queue(&self) -> String {
        self.name(DEAD_LETTER_QUEUE)
    }

    /// The retry exchange delay queues are bound to.
    pub fn retry_exchange(&self) -> String {
        self.name(RETRY_EXCHANGE)
    }

    /// The delay queue of one tier and priority, e.g. `tintype.retry.30s.high`; when its TTL
    /// runs out the message dead-letters back to the jobs exchange with the priority as key.
    pub fn retry_queue(&self, delay_secs: u32, priority: Priority) -> String {
        format!(
            "{}.{}",
            self.retry_exchange(),
            Self::retry_routing_key(delay_secs, priority)
        )
    }

    /// Routing key selecting the delay queue of one tier and priority, e.g. `30s.high`.
    pub fn retry_routing_key(delay_secs: u32, priority: Priority) -> String {
        format!("{delay_secs}s.{}", priority.as_str())
    }

    /// The smallest delay tier at least `wanted_secs` long (the largest tier if none is).
    pub fn retry_tier(wanted_secs: u32) -> u32 {
        RETRY_DELAY_TIERS_SECS
            .iter()
            .copied()
            .find(|tier| *tier >= wanted_secs)
            .unwrap_or(RETRY_DELAY_TIERS_SECS[RETRY_DELAY_TIERS_SECS.len() - 1])
    }

    /// The control fanout exchange.
    pub fn control_exchange(&self) -> String {
        self.name(CONTROL_EXCHANGE)
    }

    /// The events topic exchange.
    pub fn events_exchange(&self) -> String {
        self.name(EVENTS_EXCHANGE)
    }

    /// Every queue name of this namespace (for clean-up and inspection).
    pub fn all_queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = Priority::ALL.iter().map(|p| self.jobs_queue(*p)).collect();
        queues.push(self.dead_letter_queue());
        for tier in RETRY_DELAY_TIERS_SECS {
            queues.extend(Priority::ALL.iter().map(|p| self.retry_queue(tier, *p)));
        }
        queues
    }

    /// Every exchange name of this namespace.
    pub fn all_exchanges(&self) -> Vec<String> {
        vec![
            self.jobs_exchange(),
            self.dead_letter_exchange(),
            self.retry_exchange(),
            self.control_exchange(),
            self.events_exchange(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_match_the_design() {
        let t = Topology::default();
        assert_eq!(t.jobs_exchange(), "tintype.jobs");
        assert_eq!(t.jobs_queue(Priority::High), "tintype.jobs.high");
        assert_eq!(t.jobs_queue(Priority::Default), "tintype.jobs.default");
        assert_eq!(t.jobs_queue(Priority::Low), "tintype.jobs.low");
        assert_eq!(t.dead_letter_exchange(), "tintype.dlx");
        assert_eq!(t.dead_letter_queue(), "tintype.jobs.dead");
        assert_eq!(t.control_exchange(), "tintype.control");
        assert_eq!(t.events_exchange(), "tintype.events");
        assert_eq!(t.retry_queue(30, Priority::High), "tintype.retry.30s.high");
        assert_eq!(t.all_queues().len(), 3 + 1 + 9);
    }

    #[test]
    fn retry_tiers_round_up() {
        assert_eq!(Topology::retry_tier(0), 5);
        assert_eq!(Topology::retry_tier(6), 30);
        assert_eq!(Topology::retry_tier(100_000), 300);
    }

    #[test]
    fn a_prefix_moves_every_name() {
        let t = Topology::new("tt-test");
        assert!(t.all_queues().iter().all(|q| q.starts_with("tt-test.")));
        assert!(t.all_exchanges().iter().all(|e| e.starts_with("tt-test.")));
    }
}
