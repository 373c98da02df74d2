//! The outbound guard: every request tintype makes on a user's behalf (source URLs, webhooks) goes
//! through it, so a URL cannot make our services reach loopback, private networks, link-local
//! addresses or the cloud metadata endpoint (SSRF).
//!
//! - [`guard`]: the address policy and the operator allowlist (`TINTYPE_OUTBOUND_ALLOW`).
//! - [`client`]: a reqwest client whose DNS resolver applies the guard, so the address that was
//!   checked is the address connected to (resolve once, no second lookup to rebind), with every
//!   redirect re-checked and bounded.

pub mod client;
pub mod guard;

pub use client::{ClientOptions, Fetched, Outbound};
pub use guard::{Allowlist, Guard};

/// Why an outbound request did not happen or did not complete.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not an absolute http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The host resolves to an address the guard refuses.
    #[error(
        "refused to connect to {host} ({addr}): {reason} addresses are not allowed (allowlist them with TINTYPE_OUTBOUND_ALLOW)"
    )]
    Refused {
        /// Host as written in the URL.
        host: String,
        /// The refused address.
        addr: std::net::IpAddr,
        /// Which range it is in (loopback, private, link-local, …).
        reason: &'static str,
    },
    /// The host name does not resolve.
    #[error("{host} does not resolve: {message}")]
    Unresolvable {
        /// Host as written in the URL.
        host: String,
        /// The resolver's answer.
        message: String,
    },
    /// More redirects than allowed.
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
    /// The body is larger than allowed.
    #[error("the response is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request did not complete in time.
    #[error("no complete response within {secs:.1}s")]
    TimedOut {
        /// The limit in seconds.
        secs: f64,
    },
    /// The server answered with a non-success status.
    #[error("the server answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// Connection or protocol failure.
    #[error("{0}")]
    Http(String),
}

impl OutboundError {
    /// Whether another attempt later may succeed (network trouble, server errors, timeouts).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::TimedOut { .. } | Self::Http(_) | Self::Unresolvable { .. } => true,
            Self::Status { status } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}
