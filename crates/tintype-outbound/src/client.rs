//! A reqwest client that applies the [`Guard`]: host names are resolved once by a resolver that
//! refuses forbidden addresses and hands the checked ones to the connector; IP-literal hosts, which
//! reqwest connects to without resolving, are checked before the request and at each redirect.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Response, Url, redirect};

use crate::OutboundError;
use crate::guard::Guard;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Redirects followed at most (each re-checked).
    pub max_redirects: usize,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// `User-Agent` sent.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            max_redirects: 5,
            connect_timeout: Duration::from_secs(10),
            user_agent: "tintype".to_owned(),
        }
    }
}

/// A response body read to the end within the limits.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The URL after redirects.
    pub final_url: Url,
}

struct GuardedResolver {
    guard: Arc<Guard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| OutboundError::Unresolvable {
                    host: host.clone(),
                    message: e.to_string(),
                })?
                .collect();
            // One forbidden answer refuses the host: picking the "good" addresses out of a mixed
            // answer would let an attacker race the connector into the bad one.
            for addr in &addrs {
                guard.check(&host, addr.ip())?;
            }
            if addrs.is_empty() {
                return Err(OutboundError::Unresolvable {
                    host,
                    message: "no addresses".into(),
                }
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Checks a URL's scheme and, when its host is an IP literal, the address.
fn check_url(guard: &Guard, url: &Url) -> Result<(), OutboundError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::InvalidUrl(format!(
            "scheme `{}` is not http(s)",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| OutboundError::InvalidUrl("no host".into()))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(addr) = bare.parse::<IpAddr>() {
        guard.check(host, addr)?;
    }
    Ok(())
}

/// Finds our own error in reqwest's chain of causes, so a refusal reads as a refusal.
fn classify(err: reqwest::Error) -> OutboundError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        if let Some(ours) = e.downcast_ref::<OutboundError>() {
            return ours.clone();
        }
        cause = e.source();
    }
    if err.is_timeout() {
        return OutboundError::TimedOut { secs: 0.0 };
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    OutboundError::Http(message)
}

/// The guarded client.
#[derive(Clone)]
pub struct Outbound {
    guard: Arc<Guard>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("guard", &self.guard)
            .finish()
    }
}

impl Outbound {
    /// Builds the client.
    pub fn new(guard: Guard, options: &ClientOptions) -> Result<Self, OutboundError> {
        let guard = Arc::new(guard);
        let max = options.max_redirects;
        let policy_guard = Arc::clone(&guard);
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max {
                return attempt.error(OutboundError::TooManyRedirects { max });
            }
            match check_url(&policy_guard, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(err) => attempt.error(err),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: Arc::clone(&guard),
            }))
            // A proxy would connect for us to whatever it resolves, around the guard.
            .no_proxy()
            .redirect(policy)
            .connect_timeout(options.connect_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| OutboundError::Http(format!("building the HTTP client: {e}")))?;
        Ok(Self { guard, client })
    }

    /// The policy in force.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Parses `url` and refuses it now if it is not http(s) or names a forbidden address literally.
    pub fn parse_url(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
        check_url(&self.guard, &parsed)?;
        Ok(parsed)
    }

    /// Resolves the URL's host and checks every address, without sending anything: what an API
    /// does to refuse a URL at submit time. A host that does not resolve (yet) is not refused
    /// here; the request itself checks again.
    pub async fn precheck(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = self.parse_url(url)?;
        if let Some(host) = parsed.host_str()
            && !host.starts_with('[')
            && host.parse::<IpAddr>().is_err()
            && !self.guard.allows_host(host)
            && let Ok(Ok(addrs)) =
                tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, 0)))
                    .await
        {
            for addr in addrs {
                self.guard.check(host, addr.ip())?;
            }
        }
        Ok(parsed)
    }

    /// A request to a URL that went through [`Outbound::parse_url`].
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request, mapping failures (refusals included) to [`OutboundError`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, OutboundError> {
        request.send().await.map_err(classify)
    }

    /// GETs `url` and reads the body to the end, refusing it past `max_bytes` (while streaming,
    /// so a huge body is never buffered) and giving up after `deadline` (a server that never
    /// finishes cannot hold the caller).
    pub async fn get_limited(
        &self,
        url: &str,
        max_bytes: u64,
        deadline: Duration,
    ) -> Result<Fetched, OutboundError> {
        self.get_limited_with_headers(url, &[], max_bytes, deadline)
            .await
    }

    /// [`Outbound::get_limited`] with extra request headers (e.g. the W3C trace context).
    pub async fn get_limited_with_headers(
        &self,
        url: &str,
        headers: &[(String, String)],
        max_bytes: u64,
        deadline: Duration,
    ) -> Result<Fetched, OutboundError> {
        let parsed = self.parse_url(url)?;
        let work = async {
            let mut request = self.request(Method::GET, parsed);
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let response = self.send(request).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(OutboundError::Status {
                    status: status.as_u16(),
                });
            }
            if response.content_length().is_some_and(|len| len > max_bytes) {
                return Err(OutboundError::TooLarge { limit: max_bytes });
            }
            let final_url = response.url().clone();
            let mut body = BytesMut::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(classify)?;
                if (body.len() + chunk.len()) as u64 > max_bytes {
                    return Err(OutboundError::TooLarge { limit: max_bytes });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                bytes: body.freeze(),
                final_url,
            })
        };
        match tokio::time::timeout(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(OutboundError::TimedOut {
                secs: deadline.as_secs_f64(),
            }),
        }
    }
}
