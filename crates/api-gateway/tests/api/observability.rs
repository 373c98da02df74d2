//! One job, one trace: the three service binaries run as real processes exporting OTLP/HTTP to a
//! receiver in this test, configured only by the standard `OTEL_*` variables. The gateway cannot
//! reach RabbitMQ, so the job goes through the outbox and the scheduler's relay, and the trace
//! must still run unbroken from the HTTP request to the worker's uploads. On the way, every
//! service's `/metrics` must parse strictly and its job counters must move.

use std::time::Duration;

use serde_json::Value;
use tintype_testkit::openmetrics::{self, Sample};
use tintype_testkit::otlp::{OtlpReceiver, ReceivedSpan};
use tintype_testkit::process::{ServiceProcess, Signal, free_port, workspace_binary};
use tintype_testkit::{TestEnv, images};

const SERVER: i32 = 2;
const PRODUCER: i32 = 4;
const CLIENT: i32 = 3;
const CONSUMER: i32 = 5;

async fn scrape(client: &reqwest::Client, port: u16) -> Vec<Sample> {
    let response = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    openmetrics::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn spans_named<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.service == service && s.name.starts_with(name))
        .collect()
}

#[tokio::test]
async fn one_job_is_one_trace_across_gateway_relay_and_worker_and_moves_every_services_counters() {
    let env = TestEnv::new().await;
    let receiver = OtlpReceiver::start();
    let gateway_bin = env!("CARGO_BIN_EXE_api-gateway");
    let worker_bin = workspace_binary(gateway_bin, "image-worker");
    let scheduler_bin = workspace_binary(gateway_bin, "scheduler");
    let otel = |extra: &[(&'static str, String)]| {
        let mut vars = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ];
        vars.extend_from_slice(extra);
        vars
    };

    let (gw_port, worker_port, scheduler_port) = (free_port(), free_port(), free_port());
    let mut gateway = ServiceProcess::spawn(
        gateway_bin,
        &[],
        &env,
        &otel(&[
            ("TINTYPE_HTTP_ADDR", format!("127.0.0.1:{gw_port}")),
            ("TINTYPE_AUTH", "disabled".to_owned()),
            // RabbitMQ unreachable from the gateway: the scheduler's relay must publish the job.
            ("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f".to_owned()),
            // The source server below listens on loopback.
            ("TINTYPE_OUTBOUND_ALLOW", "127.0.0.1".to_owned()),
        ]),
    )
    .unwrap();
    let mut worker = ServiceProcess::spawn(
        worker_bin.to_str().unwrap(),
        &[],
        &env,
        &otel(&[
            ("TINTYPE_METRICS_ADDR", format!("127.0.0.1:{worker_port}")),
            ("TINTYPE_OUTBOUND_ALLOW", "127.0.0.1".to_owned()),
        ]),
    )
    .unwrap();
    let mut scheduler = ServiceProcess::spawn(
        scheduler_bin.to_str().unwrap(),
        &[],
        &env,
        &otel(&[
            (
                "TINTYPE_METRICS_ADDR",
                format!("127.0.0.1:{scheduler_port}"),
            ),
            ("TINTYPE_RELAY_INTERVAL_MS", "100".to_owned()),
            ("TINTYPE_RELAY_MIN_AGE_MS", "0".to_owned()),
            ("TINTYPE_WEBHOOK_INTERVAL_MS", "100".to_owned()),
            // The webhook receiver below listens on loopback.
            ("TINTYPE_OUTBOUND_ALLOW", "127.0.0.1".to_owned()),
        ]),
    )
    .unwrap();
    let ready = Duration::from_secs(60);
    gateway
        .wait_ready(&format!("http://127.0.0.1:{gw_port}/healthz"), ready)
        .await;
    worker
        .wait_ready(&format!("http://127.0.0.1:{worker_port}/readyz"), ready)
        .await;
    scheduler
        .wait_ready(&format!("http://127.0.0.1:{scheduler_port}/readyz"), ready)
        .await;

    let client = reqwest::Client::new();
    let before = scrape(&client, worker_port).await;
    let succeeded = |s: &[Sample]| {
        openmetrics::sum(s, "tintype_worker_jobs_total", &[("outcome", "succeeded")])
    };
    assert_eq!(succeeded(&before), 0.0);

    // The caller's own trace: the gateway must continue it, not start another.
    let trace_id = "5b8efff798038103d269b633813fc60c";
    let caller_span = "eee19b7ec3c1b174";
    let hook =
        tintype_testkit::stub::StubServer::start(|_| tintype_testkit::stub::Reply::Status(204))
            .await;
    let recipe = format!(
        r#"{{"operations":[{{"op":"resize","width":64,"height":64,"fit":"inside"}}],
        "outputs":[{{"name":"a","format":"jpeg"}},{{"name":"b","format":"png"}}],
        "webhook":{{"url":"{}"}}}}"#,
        hook.url("/hook")
    );
    let response = client
        .post(format!("http://127.0.0.1:{gw_port}/v1/jobs"))
        .query(&[("recipe", recipe.as_str())])
        .header("content-type", "image/png")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .body(images::png(320, 200))
        .send()
        .await
        .unwrap();
    let id = crate::helpers::accepted_id(response).await;
    let job = tintype_testkit::eventually(Duration::from_secs(60), "a final status", || async {
        let job: Value = client
            .get(format!("http://127.0.0.1:{gw_port}/v1/jobs/{id}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!matches!(job["status"].as_str()?, "queued" | "running" | "retrying")).then_some(job)
    })
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["trace_id"], trace_id, "{job}");

    // Counters moved, and every exposition parses.
    let gw = scrape(&client, gw_port).await;
    assert_eq!(
        openmetrics::sum(
            &gw,
            "tintype_gateway_jobs_accepted_total",
            &[("priority", "default")]
        ),
        1.0
    );
    assert!(
        openmetrics::sum(
            &gw,
            "tintype_http_server_request_duration_seconds_count",
            &[("route", "/v1/jobs"), ("method", "POST"), ("status", "202")]
        ) == 1.0
    );
    assert!(
        openmetrics::sum(
            &gw,
            "tintype_http_server_request_duration_seconds_count",
            &[("route", "/v1/jobs/{id}"), ("method", "GET")]
        ) >= 1.0
    );
    let after = tintype_testkit::eventually(Duration::from_secs(10), "the outcome counted", || {
        let client = client.clone();
        async move {
            let s = scrape(&client, worker_port).await;
            (succeeded(&s) == 1.0).then_some(s)
        }
    })
    .await;
    for format in ["jpeg", "png"] {
        assert_eq!(
            openmetrics::sum(
                &after,
                "tintype_worker_encode_seconds_count",
                &[("format", format)]
            ),
            1.0,
            "{format}"
        );
    }
    assert_eq!(
        openmetrics::sum(
            &after,
            "tintype_worker_operation_seconds_count",
            &[("op", "resize")]
        ),
        1.0
    );
    assert!(openmetrics::sum(&after, "tintype_worker_source_bytes_total", &[]) > 0.0);
    assert!(openmetrics::sum(&after, "tintype_worker_output_bytes_total", &[]) > 0.0);
    assert_eq!(
        openmetrics::sum(&after, "tintype_worker_queue_wait_seconds_count", &[]),
        1.0
    );
    let sched = scrape(&client, scheduler_port).await;
    assert!(openmetrics::sum(&sched, "tintype_scheduler_outbox_published_total", &[]) >= 1.0);
    let default_queue = env.topology.jobs_queue(shared_protocol::Priority::Default);
    assert!(
        sched
            .iter()
            .any(|s| s.name == "tintype_queue_depth" && s.labels["queue"] == default_queue),
        "no depth for {default_queue}"
    );
    assert!(sched.iter().any(
        |s| s.name == "tintype_queue_oldest_age_seconds" && s.labels["queue"] == default_queue
    ));

    // The webhook goes out with the job's trace context.
    let hook_request = tintype_testkit::eventually(Duration::from_secs(20), "the webhook", || {
        let requests = hook.requests();
        async move { requests.into_iter().next() }
    })
    .await;
    assert!(
        hook_request
            .to_ascii_lowercase()
            .contains(&format!("traceparent: 00-{trace_id}-")),
        "{hook_request}"
    );

    // A source URL is fetched with the trace context of the job that names it.
    let png = images::png(64, 48);
    let source = tintype_testkit::stub::StubServer::start(move |_| {
        tintype_testkit::stub::Reply::Body("image/png", png.clone())
    })
    .await;
    let url_trace = "0af7651916cd43dd8448eb211c80319c";
    let response = client
        .post(format!("http://127.0.0.1:{gw_port}/v1/jobs"))
        .header("traceparent", format!("00-{url_trace}-b7ad6b7169203331-01"))
        .json(&serde_json::json!({
            "source": {"url": source.url("/a.png")},
            "outputs": [{"name": "a", "format": "png"}],
        }))
        .send()
        .await
        .unwrap();
    let url_job = crate::helpers::accepted_id(response).await;
    let fetch = tintype_testkit::eventually(Duration::from_secs(30), "the source fetch", || {
        let requests = source.requests();
        async move { requests.into_iter().next() }
    })
    .await;
    assert!(
        fetch
            .to_ascii_lowercase()
            .contains(&format!("traceparent: 00-{url_trace}-")),
        "{fetch}"
    );
    tintype_testkit::eventually(Duration::from_secs(30), "the URL job done", || async {
        let job: Value = client
            .get(format!("http://127.0.0.1:{gw_port}/v1/jobs/{url_job}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (job["status"] == "succeeded").then_some(())
    })
    .await;

    // A graceful stop flushes what the exporters still buffer.
    for service in [&mut gateway, &mut worker, &mut scheduler] {
        service.signal(Signal::SIGTERM);
        let status = service.wait_exit(Duration::from_secs(40)).await;
        assert!(status.success(), "{status}:\n{}", service.log_text());
    }

    let spans = receiver
        .wait_for(
            Duration::from_secs(10),
            "upload spans of both outputs",
            |s| spans_named(s, "image-worker", "upload").len() >= 2,
        )
        .await;
    // Only the first job's spans from here on; the URL job has its own trace.
    let spans: Vec<ReceivedSpan> = spans
        .into_iter()
        .filter(|s| s.trace_id == trace_id)
        .collect();
    let server = spans_named(&spans, "api-gateway", "POST /v1/jobs");
    assert_eq!(server.len(), 1, "{server:?}");
    assert_eq!(server[0].kind, SERVER);
    assert_eq!(server[0].trace_id, trace_id);
    assert_eq!(server[0].parent_span_id, caller_span);
    assert_eq!(server[0].attr("http.route"), Some("/v1/jobs"));
    assert_eq!(server[0].attr("http.response.status_code"), Some("202"));

    let relay_publish: Vec<_> = spans_named(&spans, "scheduler", "publish")
        .into_iter()
        .filter(|s| s.attr("messaging.destination.name") == Some(&*env.topology.jobs_exchange()))
        .collect();
    assert_eq!(relay_publish.len(), 1, "{relay_publish:?}");
    assert_eq!(relay_publish[0].kind, PRODUCER);
    let consume: Vec<_> = spans_named(&spans, "image-worker", "process")
        .into_iter()
        .filter(|s| s.kind == CONSUMER)
        .collect();
    assert_eq!(consume.len(), 1, "{consume:?}");
    assert_eq!(consume[0].parent_span_id, relay_publish[0].span_id);
    assert_eq!(consume[0].attr("messaging.system"), Some("rabbitmq"));

    let mut chain = vec![server[0], relay_publish[0], consume[0]];
    for (service, name, count) in [
        ("api-gateway", "INSERT jobs", 1),
        ("api-gateway", "S3.PutObject", 1),
        ("image-worker", "S3.GetObject", 1),
        ("image-worker", "decode", 1),
        ("image-worker", "resize", 1),
        ("image-worker", "encode jpeg", 1),
        ("image-worker", "encode png", 1),
        ("image-worker", "upload", 2),
        ("image-worker", "S3.PutObject", 2),
        ("image-worker", "UPDATE jobs", 2),
        ("scheduler", "POST", 1),
    ] {
        let found = spans_named(&spans, service, name);
        assert!(
            found.len() >= count,
            "{count} `{name}` spans from {service} expected, got {found:?}"
        );
        chain.extend(found);
    }
    let webhook = spans_named(&spans, "scheduler", "POST");
    assert_eq!(webhook[0].kind, CLIENT, "{webhook:?}");
    assert!(
        consume.iter().any(|c| c.trace_id == webhook[0].trace_id),
        "the webhook span continues the job's trace"
    );
    let traces: std::collections::BTreeSet<&str> =
        chain.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(
        traces,
        [trace_id].into_iter().collect(),
        "the job's spans are spread over several traces"
    );
}
