"""`tokenward monitor`, `tokenward usage` and `tokenward scopes suggest`: usage logs → baselines → alerts."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokenward import gctune
from tokenward.cli.console import EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE, err, user_errors
from tokenward.errors import UsageError

if TYPE_CHECKING:
    from tokenward.store import Inventory
    from tokenward.store.usage import UsageState
    from tokenward.usage.alerts import Alert
    from tokenward.usage.identity import Joiner
    from tokenward.usage.monitor import RunSummary

Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB",
                                        help="Inventory URL (sqlite:///…, postgresql://…) or SQLite file.")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON output.")]
REMOTE = ("s3://",)  # remote_logs.REMOTE_SCHEMES, named here so a local run does not import that module
scopes_app = typer.Typer(help="Least privilege from observed use.", no_args_is_help=True)


@dataclass(frozen=True)
class Opened:
    """The inventory, the usage state in its database, and the identity join over both."""

    inventory: Inventory
    state: UsageState
    joiner: Joiner


@contextmanager
def opened(db: str | None, create: bool = True) -> Iterator[Opened]:
    """Open the inventory and the usage tables (created on first use); create=False: refuse a missing inventory."""
    from tokenward.identity import key_check_value, load_key
    from tokenward.store import Inventory
    from tokenward.store.usage import UsageState
    from tokenward.usage.identity import InventoryDirectory, Joiner

    with Inventory.open(db, create=create) as inventory:
        inventory.check_key(key_check_value(load_key()))
        state = UsageState(inventory.engine)
        joiner = Joiner(InventoryDirectory(inventory), state.idents(), state.token_flags())
        yield Opened(inventory, state, joiner)


def _mapping(pairs: Sequence[str]) -> dict[str, str]:
    from tokenward.usage.parsers.jsonl import mapping_with

    out = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--map wants FIELD=PATH (e.g. at=timestamp), got {pair!r}")
        out[name.strip()] = path.strip()
    try:
        mapping_with(out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return out


def _seconds(text: str) -> float:
    from tokenward.usage.events import duration

    return duration(text, "--grace")


def _check_times(since: str | None, grace: str) -> None:
    """Refuse a bad --since or --grace before any database or log is opened."""
    from tokenward.usage.events import parse_since

    if since is not None:
        parse_since(since)
    _seconds(grace)


def _summary(s: RunSummary, quiet: bool) -> None:
    for f in s.files:
        if f.note or f.malformed or not quiet:
            extra = f", {f.malformed} malformed" if f.malformed else ""
            err.print(f"{f.path}: {f.fmt}, {f.events} events{extra}"
                      f"{', ' + str(f.unattributed) + ' without a token' if f.unattributed else ''}"
                      f"{' — ' + f.note if f.note else ''}", markup=False)
            for line, reason in f.examples[:3]:
                err.print(f"  line {line}: {reason}", markup=False)
    for v in s.violations:
        err.print(f"storage violation: {v.preview} (token {v.token_id[:12]}) {v.detail} — {v.where}", markup=False)
    alerts = ", ".join(f"{n} {sev}" for sev, n in sorted(s.alerts.items())) or "no alerts"
    err.print(f"{s.events} events, {s.malformed} malformed lines, {alerts}, "
              f"{s.unmapped} tokens seen in use but never declared", markup=False)
    _learning(s)


def _learning(s: RunSummary) -> None:
    """Say which checks a young baseline held back (else "no alerts" reads as "nothing unusual")."""
    from tokenward.usage.baseline import DEFAULT_TUNING as T

    if not s.learning:
        return
    err.print(f"{len(s.learning)} token(s) with a baseline still learning (until {T.learn_events} events over "
              f"{T.learn_seconds / 86400:.0f} days) — these checks were held back:", markup=False)
    for t in s.learning[:10]:
        err.print(f"  {t.name} (token {t.token_id[:12]}, {t.events} events since {t.first_seen}): "
                  f"{', '.join(t.held)}", markup=False)
    if len(s.learning) > 10:
        err.print(f"  … and {len(s.learning) - 10} more", markup=False)


def _explain(db: str | None, alert_id: str) -> None:
    with opened(db, create=False) as o:
        found = o.state.alerts(alert_id=alert_id.strip())
    if not found:
        raise UsageError(f"no alert {alert_id!r}")
    if len(found) > 1:
        raise UsageError(f"{alert_id!r} is ambiguous: {', '.join(a.alert_id for a in found[:5])}")
    sys.stdout.write(explain_text(found[0]))


def explain_text(a: Alert) -> str:
    """An alert with the baseline it was judged against and its evidence lines."""
    out = [a.headline(), f"alert     {a.alert_id} at {a.at} (seen {a.count} time(s))", f"expected  {a.expected}",
           f"observed  {a.observed}", "", "baseline at the time:"]
    out += [f"  {k:<22}{json.dumps(v) if not isinstance(v, str) else v}" for k, v in a.baseline.items()]
    out += ["", "evidence:"]
    for e in a.evidence:
        out.append(f"  {e.where}" + (f" ({e.ref})" if e.ref else ""))
        out.append(f"    {e.at}  ip={e.ip or '-'}  status={e.status}  action={e.action or '-'}  "
                   f"agent={(e.agent or '-')[:100]}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class MonitorArgs:
    """The monitor command's options, gathered."""

    logs: tuple[str, ...]
    fmt: str
    follow: bool
    since: str | None
    alerts: tuple[str, ...]
    min_severity: str
    token_field: str | None
    maps: tuple[str, ...]
    provider: str
    honeytokens: tuple[str, ...]
    city_db: str | None
    asn_db: str | None
    grace: str
    vault_addr: str | None
    vault_audit: str
    quiet: bool
    workers: int = 1


