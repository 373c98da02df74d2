//! Scopes and the route table: which scope each route needs.

use actix_web::http::Method;

/// A permission an API key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read jobs, outputs, events, presets, schedules, stats.
    JobsRead,
    /// Submit, cancel, retry and delete jobs; manage schedules.
    JobsWrite,
    /// Everything, including presets, dead letters and workers.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::JobsRead, Scope::JobsWrite, Scope::Admin];

    /// The scope's name on keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobsRead => "jobs:read",
            Self::JobsWrite => "jobs:write",
            Self::Admin => "admin",
        }
    }

    /// Parses a scope name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Whether `granted` covers `needed`: `admin` covers everything, other scopes only themselves.
pub fn allows(granted: &[Scope], needed: Scope) -> bool {
    granted.contains(&Scope::Admin) || granted.contains(&needed)
}

/// The scope a request needs; `None` for public routes (health, metrics, dashboard, API docs,
/// CORS preflights).
pub fn required(method: &Method, path: &str) -> Option<Scope> {
    if *method == Method::OPTIONS {
        return None;
    }
    let rest = path.strip_prefix("/v1/")?;
    let reading = *method == Method::GET || *method == Method::HEAD;
    let resource = rest.split(['/', ':']).next().unwrap_or("");
    Some(match resource {
        "dead-letters" | "workers" | "keys" => Scope::Admin,
        "presets" if !reading => Scope::Admin,
        _ if reading => Scope::JobsRead,
        _ => Scope::JobsWrite,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_documented_scopes() {
        let cases = [
            (Method::GET, "/healthz", None),
            (Method::GET, "/metrics", None),
            (Method::GET, "/", None),
            (Method::GET, "/openapi.json", None),
            (Method::OPTIONS, "/v1/jobs", None),
            (Method::GET, "/v1/jobs", Some(Scope::JobsRead)),
            (Method::GET, "/v1/jobs/x/outputs/a", Some(Scope::JobsRead)),
            (Method::POST, "/v1/jobs", Some(Scope::JobsWrite)),
            (Method::POST, "/v1/jobs:validate", Some(Scope::JobsWrite)),
            (Method::POST, "/v1/jobs/x/cancel", Some(Scope::JobsWrite)),
            (Method::DELETE, "/v1/jobs/x", Some(Scope::JobsWrite)),
            (Method::GET, "/v1/presets", Some(Scope::JobsRead)),
            (Method::PUT, "/v1/presets/thumbs", Some(Scope::Admin)),
            (Method::GET, "/v1/dead-letters", Some(Scope::Admin)),
            (Method::GET, "/v1/workers", Some(Scope::Admin)),
            (Method::POST, "/v1/schedules", Some(Scope::JobsWrite)),
            (Method::GET, "/v1/schedules", Some(Scope::JobsRead)),
            (Method::GET, "/v1/schedules/x/runs", Some(Scope::JobsRead)),
            (Method::PATCH, "/v1/schedules/x", Some(Scope::JobsWrite)),
            (
                Method::POST,
                "/v1/schedules/x/pause",
                Some(Scope::JobsWrite),
            ),
            (
                Method::POST,
                "/v1/schedules/x/resume",
                Some(Scope::JobsWrite),
            ),
            (Method::DELETE, "/v1/schedules/x", Some(Scope::JobsWrite)),
            (Method::GET, "/v1/stats", Some(Scope::JobsRead)),
            (Method::GET, "/v1/queues", Some(Scope::JobsRead)),
            (Method::GET, "/v1/events/stream", Some(Scope::JobsRead)),
            (Method::GET, "/ui/app.js", None),
            (Method::GET, "/ui/config.json", None),
        ];
        for (method, path, scope) in cases {
            assert_eq!(required(&method, path), scope, "{method} {path}");
        }
    }

    #[test]
    fn admin_covers_everything_and_others_only_themselves() {
        assert!(allows(&[Scope::Admin], Scope::JobsWrite));
        assert!(allows(&[Scope::JobsRead], Scope::JobsRead));
        assert!(!allows(&[Scope::JobsRead], Scope::JobsWrite));
        assert!(!allows(&[Scope::JobsWrite], Scope::Admin));
        assert!(!allows(&[], Scope::JobsRead));
    }
}
