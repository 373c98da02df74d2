# tintype's entry points. `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
export CARGO_BUILD_JOBS ?= 2
CARGO ?= cargo

.PHONY: help deps stack demo demo-stop test test-rust check-deploy lint fmt build clean-demo

help:
	@echo "make demo        start the stack and the services, push real images through them"
	@echo "make demo-stop   stop what make demo started"
	@echo "make test        the whole test suite (starts PostgreSQL, RabbitMQ, SeaweedFS as needed)"
	@echo "make lint        cargo fmt --check and clippy -D warnings"

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
	@eval "$$(scripts/stack.sh env)"; $(CARGO) test --locked --workspace --no-fail-fast

check-deploy:
	@scripts/check-deploy.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
