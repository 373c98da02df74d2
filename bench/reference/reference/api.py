"""The HTTP API (FastAPI): the subset of tintype's job API the load tool drives."""
import json
import uuid
from datetime import datetime, timezone

from celery.result import AsyncResult
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from . import config, storage
from .recipe import Recipe
from .worker import app as celery_app
from .worker import process

app = FastAPI(title="tintype Celery reference")

# Celery states as tintype's job statuses. An unknown id is PENDING too: the result backend
# cannot tell "queued" from "never existed", which is how Celery behaves.
_STATUS = {"PENDING": "queued", "RECEIVED": "queued", "RETRY": "queued", "STARTED": "running",
           "SUCCESS": "succeeded", "FAILURE": "failed", "REVOKED": "cancelled"}
_ERROR_CODE = {"InvalidImage": "invalid_image", "ImageTooLarge": "image_too_large",
               "SourceUnavailable": "source_unavailable", "ValidationError": "invalid_recipe"}


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status,
                        media_type="application/problem+json")


def _accepted(job_id: str) -> JSONResponse:
    location = f"/v1/jobs/{job_id}"
    body = {"id": job_id, "status": "queued", "outputs": [], "error": None,
            "links": {"self": location}}
    return JSONResponse(body, status_code=202, headers={"Location": location})


def _store_and_enqueue(job_id: str, data: bytes | None, source: dict | None, recipe: Recipe):
    """Blocking work (boto3, Celery's publish), run in the thread pool."""
    if data is not None:
        key = storage.original_key(job_id)
        storage.client().put_object(Bucket=config.S3_BUCKET, Key=key, Body=data)
        source = {"object": key}
    process.apply_async(args=(job_id, source, recipe.model_dump(exclude={"source"})),
                        task_id=job_id)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/v1/jobs")
async def submit(request: Request):
    content_type = request.headers.get("content-type", "")
    job_id = str(uuid.uuid4())
    try:
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            upload, recipe_text = form.get("file"), form.get("recipe")
            if upload is None or isinstance(upload, str) or recipe_text is None:
                return _problem(400, "bad_request", "multipart needs parts `file` and `recipe`")
            recipe = Recipe.model_validate_json(recipe_text)
            if recipe.source is not None:
                return _problem(400, "bad_request", "`source` is for JSON submits")
            data = await upload.read()
            if len(data) > config.MAX_UPLOAD_BYTES:
                return _problem(413, "payload_too_large", "upload over the limit")
            await run_in_threadpool(_store_and_enqueue, job_id, data, None, recipe)
        elif content_type.startswith("application/json"):
            body = await request.json()
            # tintype's shape is the recipe with `source` inside; {"source", "recipe"} also works.
            if isinstance(body, dict) and isinstance(body.get("recipe"), dict):
                body = {**body["recipe"], "source": body.get("source")}
            recipe = Recipe.model_validate(body)
            if recipe.source is None:
                return _problem(400, "bad_request", "a JSON submit names its image in `source`")
            source = recipe.source.model_dump(exclude_none=True)
            await run_in_threadpool(_store_and_enqueue, job_id, None, source, recipe)
        else:
            return _problem(415, "unsupported_media_type", "send multipart/form-data or JSON")
    except (ValidationError, json.JSONDecodeError) as err:
        return _problem(422, "invalid_recipe", str(err))
    return _accepted(job_id)


def _utc(when) -> str | None:
    """The result backend's date_done (UTC, naive from the database) as RFC 3339."""
    if when is None:
        return None
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@app.get("/v1/jobs/{job_id}")
def get_job(job_id: str):
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise HTTPException(status_code=404, detail="no such job") from None
    result = AsyncResult(job_id, app=celery_app)
    state = result.state
    body = {"id": job_id, "status": _STATUS.get(state, state.lower()), "outputs": [],
            "error": None, "links": {"self": f"/v1/jobs/{job_id}"}}
    if state in ("SUCCESS", "FAILURE", "REVOKED"):
        body["finished_at"] = _utc(result.date_done)
    if state == "SUCCESS":
        body["outputs"] = result.result
    elif state == "FAILURE":
        exc = result.result
        name = type(exc).__name__
        body["error"] = {"code": _ERROR_CODE.get(name, "internal"), "message": str(exc)}
    return body
