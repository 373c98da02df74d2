//! Against the real S3-compatible store (SeaweedFS from `scripts/stack.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use tintype_storage::{Storage, StorageError};
use tintype_testkit::TestEnv;

#[tokio::test]
async fn objects_round_trip_with_path_style_and_checksums_when_required() {
    let env = TestEnv::new().await;
    let storage = &env.storage;
    storage
        .ensure_bucket()
        .await
        .expect("creating an existing bucket is fine");
    storage
        .put("outputs/a/x.jpg", Bytes::from_static(b"one"), "image/jpeg")
        .await
        .unwrap();
    storage
        .put("outputs/a/y.png", Bytes::from_static(b"two"), "image/png")
        .await
        .unwrap();
    storage
        .put(
            "outputs/a/x.jpg",
            Bytes::from_static(b"three"),
            "image/jpeg",
        )
        .await
        .unwrap();
    assert_eq!(
        storage.get("outputs/a/x.jpg", 100).await.unwrap(),
        Bytes::from_static(b"three")
    );
    let mut keys = storage.list("outputs/a/").await.unwrap();
    keys.sort();
    assert_eq!(keys, ["outputs/a/x.jpg", "outputs/a/y.png"]);
    let stream = storage.stream("outputs/a/y.png").await.unwrap();
    assert_eq!(stream.content_type.as_deref(), Some("image/png"));
    assert_eq!(stream.content_length, Some(3));
    storage.delete("outputs/a/y.png").await.unwrap();
    assert!(matches!(
        storage.get("outputs/a/y.png", 100).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        storage.get("outputs/a/x.jpg", 2).await,
        Err(StorageError::TooLarge { .. })
    ));
    storage.check().await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_not_retried() {
    let env = TestEnv::new().await;
    let mut config = env.storage_config.clone();
    config.secret_access_key = "definitely-wrong".into();
    let storage = Storage::new(&config);
    let err = storage
        .put("k", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Denied { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_unreachable_store_is_a_transient_error() {
    let env = TestEnv::new().await;
    let mut config = env.storage_config.clone();
    config.endpoint = Some("http://127.0.0.1:1".into());
    let err = Storage::new(&config).check().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
