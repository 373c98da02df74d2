//! docker-compose.yml, .env.example and every kustomize overlay, checked against the code: the
//! variables each service reads, the ports it listens on, the paths it serves, the queues it
//! consumes and how long it needs to stop. Each test collects every finding before it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use deploy_check::manifests::{self, Overlay, array_at, find, id, keys, pod_spec, str_at};
use deploy_check::routes;
use deploy_check::services::Service;
use serde_json::Value;
use shared_protocol::Priority;
use shared_protocol::topology::Topology;

static OVERLAYS: LazyLock<Vec<Overlay>> =
    LazyLock::new(|| manifests::overlays().expect("rendering the overlays"));
static COMPOSE: LazyLock<Value> =
    LazyLock::new(|| manifests::compose().expect("reading docker-compose.yml"));
static TEMPLATE: LazyLock<Vec<Value>> =
    LazyLock::new(|| manifests::secret_template().expect("reading the Secret template"));

/// Paths the manifests may name before the service serves them, each with the work that adds it.
/// The test fails once the path is served, so the entry is removed then.
const PENDING_PATHS: [(Service, &str, &str); 0] = [];

/// One container of ours, in compose or in a rendered overlay, with its environment resolved.
struct Deployed<'a> {
    /// Where it is declared, for messages.
    place: String,
    service: Service,
    /// Compose service, or the workload object.
    object: &'a Value,
    /// The container (the compose service itself for compose).
    container: &'a Value,
    /// Variables and their values (`None`: from a Secret or the downward API).
    env: BTreeMap<String, Option<String>>,
    /// Names set for this container alone; the rest come from a shared ConfigMap or Secret.
    explicit: BTreeSet<String>,
}

impl Deployed<'_> {
    fn value(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned().flatten().or_else(|| {
            self.service
                .variables()
                .get(name)
                .and_then(|v| v.default.clone())
        })
    }

    fn values(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect()
    }

    fn listen_port(&self) -> Option<u16> {
        self.service.listen_port(&self.values())
    }
}

fn compose_services() -> Vec<Deployed<'static>> {
    let services = COMPOSE["services"].as_object().expect("compose services");
    let mut deployed = Vec::new();
    for (name, svc) in services {
        let command: Vec<String> = match &svc["command"] {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().unwrap_or_default().to_owned())
                .collect(),
            Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let Some(service) = Service::from_container(&str_at(svc, "/image"), &command) else {
            continue;
        };
        let env: BTreeMap<String, Option<String>> = svc["environment"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Some(value))
            })
            .collect();
        deployed.push(Deployed {
            place: format!("docker-compose.yml service {name}"),
            service,
            object: svc,
            container: svc,
            explicit: env.keys().cloned().collect(),
            env,
        });
    }
    deployed
}

/// The Secret `name` as the overlay's cluster has it: rendered, or created from the template.
fn secret<'a>(objects: &'a [Value], name: &str) -> Option<&'a Value> {
    find(objects, "Secret", name).or_else(|| find(&TEMPLATE, "Secret", name))
}