def _options(a: MonitorArgs) -> Any:
    """The MonitorOptions of a: how to read the logs (nothing here needs the inventory)."""
    from tokenward.identity import Fingerprinter, load_key
    from tokenward.usage.detectors import DetectSettings
    from tokenward.usage.events import parse_since
    from tokenward.usage.monitor import MonitorOptions
    from tokenward.usage.parsers import FORMATS, ParserOptions

    if a.fmt not in FORMATS:
        raise UsageError(f"unknown --format {a.fmt!r} (choose from {', '.join(FORMATS)})")
    parser = ParserOptions(Fingerprinter(load_key()), a.token_field, _mapping(a.maps), a.provider)
    return MonitorOptions(a.fmt, parser, parse_since(a.since) if a.since else float("-inf"),
                          settings=DetectSettings(grace_seconds=_seconds(a.grace)))


def _build(a: MonitorArgs, o: Opened, options: Any, geo: Any) -> Any:
    """The Monitor over the opened inventory: honeytokens marked, Vault accessors mapped, the alert sinks."""
    from tokenward.store.location import data_dir
    from tokenward.usage.alerts import AlertManager
    from tokenward.usage.monitor import Monitor
    from tokenward.usage.sinks import sink_for

    for h in a.honeytokens:
        o.state.set_token(o.inventory.resolve(h) if len(h) < 64 else h.lower(), honeytoken=True)
    if a.honeytokens:
        o.joiner.flags = o.state.token_flags()
        o.joiner.load()
    if a.vault_addr:
        _vault(a, o.joiner)
    sinks = [sink_for(s, sys.stdout, spool_dir=data_dir() / "spool") for s in a.alerts]
    manager = AlertManager(sinks, o.state.recent_alerts(), a.min_severity)
    return Monitor(o.joiner, manager, o.state, options, geo)


def _crew(a: MonitorArgs, options: Any, geo: Any) -> AbstractContextManager[Any]:
    """A batch run's workers, forked before the inventory is opened (they read ahead while this process
    imports the store and reads the inventory, ~0.4 s); None without --workers or with --follow."""
    if a.follow or a.workers <= 1:
        return nullcontext()
    from tokenward.usage.parallel import early_crew

    return early_crew(list(a.logs), a.workers, options, geo)


def _vault(a: MonitorArgs, joiner: Joiner) -> None:
    from tokenward.usage.vault import AuditHasher, alias_accessors

    token = os.environ.get("BAO_TOKEN") or os.environ.get("VAULT_TOKEN")
    if not token:
        raise UsageError("--vault-addr needs a token in $BAO_TOKEN or $VAULT_TOKEN (allowed sys/audit-hash)")
    n = alias_accessors(joiner, AuditHasher(a.vault_addr or "", token, a.vault_audit))
    err.print(f"mapped {n} Vault accessors to their audit HMACs")


