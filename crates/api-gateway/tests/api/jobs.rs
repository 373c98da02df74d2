use image::GenericImageView;
use serde_json::Value;
use tintype_testkit::images;

use crate::helpers::spawn_app;

const RECIPE: &str = r#"{
  "operations": [{"op": "resize", "width": 320, "height": 320, "fit": "inside"}],
  "outputs": [
    {"name": "large", "format": "jpeg", "quality": 85},
    {"name": "thumb", "format": "webp", "quality": 80,
     "operations": [{"op": "resize", "width": 64, "height": 64, "fit": "cover"}]},
    {"name": "lossless", "format": "png"}
  ],
  "metadata": {"order": "A-1"}
}"#;

async fn download(app: &crate::helpers::TestApp, output: &Value) -> (String, Vec<u8>) {
    let response = app
        .client
        .get(output["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ctype = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let len: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(len, bytes.len());
    (ctype, bytes)
}

async fn check_job_end_to_end(file: Vec<u8>, mime: &str, source_format: &str) {
    let app = spawn_app().await;
    let response = app.submit(file, mime, RECIPE).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    assert!(location.ends_with(&format!("/v1/jobs/{id}")));
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["source"]["format"], source_format);

    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["metadata"]["order"], "A-1");
    assert!(job["finished_at"].is_string() && job["started_at"].is_string());
    let outputs = job["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3);

    let expected = [
        ("large", "image/jpeg", image::ImageFormat::Jpeg, 320, 240),
        ("thumb", "image/webp", image::ImageFormat::WebP, 64, 64),
        ("lossless", "image/png", image::ImageFormat::Png, 320, 240),
    ];
    for (name, mime, format, w, h) in expected {
        let output = outputs.iter().find(|o| o["name"] == name).unwrap();
        assert_eq!(
            (output["width"].as_u64(), output["height"].as_u64()),
            (Some(w), Some(h)),
            "{output}"
        );
        let (ctype, bytes) = download(&app, output).await;
        assert_eq!(ctype, mime);
        assert_eq!(output["bytes"].as_u64(), Some(bytes.len() as u64));
        let decoded = image::load_from_memory_with_format(&bytes, format).expect("output decodes");
        assert_eq!(decoded.dimensions(), (w as u32, h as u32), "{name}");
    }

    // Exactly one set of outputs, at keys derived from the job and output names.
    let mut keys = app
        .env
        .storage
        .list(&format!("outputs/{id}/"))
        .await
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("outputs/{id}/large.jpg"),
            format!("outputs/{id}/lossless.png"),
            format!("outputs/{id}/thumb.webp"),
        ]
    );

    let events: Value = app
        .client
        .get(format!("{}/v1/jobs/{id}/events", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["queued", "started", "succeeded"]);
    let worker = events["events"][1]["worker_id"].as_str().unwrap();
    assert!(worker.starts_with("test-worker"), "{events}");
    app.stop().await;
}

#[tokio::test]
async fn a_jpeg_goes_through_gateway_worker_and_storage_end_to_end() {
    check_job_end_to_end(images::jpeg(640, 480), "image/jpeg", "jpeg").await;
}

#[tokio::test]
async fn a_png_goes_through_gateway_worker_and_storage_end_to_end() {
    check_job_end_to_end(images::png(640, 480), "image/png", "png").await;
}

#[tokio::test]
async fn an_avif_goes_through_gateway_worker_and_storage_end_to_end() {
    let avif = images::encoded(640, 480, image::ImageFormat::Avif);
    check_job_end_to_end(avif, "image/avif", "avif").await;
}

#[tokio::test]
async fn a_raw_body_with_the_recipe_in_the_query_is_accepted() {
    let app = spawn_app().await;
    let recipe = r#"{"outputs":[{"name":"a","format":"jpeg"}]}"#;
    let response = app
        .client
        .post(format!("{}/v1/jobs", app.address))
        .query(&[("recipe", recipe)])
        .header("content-type", "image/png")
        .body(images::png(50, 40))
        .send()
        .await
        .unwrap();
    let id = crate::helpers::accepted_id(response).await;
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["outputs"][0]["width"], 50);
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness_answer_when_everything_is_up() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body["checks"],
        serde_json::json!({"postgres": "ok", "rabbitmq": "ok", "s3": "ok"})
    );
    app.stop().await;
}
