"""Operating an app: Prometheus metrics, the admin page, structured logs and traces.

See docs/operate.md. Metrics need the `metrics` extra (`prometheus-client`), traces the
`tracing` extra (OpenTelemetry).
"""

from ._admin import ADMIN_DIR, ADMIN_TEMPLATE, admin_builder, list_sessions, notify_pages
from ._extension import ADMIN_PATH, METRICS_PATH, TOKEN_ENV, Ops, ops_extension
from ._logs import ERRORS, JsonFormatter, LogFormat, configure_logging, redact
from ._metrics import ADMIN_REASON, Metrics, metrics, prometheus_available

__all__ = ["ADMIN_DIR", "ADMIN_PATH", "ADMIN_REASON", "ADMIN_TEMPLATE", "ERRORS", "METRICS_PATH",
           "TOKEN_ENV", "JsonFormatter", "LogFormat", "Metrics", "Ops", "admin_builder",
           "configure_logging", "list_sessions", "metrics", "notify_pages", "ops_extension",
           "prometheus_available", "redact"]
