//! HTML templates (minijinja), compiled into the binary with `include_str!` and parsed once at
//! start-up. Auto-escaping is on for every `.html` template.

use minijinja::Environment;
use serde::Serialize;

use crate::error::AppError;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("book.html", include_str!("../templates/book.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("start.html", include_str!("../templates/start.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("account.html", include_str!("../templates/account.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Parses the embedded templates. They are part of the binary, so a syntax error is a bug
    /// caught by the test suite (every page is rendered there), not a run-time condition.
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env.add_filter("rating", |v: f64| format!("{v:.1}"));
        env.add_filter("score", |v: f64| format!("{v:.2}"));
        Templates { env }
    }

    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, AppError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))
    }
}