/// Our containers in an overlay; references to missing ConfigMaps, Secrets or keys go to `problems`.
fn k8s_containers<'a>(overlay: &'a Overlay, problems: &mut Vec<String>) -> Vec<Deployed<'a>> {
    let objects = &overlay.objects;
    let mut deployed = Vec::new();
    for object in objects {
        let Some(spec) = pod_spec(object) else {
            continue;
        };
        for container in array_at(spec, "/containers") {
            let args: Vec<String> = array_at(container, "/args")
                .iter()
                .map(|a| a.as_str().unwrap_or_default().to_owned())
                .collect();
            let Some(service) = Service::from_container(&str_at(container, "/image"), &args) else {
                continue;
            };
            let place = format!("{} {}", overlay.name, id(object));
            let mut env = BTreeMap::new();
            for from in array_at(container, "/envFrom") {
                let (kind, name) = if from.get("configMapRef").is_some() {
                    ("ConfigMap", str_at(from, "/configMapRef/name"))
                } else {
                    ("Secret", str_at(from, "/secretRef/name"))
                };
                let source = if kind == "ConfigMap" {
                    find(objects, kind, &name)
                } else {
                    secret(objects, &name)
                };
                match source {
                    Some(source) => env.extend(keys(source)),
                    None => problems.push(format!("{place}: envFrom {kind} {name} does not exist")),
                }
            }
            let mut explicit = BTreeSet::new();
            for var in array_at(container, "/env") {
                let name = str_at(var, "/name").into_owned();
                let value = if let Some(v) = var.get("value") {
                    Some(v.as_str().unwrap_or_default().to_owned())
                } else if let Some(r) = var.pointer("/valueFrom/configMapKeyRef") {
                    let found = find(objects, "ConfigMap", &str_at(r, "/name"))
                        .and_then(|cm| keys(cm).remove(&*str_at(r, "/key")));
                    if found.is_none() {
                        problems.push(format!("{place}: {name} refers to a missing ConfigMap key"));
                    }
                    found.flatten()
                } else if let Some(r) = var.pointer("/valueFrom/secretKeyRef") {
                    let (secret_name, key) = (str_at(r, "/name"), str_at(r, "/key"));
                    if !secret(objects, &secret_name).is_some_and(|s| keys(s).contains_key(&*key)) {
                        problems.push(format!(
                            "{place}: {name} refers to key {key} of Secret {secret_name}, which is \
                             neither rendered nor in k8s/base/secret-template.yaml"
                        ));
                    }
                    None
                } else {
                    None
                };
                env.insert(name.clone(), value);
                explicit.insert(name);
            }
            deployed.push(Deployed {
                place,
                service,
                object,
                container,
                env,
                explicit,
            });
        }
    }
    deployed
}

