//! `spawn_app()`: the three services on port 0 with an isolated environment.

use std::time::Duration;

use serde_json::Value;
use tintype_testkit::TestEnv;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running system for one test.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub env: TestEnv,
    stops: Vec<Option<Service>>,
}

/// A running in-process service: how to stop it, and its task.
type Service = (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>);

/// What to start.
pub struct Options {
    /// AMQP URL the gateway uses (a dead one simulates RabbitMQ being down at submit time).
    pub gateway_amqp_url: Option<String>,
    /// Start a worker.
    pub worker: bool,
    /// Start a scheduler.
    pub scheduler: bool,
    /// Adjusts the gateway's settings (auth, limits, CORS) before it starts.
    pub gateway: fn(&mut api_gateway::Settings),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gateway_amqp_url: None,
            worker: true,
            scheduler: true,
            gateway: |_| {},
        }
    }
}

impl Options {
    /// The gateway alone, taking URL sources on loopback: the submit path as `make bench` drives it,
    /// with nothing consuming what it publishes.
    pub fn submit_only() -> Self {
        Self {
            worker: false,
            scheduler: false,
            gateway: |s| {
                s.outbound_allow = tintype_outbound::Allowlist::parse("127.0.0.1").unwrap();
            },
            ..Default::default()
        }
    }
}

/// A client that drops idle connections before the gateway's 5 s keep-alive does, so a test that
/// pauses (waiting out a broker restart, say) never sends on a connection the server just closed.
pub fn test_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn stopper() -> (oneshot::Sender<()>, impl std::future::Future<Output = ()>) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    tintype_testkit::init_logs();
    let env = TestEnv::new().await;
    let mut stops = Vec::new();
    let mut gateway_settings = api_gateway::Settings {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        database: env.database_args(),
        broker: tintype_broker::BrokerArgs {
            amqp_url: options
                .gateway_amqp_url
                .clone()
                .unwrap_or_else(|| env.amqp_url.clone()),
            ..env.broker_args()
        },
        storage: env.storage_args(),
        max_upload_bytes: 2 * 1024 * 1024,
        max_pixels: 50_000_000,
        max_dimension: 30_000,
        public_url: None,
        job_max_attempts: 3,
        job_timeout_secs: 60,
        idempotency_ttl_secs: 3600,
        // Off unless a test turns them on, so tests do not need keys or trip limits.
        auth: api_gateway::auth::AuthMode::Disabled,
        rate_limit_per_sec: 0,
        rate_limit_burst: 0,
        max_waiting_jobs: 0,
        cors_origins: Vec::new(),
        // Empty, as in production: tests that serve sources on loopback allow it explicitly.
        outbound_allow: tintype_outbound::Allowlist::default(),
        source_fetch_timeout_secs: 5,
        db_max_connections: 5,
        upload_concurrency: 8,
        jaeger_url: None,
    };
    (options.gateway)(&mut gateway_settings);
    let gateway = api_gateway::Application::build(gateway_settings)
        .await
        .expect("build gateway");
    let address = format!("http://127.0.0.1:{}", gateway.port());
    let (tx, stop) = stopper();
    stops.push(Some((tx, tokio::spawn(gateway.run_until_stopped(stop)))));

    if options.scheduler {
        let settings = scheduler_settings(&env);
        let scheduler = scheduler::Application::build(settings)
            .await
            .expect("build scheduler");
        let (tx, stop) = stopper();
        stops.push(Some((tx, tokio::spawn(scheduler.run_until_stopped(stop)))));
    }
    let mut app = TestApp {
        address,
        client: test_client(),
        env,
        stops,
    };
    if options.worker {
        app.start_worker(|_| {}).await;
    }
    app
}

/// Settings of an in-process test worker; `start_worker` lets a test adjust them.
pub fn worker_settings(env: &TestEnv) -> image_worker::Settings {
    image_worker::Settings {
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        database: env.database_args(),
        broker: env.broker_args(),
        storage: env.storage_args(),
        queues: shared_protocol::Priority::ALL.to_vec(),
        concurrency: 2,
        worker_id: Some(format!("test-worker-{}", uuid::Uuid::new_v4().simple())),
        lease_secs: 30,
        shutdown_grace_secs: 5,
        max_source_bytes: 2 * 1024 * 1024,
        outbound_allow: tintype_outbound::Allowlist::default(),
        source_fetch_timeout_secs: 5,
        max_pixels: 50_000_000,
        max_dimension: 30_000,
    }
}

