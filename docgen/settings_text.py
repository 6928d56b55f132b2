"""What each setting means, in the words an operator reads in the configuration reference.

Keyed by environment variable. The generated reference takes the name, type, default and secrecy from
the settings model and the sentence from here (or from the field's own ``description`` when this table
has none); a test fails when a setting has neither, or when this table names a setting that no longer
exists.
"""

from __future__ import annotations

TEXT: dict[str, str] = {
    "SSC_ENVIRONMENT": "which `email_id` column of the routing file is used (one HubSpot portal each)",
    "SSC_ROUTING_FILE": (
        "the routing file: event types → e-mails ([format](../events/routing.md)); the default, the "
        "demo's, is accepted only for `dev`"
    ),
    "SSC_CONFIG_FILE": "optional YAML settings file, the same as `--config FILE`",
    "SSC_KAFKA__BOOTSTRAP_SERVERS": "comma-separated `host:port` list",
    "SSC_KAFKA__TOPICS": 'source topics; in a variable a JSON list, e.g. `["a","b"]`',
    "SSC_KAFKA__TOPIC_PATTERN": "regular expression; when set, subscribe by pattern instead of `topics`",
    "SSC_KAFKA__GROUP_ID": "consumer group (one per environment)",
    "SSC_KAFKA__GROUP_INSTANCE_ID": "static group membership, e.g. the pod name: a restarted pod gets its "
    "partitions back without a rebalance",
    "SSC_KAFKA__CLIENT_ID": "client id in broker logs and quotas",
    "SSC_KAFKA__AUTO_OFFSET_RESET": "where a group without committed offsets starts",
    "SSC_KAFKA__SESSION_TIMEOUT_MS": "group session timeout",
    "SSC_KAFKA__HEARTBEAT_INTERVAL_MS": "heartbeat interval",
    "SSC_KAFKA__MAX_POLL_INTERVAL_MS": "maximum time between polls; the member keeps polling even while "
    "paused, so this is never hit",
    "SSC_KAFKA__REBALANCE_TIMEOUT_MS": "how long a rebalance waits for members (unset: the session timeout); "
    "must exceed `SSC_ENGINE__REVOKE_WAIT_S`",
    "SSC_KAFKA__MAX_POLL_RECORDS": "records per fetch call",
    "SSC_KAFKA__FETCH_MAX_WAIT_MS": "how long the broker may hold a fetch waiting for data",
    "SSC_KAFKA__REQUEST_TIMEOUT_MS": "Kafka request timeout",
    "SSC_KAFKA__SECURITY__PROTOCOL": "how the clients talk to the brokers (TLS and/or SASL)",
    "SSC_KAFKA__SECURITY__SASL_MECHANISM": "SASL mechanism; required with a `SASL_*` protocol",
    "SSC_KAFKA__SECURITY__SASL_USERNAME": "SASL user; required with a `SASL_*` protocol",
    "SSC_KAFKA__SECURITY__SASL_PASSWORD": "SASL password",
    "SSC_KAFKA__SECURITY__SASL_PASSWORD_FILE": "file holding the SASL password (a mounted secret)",
    "SSC_KAFKA__SECURITY__SSL_CAFILE": "CA bundle to trust (TLS)",
    "SSC_KAFKA__SECURITY__SSL_CERTFILE": "client certificate (mutual TLS)",
    "SSC_KAFKA__SECURITY__SSL_KEYFILE": "client key (mutual TLS)",
    "SSC_KAFKA__SECURITY__SSL_CHECK_HOSTNAME": "verify the broker's host name against its certificate",
    "SSC_DLQ__TOPIC": "one fixed dead-letter topic for every source topic; unset: `<source topic><suffix>`",
    "SSC_DLQ__SUFFIX": "dead-letter topic suffix",
    "SSC_DLQ__SEND_TIMEOUT_S": "one dead-letter write attempt; a failed write is retried until acknowledged",
    "SSC_HUBSPOT__BASE_URL": "HubSpot API base URL; point it at the simulator for local work. `https://`, "
    "or `http://` to a loopback host (other hosts need `SSC_HUBSPOT__ALLOW_INSECURE_HTTP`)",
    "SSC_HUBSPOT__API_VERSION": "one of the versions HubSpot publishes: `v3`, `2026-03`, `2026-09`; "
    "another is refused at start ([upgrading](../deploying/upgrading.md))",
    "SSC_HUBSPOT__CONNECT_TIMEOUT_S": "connect timeout per request",
    "SSC_HUBSPOT__READ_TIMEOUT_S": "longest silence while reading an answer (a send that times out is "
    "retried with the same `sendId`)",
    "SSC_HUBSPOT__ATTEMPT_TIMEOUT_S": "deadline of one attempt as a whole: DNS, the wait for a pooled "
    "connection, connect, TLS, the request and the complete answer",
    "SSC_HUBSPOT__USE_ENV_PROXY": "send through the proxy of `HTTPS_PROXY` / `HTTP_PROXY`, except hosts in "
    "`NO_PROXY` ([egress](../hubspot/answers.md#network-and-egress)); never for a loopback base URL",
    "SSC_HUBSPOT__ALLOW_INSECURE_HTTP": "allow an `http://` base URL or token URL to a host that is not "
    "loopback (a simulator inside a private network); off, such a URL is refused at start",
    "SSC_HUBSPOT__PORTAL_ID": "the hub id of the portal this environment must send from: a credential "
    "of another portal (or without the `transactional-email` scope) pauses instead of sending "
    "([portal guard](../hubspot/authentication.md#the-portal-guard)); unset: no guard",
    "SSC_HUBSPOT__PORTAL_UNKNOWN": "`pause` or `send` when HubSpot cannot tell a credential's portal "
    "(e.g. a service key its access-token information endpoint does not know; unverified)",
    "SSC_HUBSPOT__PORTAL_TIMEZONE": "the portal's IANA time zone (HubSpot account settings): a `DAILY` "
    "429 without `Retry-After` pauses until midnight there",
    "SSC_HUBSPOT__AUTH__MODE": "`token` (private-app access token or service key), `oauth`, or the legacy "
    "`hapikey` ([choosing](../hubspot/authentication.md))",
    "SSC_HUBSPOT__AUTH__TOKEN": "bearer token: private-app access token or service key",
    "SSC_HUBSPOT__AUTH__TOKEN_FILE": "file holding the token; re-read after a 401 and before every probe, "
    "so a rotated secret needs no restart (wins over the variable)",
    "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_ID": "OAuth app client id",
    "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET": "OAuth app client secret",
    "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET_FILE": "file holding the OAuth client secret",
    "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN": "OAuth refresh token from the one-time install",
    "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN_FILE": "file holding the OAuth refresh token",
    "SSC_HUBSPOT__AUTH__OAUTH_TOKEN_PATH": "token endpoint: `/oauth/v3/token`, the dated "
    "`/oauth/2026-03/token`, the deprecated `/oauth/v1/token` (until 2027-02-16) or an absolute URL",
    "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_MARGIN_S": "refresh the access token this long before `expires_in` "
    "runs out",
    "SSC_HUBSPOT__AUTH__HAPIKEY": "legacy portal API key (sunset by HubSpot in 2022; warns at start)",
    "SSC_HUBSPOT__AUTH__HAPIKEY_FILE": "file holding the legacy API key",
    "SSC_HUBSPOT__RETRY__INITIAL_BACKOFF_S": "backoff before the first retry",
    "SSC_HUBSPOT__RETRY__MAX_BACKOFF_S": "backoff cap (the backoff doubles up to it)",
    "SSC_HUBSPOT__RETRY__JITTER": "full jitter: sleep `uniform(0, backoff)`",
    "SSC_HUBSPOT__RETRY__BUDGET_S": "stop retrying one request this long after its first transient failure "
    "(the engine then pauses; it never dead-letters it); rate limiting does not spend it",
    "SSC_HUBSPOT__RETRY__MAX_RETRY_AFTER_S": "cap on a `Retry-After` the client honours",
    "SSC_HUBSPOT__RATE_LIMIT__REQUESTS_PER_INTERVAL": "HubSpot request budget per credential and interval",
    "SSC_HUBSPOT__RATE_LIMIT__INTERVAL_MS": "the budget's rolling window",
    "SSC_HUBSPOT__RATE_LIMIT__REPLICA_SHARE": "static share of the budget for this replica (`1/replicas`)",
    "SSC_HUBSPOT__RATE_LIMIT__ADAPT_FROM_HEADERS": "follow HubSpot's `X-HubSpot-RateLimit-*` headers (they "
    "count the whole app, every replica)",
    "SSC_HUBSPOT__RATE_LIMIT__WINDOW_GUARD_RATIO": "count a send this much longer than the interval (clock "
    "skew between us and HubSpot)",
    "SSC_HUBSPOT__RATE_LIMIT__NO_RETRY_AFTER_PAUSE_S": "optional full stop of every sender after a 429 "
    "without `Retry-After` when the window is full (0: the rate is only capped)",
    "SSC_DECODE__MAX_BYTES": "larger records (value + CloudEvents headers) are dead-lettered as `oversize`",
    "SSC_DECODE__MAX_DEPTH": "deeper JSON is dead-lettered as `too_deep` (checked before parsing)",
    "SSC_ENGINE__MAX_IN_FLIGHT": "records in flight at once (and HTTP connections)",
    "SSC_ENGINE__ORDERING": "`key`: same key in offset order; `partition`: strict order per partition; "
    "`unordered` ([ordering](../concepts/how-it-works.md#ordering))",
    "SSC_ENGINE__PARTITION_WINDOW": "uncommitted records per partition before the partition is paused",
    "SSC_ENGINE__COMMIT_EVERY": "commit after this many completions (or every `COMMIT_INTERVAL_MS`)",
    "SSC_ENGINE__COMMIT_INTERVAL_MS": "commit at least this often (or every `COMMIT_EVERY` completions)",
    "SSC_ENGINE__REVOKE_WAIT_S": "on revocation, wait this long for the revoked partitions' in-flight sends",
    "SSC_ENGINE__DRAIN_DEADLINE_S": "on SIGTERM, wait this long for in-flight sends (keep the pod's grace "
    "period ≥ this + 15 s)",
    "SSC_ENGINE__TRANSIENT_FAILURES_TO_OPEN": "consecutive RETRY-class attempts that open the transient "
    "breaker (pause the pipeline)",
    "SSC_ENGINE__PROBE_INTERVAL_S": "first probe delay while paused (at least the answer's `Retry-After`)",
    "SSC_ENGINE__MAX_PROBE_INTERVAL_S": "the probe delay doubles up to this",
    "SSC_ENGINE__MASS_DLQ_WINDOW": "mass-DLQ breaker: the last records (in dispatch order) its ratio is "
    "taken over",
    "SSC_ENGINE__MASS_DLQ_RATIO": "mass-DLQ breaker: opens above this share of configuration-class "
    "failures in the window",
    "SSC_ENGINE__MASS_DLQ_CONSECUTIVE": "mass-DLQ breaker: opens on this many configuration-class failures "
    "in a row",
    "SSC_ENGINE__MASS_DLQ_MIN_EVENTS": "mass-DLQ breaker: stays closed until this many records were "
    "dispatched",
    "SSC_OBSERVABILITY__HOST": "address of `/metrics`, `/healthz` and `/readyz`",
    "SSC_OBSERVABILITY__PORT": "port of `/metrics`, `/healthz` and `/readyz` (`0`: a free port)",
    "SSC_OBSERVABILITY__LOG_LEVEL": "log level; `DEBUG` adds one line per sent record",
    "SSC_OBSERVABILITY__LOG_FORMAT": "`json` lines, or `console` for humans",
}