/// Every place our services run: compose, then each overlay.
fn everywhere(problems: &mut Vec<String>) -> Vec<(String, Vec<Deployed<'static>>)> {
    let mut places = vec![("docker-compose.yml".to_owned(), compose_services())];
    for overlay in OVERLAYS.iter() {
        places.push((
            format!("k8s/overlays/{}", overlay.name),
            k8s_containers(overlay, problems),
        ));
    }
    places
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_variable_a_service_needs_is_set_wherever_it_runs() {
    let mut problems = Vec::new();
    for (place, deployed) in everywhere(&mut problems) {
        let services: BTreeSet<Service> = deployed.iter().map(|d| d.service).collect();
        for service in Service::ALL {
            if !services.contains(&service) {
                problems.push(format!("{place}: nothing runs {}", service.name()));
            }
        }
        for d in &deployed {
            for var in d.service.variables().values() {
                if var.must_be_set_in_containers() && !d.env.contains_key(&var.name) {
                    problems.push(format!("{}: {} is not set", d.place, var.name));
                }
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn every_variable_set_for_a_service_is_one_it_reads() {
    let mut problems = Vec::new();
    for (place, deployed) in everywhere(&mut problems) {
        let read_by_any: BTreeSet<String> = deployed
            .iter()
            .flat_map(|d| d.service.variables().into_keys())
            .collect();
        for d in &deployed {
            let reads = d.service.variables();
            for name in d.env.keys() {
                if d.explicit.contains(name) && !reads.contains_key(name) {
                    problems.push(format!(
                        "{}: sets {name}, which {} does not read",
                        d.place,
                        d.service.name()
                    ));
                } else if !read_by_any.contains(name) {
                    problems.push(format!(
                        "{place}: {name} (shared by {}) is read by no service",
                        d.place
                    ));
                }
            }
        }
    }
    problems.dedup();
    assert_no_problems(&problems);
}

/// Whether `service` serves `path`, or it is a known pending path (which must then still be missing).
async fn check_path(service: Service, path: &str, what: &str, problems: &mut Vec<String>) {
    let served = routes::serves(service, path)
        .await
        .expect("asking the routes");
    let pending = PENDING_PATHS
        .iter()
        .find(|(s, p, _)| *s == service && *p == path);
    match (served, pending) {
        (true, None) | (false, Some(_)) => {}
        (false, None) => problems.push(format!("{what}: {} does not serve {path}", service.name())),
        (true, Some((_, _, why))) => problems.push(format!(
            "{what}: {} serves {path} now; remove it from PENDING_PATHS ({why})",
            service.name()
        )),
    }
}

#[actix_web::test]
async fn probes_ports_and_scrape_targets_name_what_the_services_serve() {
    let mut problems = Vec::new();
    for overlay in OVERLAYS.iter() {
        for d in k8s_containers(overlay, &mut problems) {
            let ports: BTreeMap<String, u16> = array_at(d.container, "/ports")
                .iter()
                .map(|p| {
                    let number = p["containerPort"].as_u64().unwrap_or_default();
                    (
                        str_at(p, "/name").into_owned(),
                        u16::try_from(number).unwrap_or_default(),
                    )
                })
                .collect();
            let listen = d.listen_port();
            let declared: BTreeSet<u16> = ports.values().copied().collect();
            if declared != listen.into_iter().collect() {
                problems.push(format!(
                    "{}: declares ports {declared:?}, but {} listens on {listen:?}",
                    d.place,
                    d.service.name()
                ));
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                let Some(p) = d.container.get(probe) else {
                    continue;
                };
                let Some(check) = p.get("httpGet").or_else(|| p.get("tcpSocket")) else {
                    continue;
                };
                let port = match &check["port"] {
                    Value::String(name) => ports.get(name).copied(),
                    other => other.as_u64().and_then(|n| u16::try_from(n).ok()),
                };
                if port.is_none() || port != listen {
                    problems.push(format!(
                        "{}: {probe} port {} is not the listener's ({listen:?})",
                        d.place, check["port"]
                    ));
                }
                if let Some(path) = check.get("path").and_then(Value::as_str) {
                    check_path(
                        d.service,
                        path,
                        &format!("{} {probe}", d.place),
                        &mut problems,
                    )
                    .await;
                }
            }
            let annotations = &d.object["spec"]["template"]["metadata"]["annotations"];
            if str_at(annotations, "/prometheus.io~1scrape") == "true" {
                let port = str_at(annotations, "/prometheus.io~1port")
                    .parse::<u16>()
                    .ok();
                if port.is_none() || port != listen {
                    problems.push(format!(
                        "{}: prometheus.io/port is not the listener's",
                        d.place
                    ));
                }
                let path = str_at(annotations, "/prometheus.io~1path");
                let path = if path.is_empty() {
                    "/metrics".into()
                } else {
                    path
                };
                check_path(
                    d.service,
                    &path,
                    &format!("{} scrape", d.place),
                    &mut problems,
                )
                .await;
            }
        }
    }

    let compose = compose_services();
    for d in &compose {
        let listen = d.listen_port();
        for port in array_at(d.object, "/ports") {
            let target = port
                .as_str()
                .and_then(|p| p.rsplit(':').next()?.parse::<u16>().ok());
            if target.is_none() || target != listen {
                problems.push(format!(
                    "{}: publishes {port}, but the service listens on {listen:?}",
                    d.place
                ));
            }
        }
        // ["CMD", "/usr/local/bin/healthcheck", VARIABLE, DEFAULT_ADDR, PATH] (deploy/healthcheck.sh).
        let test = array_at(d.object, "/healthcheck/test");
        if test.get(1).and_then(Value::as_str) == Some("/usr/local/bin/healthcheck") {
            let arg = |i: usize| test.get(i).and_then(Value::as_str).unwrap_or_default();
            if Some(arg(2)) != d.service.listen_variable() {
                problems.push(format!(
                    "{}: healthcheck reads {}, not the listen variable",
                    d.place,
                    arg(2)
                ));
            }
            if d.value(arg(2)).as_deref() != Some(arg(3)) {
                problems.push(format!(
                    "{}: healthcheck default {} differs from {}",
                    d.place,
                    arg(3),
                    arg(2)
                ));
            }
            check_path(
                d.service,
                arg(4),
                &format!("{} healthcheck", d.place),
                &mut problems,
            )
            .await;
        }
    }

    let prometheus_path = manifests::repo_root().join("deploy/prometheus/prometheus.yml");
    let prometheus = manifests::parse_documents(&std::fs::read_to_string(prometheus_path).unwrap())
        .unwrap()
        .remove(0);
    for job in array_at(&prometheus, "/scrape_configs") {
        let mut targets: Vec<(String, String)> = Vec::new();
        for sc in array_at(job, "/static_configs") {
            for t in array_at(sc, "/targets") {
                let (host, port) = t
                    .as_str()
                    .and_then(|t| t.split_once(':'))
                    .unwrap_or_default();
                targets.push((host.to_owned(), port.to_owned()));
            }
        }
        for dns in array_at(job, "/dns_sd_configs") {
            for n in array_at(dns, "/names") {
                targets.push((
                    n.as_str().unwrap_or_default().to_owned(),
                    str_at(dns, "/port").into_owned(),
                ));
            }
        }
        let path = str_at(job, "/metrics_path");
        let path = if path.is_empty() {
            "/metrics".into()
        } else {
            path
        };
        let what = format!("prometheus.yml job {}", str_at(job, "/job_name"));
        for (host, port) in targets {
            let Some(d) = compose
                .iter()
                .find(|d| d.place.ends_with(&format!(" {host}")))
            else {
                problems.push(format!("{what}: no compose service {host}"));
                continue;
            };
            if d.listen_port().map(|p| p.to_string()) != Some(port.clone()) {
                problems.push(format!(
                    "{what}: scrapes {host}:{port}, but it listens on {:?}",
                    d.listen_port()
                ));
            }
            check_path(d.service, &path, &what, &mut problems).await;
        }
    }
    problems.dedup();
    assert_no_problems(&problems);
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let simple = match_labels
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = array_at(selector, "/matchExpressions").iter().all(|e| {
        let label = labels
            .get(str_at(e, "/key").as_ref())
            .and_then(Value::as_str);
        let values = array_at(e, "/values");
        match &*str_at(e, "/operator") {
            "In" => label.is_some_and(|l| values.iter().any(|v| v.as_str() == Some(l))),
            "NotIn" => !label.is_some_and(|l| values.iter().any(|v| v.as_str() == Some(l))),
            "Exists" => label.is_some(),
            _ => label.is_none(),
        }
    });
    simple && expressions
}

/// Container ports (name and number) of the pods in `objects` whose labels `selector` matches.
fn selected_ports(objects: &[Value], selector: &Value) -> Vec<(String, u64)> {
    objects
        .iter()
        .filter(|o| pod_spec(o).is_some())
        .filter(|o| labels_match(selector, &o["spec"]["template"]["metadata"]["labels"]))
        .flat_map(|o| array_at(&o["spec"]["template"]["spec"], "/containers").iter())
        .flat_map(|c| array_at(c, "/ports").iter())
        .map(|p| {
            (
                str_at(p, "/name").into_owned(),
                p["containerPort"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn port_in(port: &Value, ports: &[(String, u64)]) -> bool {
    match port {
        Value::String(name) => ports.iter().any(|(n, _)| n == name),
        other => other
            .as_u64()
            .is_some_and(|n| ports.iter().any(|(_, p)| *p == n)),
    }
}

#[test]
fn services_ingresses_and_network_policies_point_at_declared_ports() {
    let mut problems = Vec::new();
    for overlay in OVERLAYS.iter() {
        let objects = &overlay.objects;
        for object in objects {
            let what = format!("{} {}", overlay.name, id(object));
            match &*str_at(object, "/kind") {
                "Service" => {
                    let selector = serde_json::json!({"matchLabels": object["spec"]["selector"]});
                    let ports = selected_ports(objects, &selector);
                    if ports.is_empty() {
                        problems.push(format!("{what}: selects no pod with ports"));
                    }
                    for p in array_at(object, "/spec/ports") {
                        let target = p.get("targetPort").unwrap_or(&p["port"]);
                        if !port_in(target, &ports) {
                            problems
                                .push(format!("{what}: targetPort {target} is no container port"));
                        }
                    }
                }
                "Ingress" => {
                    for path in array_at(object, "/spec/rules")
                        .iter()
                        .flat_map(|r| array_at(r, "/http/paths").iter())
                    {
                        let backend = &path["backend"]["service"];
                        let service = find(objects, "Service", &str_at(backend, "/name"));
                        let port = backend["port"]
                            .get("name")
                            .or_else(|| backend["port"].get("number"));
                        let exists = service.is_some_and(|s| {
                            array_at(s, "/spec/ports").iter().any(|p| {
                                port.is_some_and(|port| {
                                    Some(port) == p.get("name") || Some(port) == p.get("port")
                                })
                            })
                        });
                        if !exists {
                            problems.push(format!("{what}: backend {backend} is no Service port"));
                        }
                    }
                }
                "NetworkPolicy" => {
                    let ports = selected_ports(objects, &object["spec"]["podSelector"]);
                    for rule in array_at(object, "/spec/ingress") {
                        for p in array_at(rule, "/ports") {
                            if !port_in(&p["port"], &ports) {
                                problems.push(format!(
                                    "{what}: port {} is on none of its pods",
                                    p["port"]
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert_no_problems(&problems);
}

fn worker_queues(d: &Deployed<'_>) -> Vec<Priority> {
    d.value("TINTYPE_WORKER_QUEUES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|q| Priority::parse(q.trim()))
        .collect()
}

#[test]
fn the_worker_pools_share_out_every_queue_and_keda_scales_each_on_its_own() {
    let mut problems = Vec::new();
    let mut scaled_somewhere = false;
    for (place, deployed) in everywhere(&mut problems) {
        let workers: Vec<&Deployed<'_>> = deployed
            .iter()
            .filter(|d| d.service == Service::Worker)
            .collect();
        let mut consumed: Vec<Priority> = workers.iter().flat_map(|d| worker_queues(d)).collect();
        consumed.sort_by_key(|p| p.as_str());
        let mut all = Priority::ALL.to_vec();
        all.sort_by_key(|p| p.as_str());
        if consumed != all {
            problems.push(format!(
                "{place}: the worker pools consume {consumed:?}, not each queue once"
            ));
        }
        let Some(overlay) = OVERLAYS.iter().find(|o| place.ends_with(&o.name)) else {
            continue;
        };
        let scaled: Vec<&Value> = overlay
            .objects
            .iter()
            .filter(|o| str_at(o, "/kind") == "ScaledObject")
            .collect();
        if scaled.is_empty() {
            continue;
        }
        scaled_somewhere = true;
        for d in &workers {
            let name = str_at(d.object, "/metadata/name");
            let mine: Vec<&&Value> = scaled
                .iter()
                .filter(|s| str_at(s, "/spec/scaleTargetRef/name") == name)
                .collect();
            let [so] = mine.as_slice() else {
                problems.push(format!(
                    "{}: {} ScaledObjects, want exactly one",
                    d.place,
                    mine.len()
                ));
                continue;
            };
            if d.object["spec"].get("replicas").is_some() {
                problems.push(format!("{}: names replicas, which KEDA owns", d.place));
            }
            if overlay.objects.iter().any(|o| {
                str_at(o, "/kind") == "HorizontalPodAutoscaler"
                    && str_at(o, "/spec/scaleTargetRef/name") == name
            }) {
                problems.push(format!("{}: has an HPA besides KEDA's", d.place));
            }
            let topology = Topology::new(d.value("TINTYPE_AMQP_PREFIX").unwrap_or_default());
            let want: BTreeSet<String> = worker_queues(d)
                .into_iter()
                .map(|p| topology.jobs_queue(p))
                .collect();
            let triggers = array_at(so, "/spec/triggers");
            let got: BTreeSet<String> = triggers
                .iter()
                .map(|t| str_at(t, "/metadata/queueName").into_owned())
                .collect();
            if got != want {
                problems.push(format!(
                    "{}: scales on {got:?} but consumes {want:?}",
                    id(so)
                ));
            }
            let formula = str_at(so, "/spec/advanced/scalingModifiers/formula");
            for t in triggers {
                let trigger = format!("{} trigger {}", id(so), str_at(t, "/name"));
                if str_at(t, "/type") != "rabbitmq" || str_at(t, "/metadata/protocol") != "http" {
                    problems.push(format!(
                        "{trigger}: want type rabbitmq with protocol http (unacked messages count)"
                    ));
                }
                if triggers.len() > 1 && !formula.contains(&*str_at(t, "/name")) {
                    problems.push(format!(
                        "{trigger}: not in scalingModifiers.formula {formula:?}"
                    ));
                }
                let auth = str_at(t, "/authenticationRef/name");
                match find(&overlay.objects, "TriggerAuthentication", &auth) {
                    None => problems.push(format!(
                        "{trigger}: TriggerAuthentication {auth} is not rendered"
                    )),
                    Some(ta) => {
                        for r in array_at(ta, "/spec/secretTargetRef") {
                            let (name, key) = (str_at(r, "/name"), str_at(r, "/key"));
                            if !secret(&overlay.objects, &name)
                                .is_some_and(|s| keys(s).contains_key(&*key))
                            {
                                problems
                                    .push(format!("{}: Secret {name} has no key {key}", id(ta)));
                            }
                        }
                    }
                }
            }
        }
    }
    if !scaled_somewhere {
        problems.push("no overlay renders a KEDA ScaledObject".to_owned());
    }
    assert_no_problems(&problems);
}

/// Seconds of a compose duration such as `180s`, `3m` or `1m30s`.
fn duration_secs(text: &str) -> Option<u64> {
    let (mut total, mut number) = (0, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            let n: u64 = number.parse().ok()?;
            number.clear();
            total += n * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return None,
            };
        }
    }
    number.is_empty().then_some(total)
}

#[test]
fn workers_get_longer_to_stop_than_a_job_may_run() {
    let mut problems = Vec::new();
    for (place, deployed) in everywhere(&mut problems) {
        let Some(gateway) = deployed.iter().find(|d| d.service == Service::Gateway) else {
            continue;
        };
        let timeout: u64 = gateway
            .value("TINTYPE_JOB_TIMEOUT_SECS")
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        for d in deployed.iter().filter(|d| d.service == Service::Worker) {
            let grace: u64 = d
                .value("TINTYPE_SHUTDOWN_GRACE_SECS")
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            let kill_after = if place == "docker-compose.yml" {
                duration_secs(&str_at(d.object, "/stop_grace_period")).unwrap_or(10)
            } else {
                d.object["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
                    .as_u64()
                    .unwrap_or(30)
            };
            if grace <= timeout {
                problems.push(format!(
                    "{}: TINTYPE_SHUTDOWN_GRACE_SECS {grace} does not exceed the job time limit {timeout}",
                    d.place
                ));
            }
            if kill_after <= grace {
                problems.push(format!(
                    "{}: killed after {kill_after} s, before its {grace} s of shutdown grace",
                    d.place
                ));
            }
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn generated_secrets_have_exactly_the_keys_of_the_template() {
    let mut problems = Vec::new();
    for overlay in OVERLAYS.iter() {
        for template in TEMPLATE.iter() {
            let name = str_at(template, "/metadata/name");
            if let Some(rendered) = find(&overlay.objects, "Secret", &name) {
                let want: BTreeSet<String> = keys(template).into_keys().collect();
                let got: BTreeSet<String> = keys(rendered).into_keys().collect();
                if want != got {
                    problems.push(format!(
                        "{}: Secret {name} has keys {got:?}, the template {want:?}",
                        overlay.name
                    ));
                }
            }
        }
    }
    assert_no_problems(&problems);
}

/// The SeaweedFS filer rule that makes it fsync every object before it answers (BENCHMARKS.md:
/// without it a 202 can outlive a power cut that the original does not, and its writeback stalls
/// the database's fsyncs). Every development store we start sets it the same way.
const FSYNC_RULE: &str = "fs.configure -locationPrefix=/buckets/ -fsync -apply";

#[test]
fn every_development_seaweedfs_fsyncs_before_it_answers() {
    let mut problems = Vec::new();
    let stack = std::fs::read_to_string(manifests::repo_root().join("scripts/stack.sh"))
        .expect("reading scripts/stack.sh");
    if !stack.contains(FSYNC_RULE) {
        problems.push(format!("scripts/stack.sh does not set `{FSYNC_RULE}`"));
    }

    let services = &COMPOSE["services"];
    let configure = &services["seaweedfs-configure"];
    let command = array_at(configure, "/command")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if !command.contains(FSYNC_RULE) || !command.contains("weed shell") {
        problems.push(format!(
            "compose: seaweedfs-configure does not run `{FSYNC_RULE}` in `weed shell`: {command:?}"
        ));
    }
    if str_at(configure, "/image") != str_at(&services["seaweedfs"], "/image") {
        problems.push("compose: seaweedfs-configure runs another image than seaweedfs".into());
    }
    let waits = str_at(
        &services["migrate"],
        "/depends_on/seaweedfs-configure/condition",
    );
    if waits != "service_completed_successfully" {
        problems.push(format!(
            "compose: migrate (and so every service) must wait for seaweedfs-configure to finish, \
             not {waits:?}"
        ));
    }

    for overlay in OVERLAYS.iter() {
        let Some(store) = find(&overlay.objects, "StatefulSet", "seaweedfs") else {
            continue;
        };
        let containers = pod_spec(store)
            .map(|p| array_at(p, "/containers"))
            .unwrap_or(&[]);
        let hook = containers
            .iter()
            .flat_map(|c| array_at(c, "/lifecycle/postStart/exec/command"))
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        if !hook.contains(FSYNC_RULE) {
            problems.push(format!(
                "{}: the seaweedfs container's postStart hook does not run `{FSYNC_RULE}`",
                overlay.name
            ));
        }
    }
    assert_no_problems(&problems);
}
