//! The admin listener's route table: every route is added with its path,
//! methods and [`Access`], and the table is what the authentication guard
//! ([`super::guard`]) and its test read.
//!
//! The guard is a layer over the whole router and denies by default: a
//! route is open only when the table says [`Access::Open`] (or
//! [`Access::Metrics`] with the switch off), so a route added later, even
//! one merged past this table, needs the token. The table's test sends
//! every route a request without a token and expects 401 for each one
//! that is not open.

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone who can reach the listener (health checks, the dashboard's
    /// static files).
    Open,
    /// Open unless `[admin_api] metrics_require_token`.
    Metrics,
    /// `Authorization: Bearer <admin token>`.
    Token,
}

/// One route: a path as axum spells it (`{param}` for segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The path.
    pub path: &'static str,
    /// The methods it answers.
    pub methods: Vec<Method>,
    /// Who may call it.
    pub access: Access,
}

/// A router and the table of what it routes.
#[derive(Default)]
pub struct RouteTable {
    router: Router,
    specs: Vec<RouteSpec>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `path` answering `methods` with `route`, callable per `access`.
    pub fn route(
        mut self,
        access: Access,
        path: &'static str,
        methods: &[Method],
        route: MethodRouter,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec {
            path,
            methods: methods.to_vec(),
            access,
        });
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: RouteTable) -> Self {
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    /// The routes so far.
    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    /// The router and the table.
    pub fn into_parts(self) -> (Router, Vec<RouteSpec>) {
        (self.router, self.specs)
    }

    /// The paths callable without a token, given the metrics switch.
    pub fn open_paths(specs: &[RouteSpec], metrics_require_token: bool) -> Vec<&'static str> {
        specs
            .iter()
            .filter(|spec| match spec.access {
                Access::Open => true,
                Access::Metrics => !metrics_require_token,
                Access::Token => false,
            })
            .map(|spec| spec.path)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// Open routes are open, `/metrics` follows the switch, token routes
    /// never are; merged tables keep their rows.
    #[test]
    fn open_paths_follow_access_and_the_switch() {
        let table = RouteTable::new()
            .route(Access::Open, "/healthz", &[Method::GET], get(|| async {}))
            .route(
                Access::Metrics,
                "/metrics",
                &[Method::GET],
                get(|| async {}),
            )
            .merge(RouteTable::new().route(
                Access::Token,
                "/v1/admin/players",
                &[Method::GET],
                get(|| async {}),
            ));
        assert_eq!(table.specs().len(), 3);
        assert_eq!(
            RouteTable::open_paths(table.specs(), false),
            vec!["/healthz", "/metrics"]
        );
        assert_eq!(
            RouteTable::open_paths(table.specs(), true),
            vec!["/healthz"]
        );
    }
}