def _run(a: MonitorArgs, db: str | None) -> int:
    """Run over the logs, s3:// prefixes first fetched past their cursor (saved only once the run is done)."""
    from dataclasses import replace

    if not any(p.startswith(REMOTE) for p in a.logs):
        return _run_local(a, db)  # without the object-store clients (their imports cost ~0.1 s of start-up)
    from tokenward.sources.live.remote_logs import fetched_logs, is_remote
    from tokenward.usage import logfiles

    if a.follow and any(is_remote(p) for p in a.logs):
        raise UsageError("--follow reads local files; s3:// prefixes are read once per run (schedule the monitor)")
    with fetched_logs(a.logs, db) as remote:
        logfiles.ALIASES.update(remote.aliases)
        code = _run_local(replace(a, logs=tuple(remote.paths)), db)
        for item in remote.skipped:
            err.print(f"{item.location}: {item.reason}")
        remote.commit(db)
    return EXIT_UNREADABLE if remote.skipped and code == EXIT_CLEAN else code


def _run_local(a: MonitorArgs, db: str | None) -> int:
    from tokenward.usage.geo import Geo

    options, geo = _options(a), Geo(a.city_db, a.asn_db)  # first: a bad option fails before the workers fork
    with _crew(a, options, geo) as crew, opened(db) as o:
        monitor = _build(a, o, options, geo)
        try:
            _replay(monitor.alerts.sinks)
            summary = _read(monitor, a, crew)
        finally:
            monitor.alerts.close()
    _summary(summary, a.quiet)
    undelivered = _delivery(monitor.alerts.sinks)
    if undelivered:
        return EXIT_UNREADABLE  # alerts that reached nobody: the run did not do its job
    if summary.alerts:
        return EXIT_FINDINGS
    return EXIT_UNREADABLE if any(f.unreadable for f in summary.files) else EXIT_CLEAN


def _read(monitor: Any, a: MonitorArgs, crew: Any) -> RunSummary:
    """Read the logs: followed until SIGTERM or Ctrl-C, by the workers, or once by this process."""
    if not a.follow:
        done: RunSummary = crew.run(monitor) if crew else monitor.run(list(a.logs))
        return done
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        summary: RunSummary = monitor.follow(list(a.logs), stop)
    except KeyboardInterrupt:
        stop.set()
        monitor.checkpoint()
        summary = monitor.summary()
    return summary


def _replay(sinks: Sequence[Any]) -> None:
    """Send the alerts earlier runs could not deliver to these webhooks."""
    from tokenward.usage.sinks import WebhookSink, shown_url

    for sink in sinks:
        if isinstance(sink, WebhookSink) and (n := sink.replay()):
            err.print(f"webhook {shown_url(sink.url)}: delivered {n} alert(s) kept from earlier runs", markup=False)


def _delivery(sinks: Sequence[Any]) -> bool:
    """Print a line per webhook that did not take every alert; True when there was one."""
    from tokenward.usage.sinks import WebhookSink

    problems = [p for s in sinks if isinstance(s, WebhookSink) and (p := s.problem())]
    for p in problems:
        err.print(f"error: {p}", markup=False)
    return bool(problems)


