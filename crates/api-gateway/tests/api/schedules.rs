//! `/v1/schedules`: create, list, get, update, pause, resume, delete and the run history, with
//! the scheduler firing a schedule into real jobs the worker runs.

use std::time::Duration;

use serde_json::{Value, json};
use tintype_testkit::images;

use crate::helpers::{TestApp, assert_problem, spawn_app};

fn thumbs() -> Value {
    json!({"outputs": [{"name": "thumb", "format": "png", "operations": [{"op": "resize", "width": 8}]}]})
}

async fn create(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/schedules", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn patch(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(format!("{}/v1/schedules/{id}", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn times(schedule: &Value) -> Vec<chrono::DateTime<chrono::Utc>> {
    schedule["next_fire_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn schedules_are_created_listed_updated_paused_resumed_fired_and_deleted() {
    let app = spawn_app().await;
    app.env
        .storage
        .put("library/cat.jpg", images::jpeg(32, 24).into(), "image/jpeg")
        .await
        .unwrap();

    // A nightly cron in Berlin: the API shows the next five fire times to check it by.
    let created = create(
        &app,
        &json!({
            "name": "nightly thumbs",
            "recipe": thumbs(),
            "source": {"object": "library/cat.jpg"},
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "misfire": "skip",
            "metadata": {"team": "catalogue"}
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let nightly: Value = created.json().await.unwrap();
    let id = nightly["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/schedules/{id}"));
    assert_eq!(nightly["misfire"], "skip");
    assert_eq!(nightly["source"]["object"], "library/cat.jpg");
    assert_eq!(nightly["paused"], false);
    let upcoming = times(&nightly);
    assert_eq!(upcoming.len(), 5);
    assert_eq!(
        nightly["next_fire_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        upcoming[0]
    );
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    for t in &upcoming {
        let local = t.with_timezone(&berlin);
        // 02:30 local, or 03:00 on the one night a year that skips 02:30.
        assert!(
            local.format("%H:%M").to_string() == "02:30"
                || local.format("%m-%d %H:%M").to_string().ends_with("03:00"),
            "{local}"
        );
    }
    assert_eq!(
        app.get_json(&format!("/v1/schedules/{id}")).await["name"],
        "nightly thumbs"
    );

    // Update: a new timing starts from now; the other fields stay.
    let updated = patch(&app, &id, &json!({"every": "1s", "name": "every second"})).await;
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["every"], "1s");
    assert_eq!(updated["cron"], Value::Null);
    assert_eq!(updated["misfire"], "skip");
    assert_eq!(updated["metadata"]["team"], "catalogue");
    let upcoming = times(&updated);
    assert_eq!(upcoming[1] - upcoming[0], chrono::TimeDelta::seconds(1));

    // The scheduler fires it into jobs the worker runs; the runs name them.
    let runs = tintype_testkit::eventually(Duration::from_secs(30), "two runs", || async {
        let runs = app.get_json(&format!("/v1/schedules/{id}/runs")).await;
        (runs["items"].as_array()?.len() >= 2).then_some(runs)
    })
    .await;
    let first = &runs["items"][0];
    assert_eq!(first["outcome"], "fired");
    let job_id = first["job_id"].as_str().unwrap().to_owned();
    let job = app.wait_final(&job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["metadata"]["schedule_id"], id.as_str());
    assert_eq!(job["metadata"]["team"], "catalogue");
    let page = app
        .get_json(&format!("/v1/schedules/{id}/runs?limit=1"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = app
        .client
        .get(format!("{}/v1/schedules/{id}/runs", app.address))
        .query(&[("limit", "1"), ("cursor", cursor.as_str())])
        .send()
        .await
        .unwrap();
    let next: Value = next.json().await.unwrap();
    let parse = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert!(parse(next["items"][0]["fire_at"].as_str().unwrap()) < parse(&cursor));

    // Paused, it stops firing; resumed, it goes on.
    let paused = app.post(&format!("/v1/schedules/{id}/pause")).await;
    assert_eq!(paused.status(), 200);
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["next_fire_at"], Value::Null);
    let count = |runs: Value| runs["items"].as_array().unwrap().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = count(
        app.get_json(&format!("/v1/schedules/{id}/runs?limit=500"))
            .await,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = count(
        app.get_json(&format!("/v1/schedules/{id}/runs?limit=500"))
            .await,
    );
    assert_eq!(before, during, "a paused schedule does not fire");
    let resumed: Value = app
        .post(&format!("/v1/schedules/{id}/resume"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["paused"], false);
    assert!(resumed["next_fire_at"].is_string());
    tintype_testkit::eventually(Duration::from_secs(10), "a run after resuming", || async {
        let runs = app
            .get_json(&format!("/v1/schedules/{id}/runs?limit=500"))
            .await;
        (count(runs) > during).then_some(())
    })
    .await;

    let listed = app.get_json("/v1/schedules").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());

    let deleted = app
        .client
        .delete(format!("{}/v1/schedules/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .client
        .get(format!("{}/v1/schedules/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404, "not_found").await;
    // The jobs it made stay.
    assert_eq!(app.get_job(&job_id).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn bad_schedules_are_refused_with_problems_that_say_why() {
    let app = spawn_app().await;
    app.env
        .storage
        .put("library/cat.jpg", images::jpeg(8, 8).into(), "image/jpeg")
        .await
        .unwrap();
    let valid = json!({
        "name": "ok",
        "recipe": thumbs(),
        "source": {"object": "library/cat.jpg"},
        "cron": "0 3 * * *",
    });
    let with = |changes: Value| {
        let mut body = valid.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let cases = [
        (
            with(json!({"cron": "61 * * * *"})),
            400,
            "bad_request",
            "cron",
        ),
        (with(json!({"cron": "* * *"})), 400, "bad_request", "cron"),
        (
            with(json!({"cron": "0 0 30 2 *"})),
            400,
            "bad_request",
            "no future time",
        ),
        (
            with(json!({"timezone": "Mars/Olympus"})),
            400,
            "bad_request",
            "timezone",
        ),
        (
            with(json!({"every": "5m"})),
            400,
            "bad_request",
            "exactly one of",
        ),
        (
            with(json!({"cron": null})),
            400,
            "bad_request",
            "exactly one of",
        ),
        (
            with(json!({"cron": null, "every": "0s"})),
            400,
            "bad_request",
            "every",
        ),
        (
            with(json!({"misfire": "sometimes"})),
            400,
            "bad_request",
            "fire_once",
        ),
        (with(json!({"name": ""})), 400, "bad_request", "name"),
        (
            with(json!({"source": {"url": "http://169.254.169.254/latest/meta-data/"}})),
            422,
            "source_refused",
            "not allowed",
        ),
        (
            with(json!({"source": {"object": "library/missing.jpg"}})),
            422,
            "source_unavailable",
            "no object",
        ),
        (
            with(json!({"source": {}})),
            422,
            "invalid_recipe",
            "exactly one",
        ),
        (
            with(json!({"source": {"url": "ftp://x"}})),
            422,
            "invalid_recipe",
            "http",
        ),
        (
            with(json!({"recipe": {"outputs": [{"name": "a", "format": "bmp9"}]}})),
            422,
            "invalid_recipe",
            "bmp9",
        ),
        (
            with(json!({"recipe": {"preset": "nope"}})),
            422,
            "invalid_recipe",
            "preset",
        ),
    ];
    for (body, status, code, says) in cases {
        let response = create(&app, &body).await;
        let problem = assert_problem(response, status, code).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{body}: {detail}");
    }
    // A URL source needs no object; an interval needs no zone.
    let url = create(
        &app,
        &with(
            json!({"cron": null, "every": "1h", "source": {"url": "https://example.com/cat.jpg"}}),
        ),
    )
    .await;
    assert_eq!(url.status(), 201);
    let url: Value = url.json().await.unwrap();
    let id = url["id"].as_str().unwrap();
    assert_eq!(url["source"]["url"], "https://example.com/cat.jpg");
    assert_eq!(url["timezone"], "UTC");
    // Updates are validated the same way.
    let bad = patch(&app, id, &json!({"timezone": "Nowhere/Else"})).await;
    assert_problem(bad, 400, "bad_request").await;
    let bad = patch(&app, id, &json!({"cron": "nope"})).await;
    assert_problem(bad, 400, "bad_request").await;
    for unknown in ["0190b7d0-0000-7000-8000-000000000000", "not-a-uuid"] {
        let response = app.post(&format!("/v1/schedules/{unknown}/pause")).await;
        assert_problem(response, 404, "not_found").await;
    }
    app.stop().await;
}
