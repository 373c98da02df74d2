//! The dashboard in a real browser: headless Debian Chromium driven over WebDriver (chromedriver
//! started here on a free port). It watches a submitted job appear live, cancels a slow one, and
//! goes through the API key dialog. Chromium missing is a failure with instructions, never a skip.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use api_gateway::auth::{AuthMode, keys};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tintype_testkit::images;
use tokio::process::{Child, Command};

use crate::helpers::{Options, TestApp, accepted_id, spawn_app, spawn_app_with};

/// How long the page gets for anything to show up.
const UI_WAIT: Duration = Duration::from_secs(30);

/// The first of `names` found on `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium session; chromedriver dies with it.
struct Browser {
    client: Client,
    _driver: Child,
}

impl Browser {
    async fn start() -> Self {
        let chromium = find_program(&["chromium", "chromium-browser"]).expect(
            "Chromium is not installed: the dashboard browser test needs Debian's `chromium` and \
             `chromium-driver`; run `scripts/deps.sh` (or `apt-get install chromium chromium-driver`)",
        );
        let chromedriver = find_program(&["chromedriver"]).expect(
            "chromedriver is not installed: run `scripts/deps.sh` (Debian package `chromium-driver`)",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-dev-shm-usage",
                         "--window-size=1400,1000"],
            }),
        );
        let client =
            tintype_testkit::eventually(Duration::from_secs(20), "chromedriver up", || {
                let (url, capabilities) = (url.clone(), capabilities.clone());
                async move {
                    ClientBuilder::rustls()
                        .ok()?
                        .capabilities(capabilities)
                        .connect(&url)
                        .await
                        .ok()
                }
            })
            .await;
        Self {
            client,
            _driver: driver,
        }
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(UI_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("`{css}` never appeared: {e}"))
    }

    async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        // CARGO_TARGET_TMPDIR is `<target>/tmp`: artifacts go beside it.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// A job that keeps a worker busy for several seconds: big blurs, each output on its own.
fn slow_recipe() -> String {
    let outputs: Vec<Value> = (0..8)
        .map(|i| {
            json!({"name": format!("o{i}"), "format": "png",
                   "operations": [{"op": "blur", "sigma": 60.0}]})
        })
        .collect();
    json!({"outputs": outputs, "metadata": {"order": "slow-1"}}).to_string()
}

const QUICK: &str = r#"{"outputs":[{"name":"thumb","format":"png","operations":[{"op":"resize","width":48}]}],"metadata":{"order":"quick-1"}}"#;