def monitor(
    logs: Annotated[list[str] | None, typer.Argument(
        help="Log files or directories (recursive); '-': stdin; s3://BUCKET/PREFIX (its new objects).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="auto|cloudtrail|github-audit|openbao-audit|nginx|jsonl|otel")] = "auto",
    follow: Annotated[bool, typer.Option("--follow", help="Keep reading appended lines, through rotation.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Ignore events before T (ISO time, or 24h, 7d).")] = None,
    alerts: Annotated[list[str] | None, typer.Option(
        "--alerts", help="text | jsonl | webhook:URL | slack:URL (repeatable; default text).")] = None,
    min_severity: Annotated[str, typer.Option("--min-severity", help="critical|high|medium|low")] = "low",
    explain: Annotated[str | None, typer.Option("--explain", help="Explain alert ALERT_ID and exit.")] = None,
    token_field: Annotated[str | None, typer.Option(
        "--token-field", help="Access logs: the field with the token (JSON key, or extra:N for combined).")] = None,
    maps: Annotated[list[str] | None, typer.Option("--map", help="JSON lines: FIELD=PATH (repeatable).")] = None,
    provider: Annotated[str, typer.Option("--provider", help="Provider of tokens in access/JSON logs.")] = "http",
    honeytoken: Annotated[list[str] | None, typer.Option("--honeytoken", help="Mark TOKEN_ID a honeytoken.")] = None,
    city_db: Annotated[str | None, typer.Option("--city-db", help="MaxMind GeoIP2/GeoLite2 City .mmdb.")] = None,
    asn_db: Annotated[str | None, typer.Option("--asn-db", help="MaxMind GeoLite2 ASN .mmdb.")] = None,
    grace: Annotated[str, typer.Option("--grace", help="Use allowed after revocation/rotation (e.g. 1h).")] = "1h",
    vault_addr: Annotated[str | None, typer.Option("--vault-addr", help="OpenBao/Vault to map audit HMACs.")] = None,
    vault_audit: Annotated[str, typer.Option("--vault-audit", help="Audit device path.")] = "file",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only problems in the summary.")] = False,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Processes sharing the tokens (not with --follow).")] = 1,
    db: Db = None,
) -> None:
    """Read usage logs, learn per-token baselines and raise alerts on anomalies.

    Exit codes: 0 no alerts; 1 alerts; 2 usage or configuration error; 3 some inputs unreadable, or alerts a
    webhook did not take (they are kept and sent first by the next run).
    """
    with user_errors():
        if explain:
            _explain(db, explain)
            raise typer.Exit(EXIT_CLEAN)
        if not logs:
            raise UsageError("give at least one LOG (file, directory or '-'), or --explain ALERT_ID")
        if min_severity not in ("critical", "high", "medium", "low"):
            raise UsageError(f"unknown --min-severity {min_severity!r}")
        if workers < 1 or (workers > 1 and follow):
            raise UsageError("--workers must be at least 1, and 1 with --follow")
        _check_times(since, grace)
        args = MonitorArgs(tuple(logs), fmt, follow, since, tuple(alerts or ["text"]), min_severity, token_field,
                           tuple(maps or ()), provider, tuple(honeytoken or ()), city_db, asn_db, grace, vault_addr,
                           vault_audit, quiet, workers)
        # A batch run's start-up builds ~10^5 long-lived objects and its end unpickles the workers' results:
        # no collection there (~50 ms at each end); reading turns it back on (usage.monitor.lazy_gc).
        with gctune.paused(not follow):  # --follow runs for days: it keeps the collector
            code = _run(args, db)
    raise typer.Exit(code)


def _profile_view(token: Any, data: dict[str, Any] | None, alerts: Sequence[Alert]) -> dict[str, Any]:
    from tokenward.usage.baseline import Profile
    from tokenward.usage.events import iso

    view: dict[str, Any] = {"token_id": token.token_id, "preview": token.preview, "public_id": token.public_id,
                            "provider": token.provider, "owner": token.owner, "status": token.status}
    if data is None:
        return {**view, "events": 0}
    p = Profile.from_dict(data)
    days = max((p.last_at - p.first_at) / 86400, 1 / 24)
    ips = sorted(p.ips.items(), key=lambda kv: -kv[1][0])
    return {**view, "events": p.events, "first_seen": iso(p.first_at), "last_seen": iso(p.last_at),
            "rate": {"per_day": round(p.events / days, 1), "per_10min_mean": round(p.mean, 2),
                     "per_10min_peak": round(p.peak, 1)},
            "errors": p.errors, "denied": p.denied,
            "ips": [[ip, r[0], r[1] or "-"] for ip, r in ips[:20]], "networks": _ranked(p.prefixes),
            "countries": _ranked(p.countries), "asns": _ranked(p.asns), "agents": _ranked(p.agents),
            "endpoints": [[str(k), v[0], iso(v[1])] for k, v in sorted(p.actions.items(), key=lambda kv: -kv[1][0])],
            "active_hours_of_week": sum(1 for c in p.how if c), "granted_scopes_seen": p.scopes,
            "alerts": [[a.alert_id, a.severity, a.detector, a.at, a.observed] for a in alerts]}


def _ranked(table: dict[str, Any]) -> list[list[Any]]:
    from tokenward.usage.baseline import counts

    return [[k, v] for k, v in sorted(counts(table).items(), key=lambda kv: -kv[1])]


