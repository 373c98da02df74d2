//! The guard against real connections: refusals, the allowlist, redirects and body limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tintype_outbound::{Allowlist, ClientOptions, Guard, Outbound, OutboundError};
use tintype_testkit::stub::{Reply, StubServer};

fn outbound(allow: &str) -> Outbound {
    Outbound::new(
        Guard::new(Allowlist::parse(allow).unwrap()),
        &ClientOptions::default(),
    )
    .unwrap()
}

async fn get(client: &Outbound, url: &str) -> Result<Vec<u8>, OutboundError> {
    client
        .get_limited(url, 1024 * 1024, Duration::from_secs(5))
        .await
        .map(|f| f.bytes.to_vec())
}

#[tokio::test]
async fn private_loopback_and_metadata_urls_are_refused_without_an_allowlist() {
    let client = outbound("");
    for url in [
        "http://127.0.0.1/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://localhost:9/x.jpg",
    ] {
        let err = get(&client, url).await.unwrap_err();
        assert!(
            matches!(err, OutboundError::Refused { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("TINTYPE_OUTBOUND_ALLOW"), "{err}");
        assert!(client.precheck(url).await.is_err(), "{url}");
    }
    let err = get(&client, "file:///etc/passwd").await.unwrap_err();
    assert!(matches!(err, OutboundError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn an_allowlisted_loopback_server_is_reached() {
    let stub = StubServer::start(|_| Reply::Body("image/png", b"hello".to_vec())).await;
    let client = outbound("127.0.0.0/8");
    assert_eq!(get(&client, &stub.url("/a")).await.unwrap(), b"hello");
    // By host name: the name is exempted, whatever it resolves to.
    let client = outbound("localhost");
    let url = format!("http://localhost:{}/a", stub.port);
    assert_eq!(get(&client, &url).await.unwrap(), b"hello");
}

#[tokio::test]
async fn a_redirect_from_an_allowed_host_to_a_private_one_is_refused() {
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let p = port.clone();
    let stub = StubServer::start(move |path| match path {
        "/to-metadata" => Reply::Redirect("http://169.254.169.254/latest/meta-data/".into()),
        "/to-loopback" => Reply::Redirect(format!("http://127.0.0.1:{}/ok", p.get().unwrap())),
        "/loop" => Reply::Redirect("/loop".into()),
        _ => Reply::Body("text/plain", b"ok".to_vec()),
    })
    .await;
    port.set(stub.port).unwrap();
    // Only the name `localhost` is allowed, not the addresses behind it.
    let client = outbound("localhost");
    let base = format!("http://localhost:{}", stub.port);
    for path in ["/to-metadata", "/to-loopback"] {
        let err = get(&client, &format!("{base}{path}")).await.unwrap_err();
        assert!(
            matches!(err, OutboundError::Refused { .. }),
            "{path}: {err:?}"
        );
    }
    let err = get(&client, &format!("{base}/loop")).await.unwrap_err();
    assert_eq!(err, OutboundError::TooManyRedirects { max: 5 });
}

#[tokio::test]
async fn a_huge_body_is_refused_while_streaming_and_a_stalled_one_times_out() {
    let stub = StubServer::start(|path| match path {
        "/huge" => Reply::Endless(100 * 1024 * 1024),
        "/big-declared" => Reply::Body("image/png", vec![0; 2 * 1024 * 1024]),
        "/trickle" => Reply::Trickle,
        _ => Reply::Hang,
    })
    .await;
    let client = outbound("127.0.0.1");
    let started = std::time::Instant::now();
    let err = get(&client, &stub.url("/huge")).await.unwrap_err();
    assert_eq!(err, OutboundError::TooLarge { limit: 1024 * 1024 });
    let err = get(&client, &stub.url("/big-declared")).await.unwrap_err();
    assert_eq!(err, OutboundError::TooLarge { limit: 1024 * 1024 });
    for path in ["/trickle", "/hang"] {
        let err = client
            .get_limited(&stub.url(path), 1024, Duration::from_millis(700))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OutboundError::TimedOut { .. }),
            "{path}: {err:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn non_success_statuses_are_reported_and_classified() {
    let stub = StubServer::start(|path| match path {
        "/404" => Reply::Status(404),
        _ => Reply::Status(503),
    })
    .await;
    let client = outbound("127.0.0.1");
    let err = get(&client, &stub.url("/404")).await.unwrap_err();
    assert_eq!(err, OutboundError::Status { status: 404 });
    assert!(!err.is_transient());
    let err = get(&client, &stub.url("/503")).await.unwrap_err();
    assert!(err.is_transient());
}
