//! `GET /v1/jobs`: filters, sort order, and keyset pages that stay exact under concurrent inserts.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use shared_protocol::Priority;
use tintype_db::NewJob;
use tintype_testkit::images;
use uuid::Uuid;

use crate::helpers::{Options, TestApp, accepted_id, assert_problem, spawn_app_with};

const QUICK: &str = r#"{"outputs":[{"name":"t","format":"jpeg"}]"#;

fn recipe(priority: &str, metadata: Value) -> String {
    let mut recipe: Value = serde_json::from_str(&format!("{QUICK}}}")).unwrap();
    recipe["priority"] = priority.into();
    recipe["metadata"] = metadata;
    recipe.to_string()
}

fn ids(page: &Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, query: &str) -> Value {
    let response = app
        .client
        .get(format!("{}/v1/jobs?{query}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_filtered_by_status_priority_time_metadata_and_text() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let submit = |priority: &'static str, metadata: Value| {
        let app = &app;
        async move {
            accepted_id(
                app.submit(
                    images::jpeg(8, 8),
                    "image/jpeg",
                    &recipe(priority, metadata),
                )
                .await,
            )
            .await
        }
    };
    let a = submit("high", json!({"order": "A-1", "customer": "ACME Corp"})).await;
    let b = submit("low", json!({"order": "B-2"})).await;
    let c = submit("default", json!({"order": "A-1", "batch": "7"})).await;
    let cancelled = app.post(&format!("/v1/jobs/{b}/cancel")).await;
    assert_eq!(cancelled.status(), 200);

    assert_eq!(
        ids(&list(&app, "").await),
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "order=asc").await),
        [a.as_str(), b.as_str(), c.as_str()]
    );
    assert_eq!(ids(&list(&app, "status=cancelled").await), [b.as_str()]);
    assert_eq!(
        ids(&list(&app, "status=queued").await),
        [c.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "status=queued,cancelled&priority=low").await),
        [b.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "priority=high&priority=default").await),
        [c.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "metadata=order:A-1").await),
        [c.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "metadata=order:A-1&metadata=batch:7").await),
        [c.as_str()]
    );
    assert!(ids(&list(&app, "metadata=order:Z-9").await).is_empty());
    // Text search: metadata text (case-insensitive) and an id prefix.
    assert_eq!(ids(&list(&app, "q=acme").await), [a.as_str()]);
    assert_eq!(
        ids(&list(&app, &format!("q={}", &b[..13])).await),
        [b.as_str()]
    );
    assert!(ids(&list(&app, "q=100%25").await).is_empty());

    // Time range: from b's creation (inclusive) to c's (exclusive).
    let job_b = app.get_json(&format!("/v1/jobs/{b}")).await;
    let job_c = app.get_json(&format!("/v1/jobs/{c}")).await;
    let range = serde_urlencoded::to_string([
        ("created_from", job_b["created_at"].as_str().unwrap()),
        ("created_to", job_c["created_at"].as_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(ids(&list(&app, &range).await), [b.as_str()]);

    // Each item is the full job resource.
    let page = list(&app, "limit=1").await;
    assert_eq!(page["jobs"][0]["status"], "queued");
    assert_eq!(page["jobs"][0]["metadata"]["order"], "A-1");
    assert!(page["next_cursor"].is_string());

    for bad in [
        "status=lost",
        "priority=urgent",
        "limit=0",
        "limit=201",
        "order=random",
        "created_from=last-week",
        "metadata=nocolon",
        "cursor=garbage",
        "q=%00",
        "colour=blue",
    ] {
        let response = app
            .client
            .get(format!("{}/v1/jobs?{bad}", app.address))
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "bad_request").await;
    }
    app.stop().await;
}

/// Inserts a queued job straight into the table (fast enough to race the walk).
async fn insert_job(pool: &sqlx::PgPool) -> Uuid {
    let id = Uuid::now_v7();
    let job = NewJob {
        id,
        priority: Priority::Default,
        recipe: json!({"outputs": [{"name": "t", "format": "jpeg"}]}),
        source_key: Some(format!("originals/{id}")),
        source_url: None,
        source_info: None,
        metadata: json!({}),
        max_attempts: 3,
        timeout_secs: 60,
        trace_id: None,
    };
    let mut tx = pool.begin().await.unwrap();
    tintype_db::jobs::insert(&mut tx, &job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn walking_all_pages_while_jobs_are_inserted_returns_every_existing_job_exactly_once() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let mut existing = HashSet::new();
    for _ in 0..60 {
        existing.insert(insert_job(&app.env.pool).await.to_string());
    }

    for order in ["desc", "asc"] {
        let stop = Arc::new(AtomicBool::new(false));
        let inserter = {
            let pool = app.env.pool.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                // Bounded, so an oldest-first walk (which may see the new rows) has an end.
                let mut added = 0;
                while !stop.load(Ordering::Relaxed) && added < 40 {
                    insert_job(&pool).await;
                    added += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                added
            })
        };
        let mut seen: Vec<String> = Vec::new();
        let mut keys = Vec::new();
        let mut url = format!("{}/v1/jobs?limit=7&order={order}", app.address);
        let mut pages = 0;
        loop {
            let response = app.client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let link = response
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_owned());
            let page: Value = response.json().await.unwrap();
            seen.extend(ids(&page));
            keys.extend(page["jobs"].as_array().unwrap().iter().map(|j| {
                let at = chrono::DateTime::parse_from_rfc3339(j["created_at"].as_str().unwrap());
                (at.unwrap(), j["id"].as_str().unwrap().to_owned())
            }));
            pages += 1;
            // Give the inserter time to land rows between pages.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            match (page["next_cursor"].as_str(), link) {
                (Some(cursor), Some(link)) => {
                    assert!(link.ends_with("; rel=\"next\""), "{link}");
                    assert!(link.contains(&format!("cursor={cursor}")), "{link}");
                    url = link
                        .trim_start_matches('<')
                        .split(">;")
                        .next()
                        .unwrap()
                        .to_owned();
                }
                (None, None) => break,
                other => panic!("next_cursor and Link disagree: {other:?}"),
            }
            assert!(pages < 200, "the walk does not end");
        }
        stop.store(true, Ordering::Relaxed);
        let added = inserter.await.unwrap();
        assert!(added > 0, "nothing was inserted during the walk");

        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order}: a job was listed twice");
        let missing: Vec<&String> = existing.iter().filter(|id| !unique.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "{order}: jobs never listed: {missing:?}"
        );
        assert!(pages >= 60 / 7, "{order}: only {pages} pages");
        // Each page and the walk as a whole follow (created_at, id) in the requested direction.
        let mut sorted = keys.clone();
        sorted.sort();
        if order == "desc" {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{order}: out of order");
        existing.extend(seen);
    }
    app.stop().await;
}