/// Scheduler settings for `env`: fast relay and webhooks, loopback receivers allowed.
pub fn scheduler_settings(env: &TestEnv) -> scheduler::Settings {
    scheduler::Settings {
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        database: env.database_args(),
        broker: env.broker_args(),
        relay_interval_ms: 100,
        relay_min_age_ms: 200,
        // Our own receivers listen on loopback: allow it explicitly, as operators would.
        outbound_allow: tintype_outbound::Allowlist::parse("127.0.0.1").unwrap(),
        webhook_secrets: "whsec_dGVzdC1zZWNyZXQtZm9yLXRpbnR5cGUtMDEyMzQ1Njc4OQ==".into(),
        webhook_max_attempts: 3,
        webhook_backoff_ms: 100,
        webhook_timeout_ms: 2000,
        webhook_interval_ms: 50,
        public_url: None,
        storage: env.storage_args(),
        schedule_tick_ms: 100,
        misfire_grace_secs: 60,
        reaper_interval_secs: 1,
        reaper_grace_secs: 60,
        retention: scheduler::Retention(None),
        retention_interval_secs: 300,
        retention_batch: 100,
    }
}

impl TestApp {
    /// Starts an in-process worker (settings adjusted by `tweak`); it stops with the app, or
    /// earlier with `stop_service` and the index returned.
    pub async fn start_worker(&mut self, tweak: impl FnOnce(&mut image_worker::Settings)) -> usize {
        let mut settings = worker_settings(&self.env);
        tweak(&mut settings);
        let worker = image_worker::Application::build(settings)
            .await
            .expect("build worker");
        let (tx, stop) = stopper();
        self.stops
            .push(Some((tx, tokio::spawn(worker.run_until_stopped(stop)))));
        self.stops.len() - 1
    }

    /// Stops one service started by this app and waits for it.
    pub async fn stop_service(&mut self, index: usize) {
        if let Some((tx, handle)) = self.stops.get_mut(index).and_then(Option::take) {
            let _ = tx.send(());
            handle.await.unwrap().unwrap();
        }
    }

    /// POSTs to a path of the API with no body.
    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// GETs a path of the API as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Polls the job until `check` accepts it.
    pub async fn wait_job(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        tintype_testkit::eventually(Duration::from_secs(60), what, || async {
            let job: Value = self.get_job(id).await.json().await.ok()?;
            check(&job).then_some(job)
        })
        .await
    }

    /// Object keys under `outputs/{id}/`.
    pub async fn output_keys(&self, id: &str) -> Vec<String> {
        self.env
            .storage
            .list(&format!("outputs/{id}/"))
            .await
            .unwrap()
    }
    /// Submits a multipart job.
    pub async fn submit(&self, file: Vec<u8>, file_type: &str, recipe: &str) -> reqwest::Response {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(file)
                    .file_name("upload")
                    .mime_str(file_type)
                    .unwrap(),
            )
            .text("recipe", recipe.to_owned());
        self.client
            .post(format!("{}/v1/jobs", self.address))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_job(&self, id: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/v1/jobs/{id}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Polls the job until it reaches a final status.
    pub async fn wait_final(&self, id: &str) -> Value {
        tintype_testkit::eventually(Duration::from_secs(60), "a final job status", || async {
            let job: Value = self.get_job(id).await.json().await.ok()?;
            match job["status"].as_str()? {
                "queued" | "running" | "retrying" => None,
                _ => Some(job),
            }
        })
        .await
    }

    /// Stops every service and waits for them.
    pub async fn stop(mut self) {
        // Close the client's keep-alive connections, or graceful shutdown waits out its timeout.
        self.client = test_client();
        for (tx, handle) in self.stops.drain(..).rev().flatten() {
            let _ = tx.send(());
            handle.await.unwrap().unwrap();
        }
    }
}

/// Asserts a `202 Accepted` submit and returns the new job's id.
pub async fn accepted_id(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 202);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let ctype = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(ctype, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}
