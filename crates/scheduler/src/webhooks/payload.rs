//! The body of a job webhook, in the Standard Webhooks envelope: `{type, timestamp, data}`.

use serde_json::{Value, json};
use shared_protocol::job::OutputRecord;
use tintype_db::JobRow;

/// Builds the payload for `event` from the job's final record. Download links point at the
/// gateway's public URL when one is configured.
pub fn build(event: &str, job: &JobRow, public_url: Option<&str>) -> Value {
    let outputs: Vec<OutputRecord> =
        serde_json::from_value(job.outputs.clone()).unwrap_or_default();
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "format": o.format,
                "content_type": o.content_type,
                "size": o.bytes,
                "width": o.width,
                "height": o.height,
                "url": public_url.map(|base| format!(
                    "{}/v1/jobs/{}/outputs/{}", base.trim_end_matches('/'), job.id, o.name
                )),
            })
        })
        .collect();
    let error = job.error_code.as_ref().map(
        |code| json!({"code": code, "message": job.error_message.clone().unwrap_or_default()}),
    );
    json!({
        "type": event,
        "timestamp": chrono::Utc::now(),
        "data": {
            "id": job.id,
            "status": job.status,
            "outputs": outputs,
            "error": error,
            "metadata": job.metadata,
            "attempts": job.attempts,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }
    })
}
