"""The reference's smoke test, driven by smoke.sh against a running instance.

usage: smoke.py BASE_URL          (env as for run.sh, with the same REFERENCE_S3_PREFIX)
Exits non-zero with a message at the first check that fails.
"""
import io
import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from reference import config, storage  # noqa: E402

base = sys.argv[1].rstrip("/")
W1 = {"operations": [{"op": "resize", "width": 800, "height": 600, "fit": "inside"}],
      "outputs": [{"name": "main", "format": "jpeg", "quality": 85}]}
W3 = {"operations": [{"op": "grayscale"}, {"op": "blur", "sigma": 2}, {"op": "sharpen", "sigma": 1}],
      "outputs": [{"name": "main", "format": "png"}]}


def check(cond, what):
    if not cond:
        sys.exit(f"smoke: FAILED: {what}")
    print(f"smoke: ok: {what}")


def request(method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def multipart(data: bytes, recipe: dict):
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="recipe"\r\n\r\n'.encode()
        + json.dumps(recipe).encode() + b"\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return request("POST", "/v1/jobs", b"".join(parts),
                   {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def submit_json(body: dict):
    return request("POST", "/v1/jobs", json.dumps(body).encode(),
                   {"Content-Type": "application/json"})


def wait_final(job_id, timeout=60):
    seen = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, job = request("GET", f"/v1/jobs/{job_id}")
        if not seen:
            check(status == 200, f"GET job answers 200 ({status})")
        seen.add(job["status"])
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    sys.exit(f"smoke: FAILED: job {job_id} not final after {timeout}s (saw {sorted(seen)})")


def accepted(status, headers, job):
    check(status == 202, f"submit answers 202 ({status}: {job})")
    check(job["status"] == "queued", "a new job is queued")
    check(headers.get("location") == f"/v1/jobs/{job['id']}", "Location names the job")
    return job["id"]


def output_image(job_id, name, ext):
    key = storage.output_key(job_id, name, ext)
    body = storage.client().get_object(Bucket=config.S3_BUCKET, Key=key)["Body"].read()
    return body, Image.open(io.BytesIO(body))


# A photo stand-in: a 2000×1500 JPEG with detail everywhere.
buf = io.BytesIO()
Image.effect_mandelbrot((2000, 1500), (-2.2, -1.2, 1.0, 1.2), 120).convert("RGB").save(
    buf, "JPEG", quality=90)
jpeg = buf.getvalue()

# 1. W1 as an upload.
job_id = w1_id = accepted(*multipart(jpeg, W1))
original = storage.client().head_object(Bucket=config.S3_BUCKET, Key=storage.original_key(job_id))
check(original["ContentLength"] == len(jpeg), "the upload is stored in S3 as the original")
job = wait_final(job_id)
check(job["status"] == "succeeded", f"W1 job succeeded ({job})")
# finished_at is the result backend's date_done, in UTC: the load tool times jobs by it.
done = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
check(abs((datetime.now(timezone.utc) - done).total_seconds()) < 30,
      f"finished_at is a recent UTC time ({job['finished_at']})")
out = job["outputs"]
check(len(out) == 1 and out[0]["name"] == "main" and out[0]["format"] == "jpeg"
      and (out[0]["width"], out[0]["height"]) == (800, 600), f"W1 output listed 800×600 ({out})")
body, im = output_image(job_id, "main", "jpg")
check(im.format == "JPEG" and im.size == (800, 600) and len(body) == out[0]["bytes"],
      f"W1 output in S3 is an 800×600 JPEG of the listed size ({im.format} {im.size})")

# 2. A broken file fails cleanly.
job_id = accepted(*multipart(b"this is not an image" * 50, W1))
job = wait_final(job_id)
check(job["status"] == "failed" and job["error"]["code"] == "invalid_image"
      and job["outputs"] == [], f"a broken file fails with invalid_image ({job})")

# 3. W3 on an object already in the bucket, in the {"source", "recipe"} shape.
job_id = accepted(*submit_json({"source": {"object": storage.original_key(w1_id)}, "recipe": W3}))
job = wait_final(job_id)
check(job["status"] == "succeeded", f"W3 job on a bucket object succeeded ({job})")
body, im = output_image(job_id, "main", "png")
check(im.format == "PNG" and im.mode == "L" and im.size == (2000, 1500),
      f"W3 output in S3 is a 2000×1500 grey PNG ({im.format} {im.mode} {im.size})")


# 4. A URL source in tintype's shape (the recipe with `source` inside), served on loopback.
class Serve(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(jpeg)))
        self.end_headers()
        self.wfile.write(jpeg)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/photo.jpg"
job_id = accepted(*submit_json({**W1, "source": {"url": url}}))
job = wait_final(job_id)
server.shutdown()
check(job["status"] == "succeeded" and (job["outputs"][0]["width"], job["outputs"][0]["height"])
      == (800, 600), f"W1 from a source URL succeeded ({job})")

# 5. Refusals at submit.
status, _, body = submit_json({"source": {"url": url}, "recipe": {"outputs": [{"name": "a", "format": "bmp"}]}})
check(status == 422 and body["code"] == "invalid_recipe", f"an unknown output format is 422 ({status})")
status, _, body = submit_json({"outputs": [{"name": "a", "format": "jpeg"}]})
check(status == 400, f"a JSON submit without a source is 400 ({status})")
status, _, _ = request("GET", "/v1/jobs/not-a-job")
check(status == 404, f"a malformed job id is 404 ({status})")
print("smoke: all checks passed")
