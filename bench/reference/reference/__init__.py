"""The Celery reference: tintype's job API done the way a FastAPI + Celery user would."""
