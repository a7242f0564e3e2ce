"""Names vulture (the dead-code check in ``make lint``) must not report, each with why.

A name belongs here only when it is used by something vulture cannot see: a framework calling it
(pydantic validators, SQLAlchemy hooks and the ``model_config`` names are ignored in pyproject.toml
instead), a template, JSON output, a metric, or an operator reading it. Code that nothing uses is
deleted, and code only tests use moves to ``tests/fakes`` -- except the entries under "only tests
use these", which wait for the owners of those modules. Regenerate candidates with
``.venv/bin/vulture --make-whitelist``.
"""

# ruff: noqa: B018, F821
# mypy: ignore-errors
from __future__ import annotations

_ = object()

# -- framework entry points -------------------------------------------------------------------------
_.on_partitions_revoked  # aiokafka ConsumerRebalanceListener
_.on_partitions_assigned  # aiokafka ConsumerRebalanceListener
_.format  # logging.Formatter
_.collect  # prometheus_client collector
_.isolation_level  # sqlite3 connection attribute set in the connect hook
_.inherit_cache  # SQLAlchemy reads it on statement classes (huabei_watch/db/upsert.py)
_declares_every_section_a_role_reads  # checked by mypy, never run (huabei_watch/root/settings.py)

# -- read by templates, JSON, metrics or operators ------------------------------------------------------
apply_policy  # consumers/cashier/alipay_params.py: the helper the README offers integrators (cashier section)
NOTIFY_ONLY  # Mode values, built from configuration strings
PINNED_ON
timezone  # daemon.timezone: a documented setting (only Asia/Shanghai)
email  # merchant contact field, part of the registry's import format
trade_no  # fields of the event contract and of Alipay's answers
qr_code
RequestId  # field of Tencent SMS's answer model
sent_at  # delivery record / status page row fields
last_at  # status page row fields, read by status.html.j2
last_ok
last_detail
delivery_counts
calls  # BatchingSms.calls: provider calls made, read by bench/bench_fanout.py (getattr)
broker_restarts
active_anomalies  # detector status fields, exposed to status and metrics readers
all_channels_failing
_.handled  # consumer counters (ops read them; the e2e and drill tests wait on them)
_.dead_lettered
_.unconfirmed  # delivery counters
_.publish_errors
_.fetches  # WeChat OA access-token fetches
_.refused  # admin connection guard counter
_.replays  # payment-results replays skipped
_.outcome_totals  # status history, read by status.html.j2
_.outcome_today
PATH  # the payment-results endpoint's path, for embedders
SOURCE_ADAPTER
listed
pending_events

# -- not this branch's to change (watcher/sources pollers, watcher/notices, migrations: other owners) ----
trigger  # watcher/sources/probes.py
current_version  # huabei_watch/db/migrations.py (replaced by Alembic on the schema branch)
_.delete_closed_before  # consumers/incidents/store.py (schema branch)
create_tables  # consumers/notify/store.py: the test-only table path the schema branch removes

# -- only tests use these: to move to tests/ or delete with their owners -------------------------------
ManualClock  # huabei_watch/clock.py: the test clock, imported by ~40 test modules and the benchmarks
_.recheck_at  # consumers/cashier/reconcile.py
_.pending_delay  # consumers/notify/channels/ratelimit.py
_.dead_letters  # consumers/notify delivery stores
_.counters  # consumers/notify/fanout.py
next_wakeup  # consumers/notify/plan.py
verify_response  # watcher/alipay/sign.py
known_codes  # watcher/payments/diagnosis.py
known_transport_errors
load_probes  # watcher/sources/probe_config.py
observe_all  # watcher/sources/probe_state.py
state_from_event
_.source_known  # watcher/sources/seen.py, seen_model.py
due_groups  # consumers/notify/reservations.py: the SQL store's due-group query as a rule, for the memory store
_.index_reads  # consumers/cashier/reader.py: reads of the access index, for its tests and bench_policy_api
_.index_rows_read
_.model_post_init  # watcher/sources/announce_config.py: called by pydantic after validation
_.requests_in_flight  # watcher/sources/fetch.py: requests holding a deadline, for its tests (no request left behind)

# -- set and read by name (setattr/getattr over CAUSES) ------------------------------------------------
_.missed_not_maintenance  # watcher/notices/evaluate.py: Tally, one counter per cause of a missed window
_.missed_status_only
_.missed_end_differs
_.missed_start_differs
_.missed_another_day
_.missed_nothing_near
_.near_none_date_and_time  # watcher/notices/evaluate.py: Tally, one counter per trace of a window with nothing near
_.near_none_date_only
_.near_none_time_only
_.near_none_neither
