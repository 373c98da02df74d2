use serde_json::Value;
use tintype_testkit::images;

use crate::helpers::{assert_problem, spawn_app};

const RECIPE: &str = r#"{"outputs":[{"name":"a","format":"jpeg"}]}"#;

#[tokio::test]
async fn bad_input_gets_the_documented_4xx_and_the_services_stay_healthy() {
    let app = spawn_app().await;

    // A text file is not an image.
    let r = app
        .submit(b"hello, this is text\n".repeat(20), "text/plain", RECIPE)
        .await;
    assert_problem(r, 415, "unsupported_media_type").await;

    // A JPEG cut in half is refused at the door.
    let mut truncated = images::jpeg(400, 300);
    truncated.truncate(truncated.len() / 2);
    let r = app.submit(truncated, "image/jpeg", RECIPE).await;
    assert_problem(r, 422, "invalid_image").await;

    // An invalid recipe names the field.
    let r = app
        .submit(
            images::jpeg(10, 10),
            "image/jpeg",
            r#"{"outputs":[{"name":"a","format":"jpeg","quality":101}]}"#,
        )
        .await;
    let body = assert_problem(r, 422, "invalid_recipe").await;
    assert_eq!(body["field"], "outputs[0].quality");
    let r = app
        .submit(images::jpeg(10, 10), "image/jpeg", "not json")
        .await;
    assert_problem(r, 422, "invalid_recipe").await;

    // Oversized uploads are refused (the test gateway allows 2 MiB).
    let r = app
        .submit(vec![0xFF; 3 * 1024 * 1024], "image/jpeg", RECIPE)
        .await;
    assert_problem(r, 413, "payload_too_large").await;

    // A decompression bomb is refused from its header.
    let bomb = images::png(1, 1);
    let mut bomb = bomb;
    // Rewrite the IHDR dimensions to 100000 x 100000 (CRC fixed below).
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let r = app.submit(bomb, "image/png", RECIPE).await;
    assert_problem(r, 422, "image_too_large").await;

    // Missing parts and wrong content types.
    let form = reqwest::multipart::Form::new().text("recipe", RECIPE);
    let r = app
        .client
        .post(format!("{}/v1/jobs", app.address))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, "bad_request").await;
    let r = app
        .client
        .post(format!("{}/v1/jobs", app.address))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    // A JSON submit is a recipe naming its source; this one has no outputs.
    assert_problem(r, 422, "invalid_recipe").await;
    let r = app
        .client
        .post(format!("{}/v1/jobs", app.address))
        .header("content-type", "text/plain")
        .body("a cat, please")
        .send()
        .await
        .unwrap();
    assert_problem(r, 415, "unsupported_media_type").await;

    // Unknown jobs are 404, never "pending".
    let r = app.get_job(&uuid::Uuid::now_v7().to_string()).await;
    assert_problem(r, 404, "not_found").await;
    let r = app.get_job("not-a-uuid").await;
    assert_problem(r, 404, "not_found").await;
    let r = app
        .client
        .get(format!("{}/v1/nothing", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;

    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // Still processing good jobs after all that.
    let r = app.submit(images::jpeg(30, 20), "image/jpeg", RECIPE).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.wait_final(&id).await["status"], "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn a_job_whose_image_fails_to_decode_ends_failed_with_a_reason() {
    let app = spawn_app().await;
    // Headers and end marker intact, scan data garbage: passes the probe, fails the decode.
    let mut corrupt = images::png(64, 64);
    let idat = corrupt.windows(4).position(|w| w == b"IDAT").unwrap();
    for b in &mut corrupt[idat + 4..idat + 40] {
        *b = 0x5A;
    }
    let r = app.submit(corrupt, "image/png", RECIPE).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = app.wait_final(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "invalid_image", "{job}");
    assert!(!job["error"]["message"].as_str().unwrap().is_empty());
    assert_eq!(job["attempts"], 1, "a broken image is not retried");
    assert!(
        app.env
            .storage
            .list(&format!("outputs/{id}/"))
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