#[tokio::test]
async fn the_dashboard_shows_a_submitted_job_live_and_cancels_a_slow_one() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{}/#/jobs", app.address))
        .await
        .unwrap();
    browser.wait_for("#jobs-table tbody").await;
    // Subscribed to the event stream before anything is submitted.
    browser.wait_for("#live-indicator.on").await;

    // A quick job appears in the table without a reload, and finishes there.
    let quick = accepted_id(app.submit(images::jpeg(96, 64), "image/jpeg", QUICK).await).await;
    browser
        .wait_for(&format!("#jobs-table tr[data-id='{quick}']"))
        .await;
    browser
        .wait_for(&format!(
            "#jobs-table tr[data-id='{quick}'] [data-status='succeeded']"
        ))
        .await;

    // A slow job: open it from the table, watch it run, cancel it.
    let slow = accepted_id(
        app.submit(images::jpeg(1600, 1200), "image/jpeg", &slow_recipe())
            .await,
    )
    .await;
    browser
        .wait_for(&format!("#jobs-table tr[data-id='{slow}']"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for("#view-job:not([hidden]) #job-status[data-status='running']")
        .await;
    assert_eq!(
        browser.wait_for("#job-title").await.text().await.unwrap(),
        slow
    );
    browser
        .wait_for("#job-cancel:not([hidden])")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for("#job-status[data-status='cancelled']")
        .await;
    let job = app.get_json(&format!("/v1/jobs/{slow}")).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    // A cancelled job offers neither Cancel nor Retry, and no trace link without Jaeger.
    for button in ["#job-cancel", "#job-retry", "#job-trace"] {
        let shown = browser.wait_for(button).await.is_displayed().await.unwrap();
        assert!(!shown, "{button} is shown on a cancelled job");
    }
    let timeline = browser
        .wait_for("#job-timeline")
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("cancelled"), "{timeline}");
    browser.save_screenshot("dashboard-job.png").await;

    // The finished quick job shows its output thumbnail (fetched with the API, shown as a blob).
    browser
        .client
        .goto(&format!("{}/#/jobs/{quick}", app.address))
        .await
        .unwrap();
    browser
        .wait_for("#job-outputs [data-output='thumb'] img[src^='blob:']")
        .await;

    // A schedule for the schedules view.
    app.env
        .storage
        .put("library/cat.png", images::png(16, 16).into(), "image/png")
        .await
        .unwrap();
    let schedule: serde_json::Value = app
        .client
        .post(format!("{}/v1/schedules", app.address))
        .json(&serde_json::json!({
            "name": "nightly thumbs",
            "recipe": {"outputs": [{"name": "t", "format": "png"}]},
            "source": {"object": "library/cat.png"},
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schedule_id = schedule["id"].as_str().unwrap().to_owned();

    // The operator views render what the API reports.
    let tour = [
        (
            "workers",
            "#workers-table tr[data-worker] [data-status='alive']",
        ),
        ("queues", "#queues-table tr[data-queue]"),
        ("dead-letters", "#dead-table tbody td.empty"),
        ("schedules", "#schedules-table tbody tr[data-schedule]"),
    ];
    for (view, css) in tour {
        browser
            .client
            .goto(&format!("{}/#/{view}", app.address))
            .await
            .unwrap();
        browser.wait_for(css).await;
    }
    // The schedule is listed with its rule, and Pause pauses it.
    let row = browser
        .wait_for(&format!(
            "#schedules-table tr[data-schedule='{schedule_id}']"
        ))
        .await;
    let text = row.text().await.unwrap();
    assert!(
        text.contains("nightly thumbs") && text.contains("cron 30 2 * * *"),
        "{text}"
    );
    row.find(fantoccini::Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tintype_testkit::eventually(std::time::Duration::from_secs(10), "paused", || async {
        let schedule = app.get_json(&format!("/v1/schedules/{schedule_id}")).await;
        (schedule["paused"] == true).then_some(())
    })
    .await;

    // The overview and the jobs table, as an operator sees them.
    browser
        .client
        .goto(&format!("{}/#/overview", app.address))
        .await
        .unwrap();
    browser.wait_for("#ov-chart svg").await;
    let success = browser.wait_for("#ov-success").await.text().await.unwrap();
    assert_eq!(success, "100.0 %", "one succeeded, none failed");
    browser
        .client
        .goto(&format!("{}/#/jobs", app.address))
        .await
        .unwrap();
    browser
        .wait_for(&format!(
            "#jobs-table tr[data-id='{slow}'] [data-status='cancelled']"
        ))
        .await;
    browser.save_screenshot("dashboard.png").await;
    browser.close().await;
    app.stop().await;
}

/// Submits through the dashboard's form: a file picked from disk, watched to the end live.
async fn submit_from_the_form(app: &TestApp, browser: &Browser) {
    let file = std::env::temp_dir().join(format!("tintype-ui-{}.jpg", uuid::Uuid::now_v7()));
    std::fs::write(&file, images::jpeg(120, 80)).unwrap();
    browser
        .client
        .goto(&format!("{}/#/submit", app.address))
        .await
        .unwrap();
    browser
        .wait_for("#submit-form input[name=file]")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser
        .wait_for("#submit-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_for("#submit-progress .progress-item [data-status='succeeded']")
        .await;
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn with_auth_required_the_dashboard_asks_for_a_key_and_keeps_it_for_the_tab() {
    let app = spawn_app_with(Options {
        gateway: |s| s.auth = AuthMode::Required,
        ..Options::default()
    })
    .await;
    let key = keys::generate();
    tintype_db::api_keys::insert(
        &app.env.pool,
        "dashboard",
        &keys::prefix(&key),
        &keys::hash(&key),
        &["jobs:read".to_owned(), "jobs:write".to_owned()],
    )
    .await
    .unwrap();

    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{}/#/jobs", app.address))
        .await
        .unwrap();
    // The API answers 401: the dialog asks; a wrong key is refused and asked for again.
    browser
        .wait_for("#auth-dialog[open] #api-key")
        .await
        .send_keys("tt_not-a-real-key")
        .await
        .unwrap();
    browser
        .wait_for("#auth-submit")
        .await
        .click()
        .await
        .unwrap();
    tintype_testkit::eventually(UI_WAIT, "the wrong key refused", || async {
        let reason = browser
            .client
            .find(Locator::Css("#auth-reason"))
            .await
            .ok()?;
        let dialog_open = browser
            .client
            .find(Locator::Css("#auth-dialog[open]"))
            .await
            .is_ok();
        (dialog_open && reason.text().await.ok()?.contains("refused")).then_some(())
    })
    .await;
    browser
        .wait_for("#auth-dialog[open] #api-key")
        .await
        .send_keys(&key)
        .await
        .unwrap();
    browser
        .wait_for("#auth-submit")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for("#live-indicator.on").await;
    let stored = browser
        .client
        .execute("return sessionStorage.getItem('tintype.apiKey');", vec![])
        .await
        .unwrap();
    assert_eq!(stored, Value::String(key.clone()));

    // With the key the page works: a form submit runs live to the end and is listed.
    submit_from_the_form(&app, &browser).await;
    browser
        .client
        .goto(&format!("{}/#/jobs", app.address))
        .await
        .unwrap();
    browser
        .wait_for("#jobs-table tr[data-id] [data-status='succeeded']")
        .await;
    // A key without `admin` sees why the workers view is empty, not a broken page.
    browser
        .client
        .goto(&format!("{}/#/workers", app.address))
        .await
        .unwrap();
    let error = browser.wait_for("#view-error:not([hidden])").await;
    assert!(error.text().await.unwrap().contains("admin"));
    browser.save_screenshot("dashboard-auth.png").await;
    browser.close().await;
    app.stop().await;
}
