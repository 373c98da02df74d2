"""The Celery app and its one task: fetch the original, run Pillow, upload the outputs."""
import urllib.request

from celery import Celery
from kombu import Queue
from PIL import Image, UnidentifiedImageError

from . import config, imaging, storage
from .recipe import Recipe

app = Celery("reference", broker=config.AMQP_URL,
             backend="db+" + config.sqlalchemy_url(config.database_url()))
app.conf.update(
    task_acks_late=True,             # a job is acked only after it ran: a crash requeues it
    worker_prefetch_multiplier=1,    # one unacked message per worker process
    task_track_started=True,         # STARTED is written, so the API can say "running"
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=None,             # keep job state; the benchmark reads it after the run
    task_default_queue=config.QUEUE,
    task_queues=[Queue(config.QUEUE, durable=True)],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if config.CONFIRM_PUBLISH:
    app.conf.broker_transport_options = {"confirm_publish": True}


class InvalidImage(Exception):
    """The bytes are not an image Pillow can read."""


class ImageTooLarge(Exception):
    """Pillow's decompression-bomb guard refused the image."""


class SourceUnavailable(Exception):
    """The source URL or object could not be read."""


def _fetch(source: dict) -> bytes:
    if "object" in source:
        s3 = storage.client()
        try:
            return s3.get_object(Bucket=config.S3_BUCKET, Key=source["object"])["Body"].read()
        except s3.exceptions.NoSuchKey as err:
            raise SourceUnavailable(f"no object {source['object']}") from err
    try:
        with urllib.request.urlopen(source["url"], timeout=config.SOURCE_FETCH_TIMEOUT) as resp:
            data = resp.read(config.MAX_UPLOAD_BYTES + 1)
    except OSError as err:
        raise SourceUnavailable(f"{source['url']}: {err}") from err
    if len(data) > config.MAX_UPLOAD_BYTES:
        raise SourceUnavailable(f"{source['url']}: over {config.MAX_UPLOAD_BYTES} bytes")
    return data


@app.task(name="reference.process", acks_late=True)
def process(job_id: str, source: dict, recipe: dict) -> list:
    """Runs one job; the returned output list is the job's result in the result backend."""
    parsed = Recipe.model_validate(recipe)
    data = _fetch(source)
    try:
        results = imaging.process(data, parsed)
    except Image.DecompressionBombError as err:
        raise ImageTooLarge(str(err)) from None
    except UnidentifiedImageError:
        raise InvalidImage("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as err:
        # Pillow reports truncated and corrupt files as OSError (or SyntaxError from a parser).
        raise InvalidImage(str(err)) from None
    s3 = storage.client()
    outputs = []
    for out, body, content_type, ext, width, height in results:
        s3.put_object(Bucket=config.S3_BUCKET, Key=storage.output_key(job_id, out.name, ext),
                      Body=body, ContentType=content_type)
        outputs.append({"name": out.name, "format": out.format, "width": width,
                        "height": height, "bytes": len(body)})
    return outputs
