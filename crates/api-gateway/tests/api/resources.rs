//! Presets, deleting finished jobs, and downloads with caching and byte ranges.

use serde_json::{Value, json};
use tintype_testkit::images;

use crate::helpers::{Options, accepted_id, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn presets_are_stored_validated_and_submitted_by_name_with_overrides() {
    let app = spawn_app().await;
    let url = |path: &str| format!("{}{path}", app.address);
    let thumbs = json!({
        "description": "two thumbnails",
        "recipe": {"outputs": [
            {"name": "small", "format": "png", "operations": [{"op": "resize", "width": 16}]},
            {"name": "tiny", "format": "webp", "operations": [{"op": "resize", "width": 8}]}
        ]}
    });
    let created = app
        .client
        .put(url("/v1/presets/thumbs"))
        .json(&thumbs)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/v1/presets/thumbs");
    let replaced = app
        .client
        .put(url("/v1/presets/thumbs"))
        .json(&thumbs)
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let listed = app.get_json("/v1/presets").await;
    assert_eq!(listed["presets"][0]["name"], "thumbs");
    assert_eq!(listed["presets"][0]["description"], "two thumbnails");

    // Invalid recipes and names are refused with the usual problems.
    let bad_recipe = app
        .client
        .put(url("/v1/presets/broken"))
        .json(&json!({"recipe": {"outputs": [{"name": "a", "format": "bmp9"}]}}))
        .send()
        .await
        .unwrap();
    assert_problem(bad_recipe, 422, "invalid_recipe").await;
    let bad_name = app
        .client
        .put(url("/v1/presets/Not%20Ok"))
        .json(&thumbs)
        .send()
        .await
        .unwrap();
    assert_problem(bad_name, 400, "bad_request").await;

    // Submitted by name, with the priority and metadata laid over the preset.
    let response = app
        .submit(
            images::jpeg(64, 48),
            "image/jpeg",
            r#"{"preset":"thumbs","priority":"high","metadata":{"order":"7"}}"#,
        )
        .await;
    let id = accepted_id(response).await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["priority"], "high");
    assert_eq!(job["metadata"]["order"], "7");
    let mut names: Vec<&str> = job["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["small", "tiny"]);

    let unknown = app
        .submit(images::jpeg(8, 8), "image/jpeg", r#"{"preset":"nope"}"#)
        .await;
    let body = assert_problem(unknown, 422, "invalid_recipe").await;
    assert_eq!(body["field"], "preset");

    let deleted = app
        .client
        .delete(url("/v1/presets/thumbs"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .client
        .get(url("/v1/presets/thumbs"))
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_finished_job_removes_its_objects_and_keeps_the_record() {
    let app = spawn_app().await;
    let id = accepted_id(
        app.submit(
            images::jpeg(64, 48),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"png"},{"name":"b","format":"jpeg"}]}"#,
        )
        .await,
    )
    .await;
    assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    assert_eq!(app.output_keys(&id).await.len(), 2);
    let original = format!("originals/{id}");
    assert_eq!(app.env.storage.list(&original).await.unwrap().len(), 1);
    // A second job, to check that only the deleted job's objects go.
    let other = accepted_id(
        app.submit(
            images::jpeg(8, 8),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"png"}]}"#,
        )
        .await,
    )
    .await;
    app.wait_final(&other).await;

    let url = format!("{}/v1/jobs/{id}", app.address);
    let deleted = app.client.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(deleted["status"], "deleted");
    assert!(app.output_keys(&id).await.is_empty());
    assert!(app.env.storage.list(&original).await.unwrap().is_empty());
    assert_eq!(app.output_keys(&other).await.len(), 1);
    // The record stays; deleting again is harmless; the outputs are gone for good.
    assert_eq!(
        app.get_json(&format!("/v1/jobs/{id}")).await["status"],
        "deleted"
    );
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 200);
    let output = app
        .client
        .get(format!("{url}/outputs/a"))
        .send()
        .await
        .unwrap();
    assert_problem(output, 404, "not_found").await;
    // A deleted job is not failed any more, so it cannot be retried.
    let retry = app.post(&format!("/v1/jobs/{id}/retry")).await;
    assert_problem(retry, 409, "conflict").await;
    let unknown = app
        .client
        .delete(format!("{}/v1/jobs/{}", app.address, uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "not_found").await;
    app.stop().await;
}

