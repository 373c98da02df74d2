//! The binaries that run in containers and what they read from their environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use clap::{CommandFactory, Parser};

/// One binary, or one subcommand of it, as a container runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// `api-gateway` (`serve`).
    Gateway,
    /// `api-gateway migrate`: the compose one-shot and the Kubernetes Job.
    Migrate,
    /// `image-worker` (`serve`), every worker pool.
    Worker,
    /// `scheduler`.
    Scheduler,
}

/// Where a variable is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A clap argument with `env = "..."` in the service's settings.
    Settings,
    /// `tintype_telemetry::init`, which every binary calls first.
    Telemetry,
    /// The OpenTelemetry SDK's standard variables.
    OpenTelemetrySdk,
}

/// One environment variable a service reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// The service refuses to start without it.
    pub required: bool,
    /// The value used when it is unset (`None`: unset means "off" or "derived", see the flag's help).
    pub default: Option<String>,
    /// Who reads it.
    pub source: Source,
}

/// Read by `tintype_telemetry::init` with `std::env::var`, not clap: name and documented default.
const TELEMETRY_VARIABLES: [(&str, &str); 2] =
    [("RUST_LOG", "info"), ("TINTYPE_LOG_FORMAT", "text")];

/// The standard OpenTelemetry variables a deployment may set; the SDK reads them, not our settings.
/// Unset `OTEL_EXPORTER_OTLP_ENDPOINT` means no export. Keep this list to what deployments use.
const OPENTELEMETRY_SDK_VARIABLES: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
];

/// Variables a container must set although the code has a default, each for a reason the code's
/// default cannot know about. (Defaults naming 127.0.0.1 or localhost are caught without a list.)
pub const MUST_SET_IN_CONTAINERS: [(&str, &str); 3] = [
    (
        "TINTYPE_WORKER_CONCURRENCY",
        "the default is the CPU count, which in a container is the host's",
    ),
    (
        "TINTYPE_WORKER_QUEUES",
        "every worker pool names its queues; the default (all) would make the pools identical",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "without it no trace reaches Jaeger",
    ),
];

#[derive(Debug, Parser)]
struct GatewayCli {
    #[command(flatten)]
    settings: api_gateway::Settings,
}

/// Mirrors `Command::Migrate` in crates/api-gateway/src/main.rs.
#[derive(Debug, Parser)]
struct MigrateCli {
    #[command(flatten)]
    database: tintype_db::DatabaseArgs,
    #[command(flatten)]
    storage: tintype_storage::StorageArgs,
}

#[derive(Debug, Parser)]
struct WorkerCli {
    #[command(flatten)]
    settings: image_worker::Settings,
}

#[derive(Debug, Parser)]
struct SchedulerCli {
    #[command(flatten)]
    settings: scheduler::Settings,
}

impl Service {
    /// Every service.
    pub const ALL: [Self; 4] = [Self::Gateway, Self::Migrate, Self::Worker, Self::Scheduler];

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gateway => "api-gateway",
            Self::Migrate => "api-gateway migrate",
            Self::Worker => "image-worker",
            Self::Scheduler => "scheduler",
        }
    }

    /// Which service a container runs, from its image name and its arguments.
    pub fn from_container(image: &str, args: &[String]) -> Option<Self> {
        let repository = image.rsplit('/').next()?.split(':').next()?;
        match repository {
            "api-gateway" if args.first().is_some_and(|a| a == "migrate") => Some(Self::Migrate),
            "api-gateway" => Some(Self::Gateway),
            "image-worker" => Some(Self::Worker),
            "scheduler" => Some(Self::Scheduler),
            _ => None,
        }
    }

    /// Every variable the service reads, keyed by name.
    pub fn variables(self) -> BTreeMap<String, Variable> {
        let command = match self {
            Self::Gateway => GatewayCli::command(),
            Self::Migrate => MigrateCli::command(),
            Self::Worker => WorkerCli::command(),
            Self::Scheduler => SchedulerCli::command(),
        };
        let mut variables = BTreeMap::new();
        for arg in command.get_arguments() {
            let Some(name) = arg.get_env() else { continue };
            let name = name.to_string_lossy().into_owned();
            let default = arg
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned());
            variables.insert(
                name.clone(),
                Variable {
                    name,
                    required: arg.is_required_set(),
                    default,
                    source: Source::Settings,
                },
            );
        }
        for (name, default) in TELEMETRY_VARIABLES {
            variables.insert(
                name.to_owned(),
                Variable {
                    name: name.to_owned(),
                    required: false,
                    default: Some(default.to_owned()),
                    source: Source::Telemetry,
                },
            );
        }
        for name in OPENTELEMETRY_SDK_VARIABLES {
            variables.insert(
                name.to_owned(),
                Variable {
                    name: name.to_owned(),
                    required: false,
                    default: None,
                    source: Source::OpenTelemetrySdk,
                },
            );
        }
        variables
    }

    /// The variable holding the address of the service's HTTP listener, if it has one.
    pub fn listen_variable(self) -> Option<&'static str> {
        match self {
            Self::Gateway => Some("TINTYPE_HTTP_ADDR"),
            Self::Worker | Self::Scheduler => Some("TINTYPE_METRICS_ADDR"),
            Self::Migrate => None,
        }
    }

    /// The port the service listens on when `env` is its environment (the code's default otherwise).
    pub fn listen_port(self, env: &BTreeMap<String, String>) -> Option<u16> {
        let variable = self.listen_variable()?;
        let value = env
            .get(variable)
            .cloned()
            .or_else(|| self.variables().get(variable)?.default.clone())?;
        value.parse::<SocketAddr>().ok().map(|addr| addr.port())
    }
}

impl Variable {
    /// Whether a container must set it: required by the service, a default that only works outside
    /// a container (it names this machine), or listed in [`MUST_SET_IN_CONTAINERS`].
    pub fn must_be_set_in_containers(&self) -> bool {
        self.required
            || self
                .default
                .as_deref()
                .is_some_and(|d| d.contains("127.0.0.1") || d.contains("localhost"))
            || MUST_SET_IN_CONTAINERS
                .iter()
                .any(|(name, _)| *name == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_wrappers_are_valid_clap_commands() {
        GatewayCli::command().debug_assert();
        MigrateCli::command().debug_assert();
        WorkerCli::command().debug_assert();
        SchedulerCli::command().debug_assert();
    }

    #[test]
    fn the_gateway_reads_its_database_url_and_requires_it() {
        let vars = Service::Gateway.variables();
        assert!(vars["DATABASE_URL"].required);
        assert_eq!(
            vars["TINTYPE_HTTP_ADDR"].default.as_deref(),
            Some("0.0.0.0:8080")
        );
        assert!(vars["AMQP_URL"].must_be_set_in_containers());
        // The scheduler's retention deletes objects, so it needs the S3 credentials too.
        assert!(Service::Scheduler.variables()["AWS_ACCESS_KEY_ID"].required);
    }

    #[test]
    fn containers_are_recognised_by_image_and_subcommand() {
        let migrate = ["migrate".to_owned()];
        assert_eq!(
            Service::from_container("registry.example.com/tintype/api-gateway:0.1.0", &migrate),
            Some(Service::Migrate)
        );
        assert_eq!(
            Service::from_container("tintype/api-gateway", &[]),
            Some(Service::Gateway)
        );
        assert_eq!(Service::from_container("postgres:17", &[]), None);
    }
}