def _print_view(v: dict[str, Any]) -> None:
    w = sys.stdout.write
    w(f"token     {v['token_id']}\npreview   {v['preview']}" + (f"   public id {v['public_id']}" if v['public_id']
                                                                    else "") + "\n")
    w(f"provider  {v['provider']}   owner {v['owner'] or '-'}   status {v['status']}\n")
    if not v["events"]:
        w("no usage seen\n")
        return
    r = v["rate"]
    w(f"events    {v['events']} from {v['first_seen']} to {v['last_seen']} ({r['per_day']}/day, 10-min mean "
      f"{r['per_10min_mean']}, peak {r['per_10min_peak']}); errors {v['errors']}, denied {v['denied']}\n")
    for title, key, unit in (("countries", "countries", "addresses"), ("networks", "networks", "addresses"),
                             ("ASNs", "asns", "networks"), ("agents", "agents", "requests")):
        one = {"addresses": "address", "networks": "network", "requests": "request"}[unit]
        w(f"{title:<10}" + (", ".join(f"{k} ({n} {unit if n != 1 else one})" for k, n in v[key][:12]) or "-") + "\n")
    w("IPs       " + (", ".join(f"{ip} {cc} ({n})" for ip, n, cc in v["ips"][:12]) or "-") + "\n")
    w(f"endpoints ({len(v['endpoints'])})\n")
    w("".join(f"  {n:>8}  {a}   last {t}\n" for a, n, t in v["endpoints"][:30]))
    w(f"active in {v['active_hours_of_week']} of 168 hours of the week\n")
    if v["alerts"]:
        w("alerts\n" + "".join(f"  {i} {s:<8} {d:<20} {at} {o}\n" for i, s, d, at, o in v["alerts"][:20]))


def _token(o: Opened, token_id: str) -> Any:
    """The credential TOKEN names: a token id (prefix) or a public id such as an AWS access key id; a bare
    access key id token stands for its secret key's token when the inventory holds both (one key pair)."""
    detail = o.inventory.token_detail(o.inventory.find(token_id))
    key_id = dict(detail.public_ids).get("id") if detail.token.kind == "access-key-id" else None
    if key_id and (pair := o.inventory.by_public_id(key_id)) and pair[0] != detail.token.token_id:
        detail = o.inventory.token_detail(pair[0])
    return detail.token


def usage(token_id: Annotated[str, typer.Argument(help="Token id or a unique prefix.")], as_json: AsJson = False,
          db: Db = None) -> None:
    """A token's usage profile: IPs, countries, ASNs, agents, endpoints, rate, alerts."""
    with user_errors(), opened(db, create=False) as o:
        token = _token(o, token_id)
        view = _profile_view(token, o.state.profiles([token.token_id]).get(token.token_id),
                             o.state.alerts(token.token_id))
        if as_json:
            json.dump(view, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            _print_view(view)


@scopes_app.command("suggest")
def scopes_suggest(
    token_id: Annotated[str, typer.Argument(help="Token id or a unique prefix.")],
    granted: Annotated[str | None, typer.Option(
        "--granted", help="Granted scopes/actions, comma-separated (remembered; default: what logs said).")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", min=1, help="Only actions used in the last N days of use.")] = None,
    as_json: AsJson = False, db: Db = None,
) -> None:
    """The minimal scope set from observed use, against what the token was granted."""
    from tokenward.usage.scopes import advise_stored

    with user_errors(), opened(db, create=False) as o:
        token = _token(o, token_id)
        data = o.state.profiles([token.token_id]).get(token.token_id)
        if data is None:
            raise UsageError(f"no usage seen for token {token.token_id[:12]}: run tokenward monitor first")
        if granted is not None:
            o.state.set_token(token.token_id, granted=granted)
        stored = o.state.token_flags().get(token.token_id, (True, False, None))[2]
        grant = [g.strip() for g in (granted or stored or "").split(",") if g.strip()]
        advice = advise_stored(token.token_id, token.provider, data, grant, days)
    if as_json:
        json.dump({**asdict(advice), "over_scoped": advice.over_scoped}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    w = sys.stdout.write
    w(f"token      {token.preview} ({token.token_id[:12]}, {advice.provider})\n")
    w(f"used       {len(advice.used)} actions/endpoints" + (f" in the last {days} days" if days else "") + "\n")
    w(f"granted    {', '.join(advice.granted) or 'unknown (give --granted)'}\n")
    w(f"suggested  {', '.join(advice.suggested) or '-'}\n")
    w(f"remove     {', '.join(advice.unused) or '-'}\n")
    if advice.unmapped:
        w(f"unmapped   {', '.join(advice.unmapped[:10])} (no scope rule: review by hand)\n")
    if advice.policy:
        w("policy\n" + advice.policy + ("" if advice.policy.endswith("\n") else "\n"))