#[tokio::test]
async fn a_waiting_job_cannot_be_deleted() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let id = accepted_id(
        app.submit(
            images::jpeg(8, 8),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"png"}]}"#,
        )
        .await,
    )
    .await;
    let response = app
        .client
        .delete(format!("{}/v1/jobs/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "conflict").await;
    app.stop().await;
}

#[tokio::test]
async fn downloads_carry_length_and_etag_and_serve_byte_ranges() {
    let app = spawn_app().await;
    let id = accepted_id(
        app.submit(
            images::jpeg(64, 48),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"png"}]}"#,
        )
        .await,
    )
    .await;
    let job = app.wait_final(&id).await;
    let size = job["outputs"][0]["size"]
        .as_u64()
        .or_else(|| job["outputs"][0]["bytes"].as_u64())
        .unwrap();
    let url = format!("{}/v1/jobs/{id}/outputs/a", app.address);

    let whole = app.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "image/png");
    assert_eq!(whole.headers()["content-length"], size.to_string().as_str());
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let etag = whole.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);

    let cached = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    let part = app
        .client
        .get(&url)
        .header("Range", "bytes=1-8")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1-8/{size}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(1..9));

    let tail = app
        .client
        .get(&url)
        .header("Range", "bytes=-4")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), bytes.slice(bytes.len() - 4..));

    let beyond = app
        .client
        .get(&url)
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_dry_run_probes_the_image_names_the_tripped_limit_and_creates_nothing() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        gateway: |s| s.max_pixels = 1_000,
        ..Default::default()
    })
    .await;
    let validate = |file: Vec<u8>, recipe: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(file)
                    .file_name("a.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            )
            .text("recipe", recipe);
        app.client
            .post(format!("{}/v1/jobs:validate", app.address))
            .multipart(form)
            .send()
    };
    let small: Value = validate(
        images::jpeg(20, 10),
        r#"{"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(small["valid"], true, "{small}");
    assert_eq!(small["source"]["format"], "jpeg");
    assert_eq!(small["source"]["width"], 20);
    assert_eq!(small["source"]["height"], 10);
    assert_eq!(small["source"]["frames"], 1);
    assert!(small["limit"].is_null());
    assert_eq!(small["recipe"]["outputs"][0]["name"], "a");

    let big = validate(
        images::jpeg(64, 48),
        r#"{"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .await
    .unwrap();
    assert_eq!(big.status(), 200);
    let big: Value = big.json().await.unwrap();
    assert_eq!(big["valid"], false);
    assert_eq!(big["source"]["width"], 64);
    assert_eq!(big["limit"]["code"], "image_too_large", "{big}");

    let bad_recipe = validate(images::jpeg(8, 8), r#"{"outputs":[]}"#)
        .await
        .unwrap();
    assert_problem(bad_recipe, 422, "invalid_recipe").await;
    let not_image = validate(
        b"plain text".to_vec(),
        r#"{"outputs":[{"name":"a","format":"png"}]}"#,
    )
    .await
    .unwrap();
    assert_eq!(not_image.status(), 415);

    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(&app.env.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
    assert!(app.env.storage.list("originals/").await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_the_docs_page_serves_it() {
    let app = spawn_app_with(Options {
        worker: false,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let spec = app.get_json("/openapi.json").await;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/v1/jobs",
        "/v1/jobs:validate",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/events",
        "/v1/jobs/{id}/cancel",
        "/v1/jobs/{id}/retry",
        "/v1/jobs/{id}/outputs/{name}",
        "/v1/jobs/{id}/webhooks",
        "/v1/jobs/{id}/webhooks/redeliver",
        "/v1/dead-letters",
        "/v1/workers",
        "/v1/presets",
        "/v1/presets/{name}",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is not in the OpenAPI document"
        );
    }
    // The recipe's bounds are in the contract, and they are the ones the server enforces.
    let recipe = &spec["components"]["schemas"]["Recipe"];
    let limits = shared_protocol::recipe::RecipeLimits::default();
    assert_eq!(
        recipe["properties"]["outputs"]["maxItems"],
        limits.max_outputs
    );
    assert_eq!(recipe["properties"]["outputs"]["minItems"], 1);
    // Operation lists state their bound in words: as `maxItems`, schemathesis' generator recurses
    // through 32 nested operations until CPython's ast module breaks inside it.
    let operations = recipe["properties"]["operations"]["description"]
        .as_str()
        .unwrap();
    assert!(
        operations.contains(&format!("at most {}", limits.max_operations)),
        "{operations}"
    );
    assert_eq!(
        recipe["properties"]["max_attempts"]["maximum"],
        limits.max_attempts
    );
    assert_eq!(
        recipe["properties"]["timeout_secs"]["maximum"],
        limits.max_timeout_secs
    );
    let source = &spec["components"]["schemas"]["Source"]["properties"]["url"];
    assert_eq!(source["maxLength"], limits.max_url_len, "{source}");
    let submit = &spec["paths"]["/v1/jobs"]["post"];
    assert!(submit["requestBody"]["content"]["application/json"].is_object());
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
    let submit = &spec["paths"]["/v1/jobs"]["post"];
    assert!(submit["requestBody"]["content"]["multipart/form-data"].is_object());
    assert!(submit["responses"]["422"]["content"]["application/problem+json"].is_object());
    // The problems every authenticated route shares are listed on each of them.
    for (path, method) in [
        ("/v1/jobs", "post"),
        ("/v1/schedules/{id}", "get"),
        ("/v1/stats", "get"),
    ] {
        for status in ["401", "403", "429", "503"] {
            let problem = &spec["paths"][path][method]["responses"][status]["content"]["application/problem+json"]
                ["schema"];
            assert!(problem.is_object(), "{method} {path} {status}: {problem}");
        }
    }

    let docs = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("tintype"), "{html}");
    app.stop().await;
}
