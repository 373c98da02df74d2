# tintype's entry points. `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
export CARGO_BUILD_JOBS ?= 2
CARGO ?= cargo

.PHONY: help deps stack demo demo-stop test test-rust check-deploy bench images lint fmt build clean-demo

help:
	@echo "make demo        start the stack and the services, push real images through them"
	@echo "make demo-stop   stop what make demo started"
	@echo "make test        the whole test suite (starts PostgreSQL, RabbitMQ, SeaweedFS as needed)"
	@echo "make bench       tintype vs the Celery reference, five scenarios, into BENCHMARKS.md (~75 min)"
	@echo "make lint        cargo fmt --check and clippy -D warnings"
	@echo "make images      container images (Docker with BuildKit); see docs/deploy.md"

## System packages and tools the build needs (idempotent).
deps:
	@scripts/deps.sh

## PostgreSQL, RabbitMQ and SeaweedFS up.
stack:
	@scripts/stack.sh up

build: deps
	$(CARGO) build --locked -p api-gateway -p image-worker -p scheduler

demo: deps stack
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

test: deps stack test-rust check-deploy

test-rust:
	@eval "$$(scripts/stack.sh env)"; TINTYPE_TEST_BINARIES_BUILT=1 $(CARGO) test --locked --workspace --no-fail-fast

## tintype beside the Celery reference (bench/reference) through the scenarios of issue 9, written
## into BENCHMARKS.md. Needs a quiet machine; see bench/run.sh for the knobs (BENCH_SOAK_SECS, ...).
bench: deps stack
	@bench/run.sh

## Deployment files: kustomize overlays, KEDA objects, compose, Dockerfiles (tools pinned, in a venv).
## Their consistency with the code is `cargo test -p deploy-check`, part of test-rust.
check-deploy:
	@scripts/check-deploy.sh

## The three images from deploy/Dockerfile, e.g. `make images IMAGE_REGISTRY=registry.example.com/tintype
## IMAGE_TAG=0.1.0`. One BuildKit build: the targets share the compile stage.
IMAGE_REGISTRY ?= tintype
IMAGE_TAG ?= dev
images:
	@command -v docker >/dev/null || { echo "make images: docker is required" >&2; exit 1; }
	@revision="$$(git rev-parse HEAD 2>/dev/null || echo unknown)"; \
	created="$$(date -u +%Y-%m-%dT%H:%M:%SZ)"; \
	for target in api-gateway image-worker scheduler; do \
		DOCKER_BUILDKIT=1 docker build -f deploy/Dockerfile --target "$$target" \
			-t "$(IMAGE_REGISTRY)/$$target:$(IMAGE_TAG)" \
			--build-arg VERSION="$(IMAGE_TAG)" --build-arg REVISION="$$revision" \
			--build-arg CREATED="$$created" . || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
