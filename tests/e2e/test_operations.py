"""Issue #7 operations: health and metrics reflect a stopped service, an incident reaches the
operations team (R24), and logs are JSON with correlation ids and no personal data."""

import json
import re
import time
import uuid

import requests

from ops import suite as suite_mod
from tests.e2e.test_processing_journey import command, file_birth, mails_to, official, wait_for


def metric(text: str, name: str, **labels) -> float | None:
    """The sample of ``name`` with exactly these labels in a Prometheus exposition."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        metric_name, _, rest = series.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if metric_name == name and found == {k: str(v) for k, v in labels.items()}:
            return float(value)
    return None


def test_health_metrics_and_incident_follow_a_stopped_service(suite):
    url, env = suite["url"], suite["env"]
    requests.get(f"{suite['api']}/procedures", timeout=10)
    m = requests.get(f"{url}/metrics", timeout=30)
    assert m.status_code == 200 and m.headers["Content-Type"].startswith("text/plain")
    assert metric(m.text, "portal_service_up", service="ministry") == 1
    assert metric(m.text, "portal_dependency_up", dependency="broker") == 1
    assert metric(m.text, "portal_http_requests_total", route="/api/v1/procedures", method="GET", status="200") >= 1
    assert metric(m.text, "portal_rpc_calls_total", service="intake", method="list_procedures") >= 1
    assert metric(m.text, "portal_events_handled", service="processing") is not None
    assert metric(m.text, "portal_parked_messages", service="notification") == 0
    assert metric(m.text, "portal_open_cases_flagged", flag="overdue") is not None

    procs = suite["procs"]
    procs["ministry"].terminate()
    procs["ministry"].wait(timeout=30)
    try:
        health = wait_for(
            lambda: (lambda r: r if r.status_code == 503 else None)(requests.get(f"{url}/health", timeout=30)),
            timeout=30,
        )
        assert health is not None and health.json()["status"] == "degraded"
        assert health.json()["services"]["ministry"]["status"] == "down"
        assert health.json()["services"]["intake"]["status"] == "ok"
        m = requests.get(f"{url}/metrics", timeout=30)
        assert metric(m.text, "portal_service_up", service="ministry") == 0
        assert metric(m.text, "portal_service_up", service="intake") == 1

        ops = env["OPERATIONS_EMAIL"]
        opened = wait_for(
            lambda: [x for x in mails_to(env["MAIL_DIR"], ops) if "[Sự cố] Dịch vụ ministry" in x["Subject"]],
            timeout=45,
            interval=1,
        )
        assert len(opened) == 1, "one incident notice per outage"
    finally:
        procs["ministry"] = suite_mod.start("ministry", env, suite["log_dir"])
    assert wait_for(lambda: requests.get(f"{url}/health", timeout=30).status_code == 200, timeout=60, interval=1)
    resolved = wait_for(
        lambda: [x for x in mails_to(env["MAIL_DIR"], ops) if "[Đã khắc phục] Dịch vụ ministry" in x["Subject"]],
        timeout=45,
        interval=1,
    )
    assert len(resolved) == 1
    assert metric(requests.get(f"{url}/metrics", timeout=30).text, "portal_service_up", service="ministry") == 1


def test_logs_are_json_with_request_ids_and_carry_no_personal_data(suite, citizen):
    api, log_dir = suite["api"], suite["log_dir"]
    profile, auth = citizen
    request_id = f"req-{uuid.uuid4().hex}"
    r = requests.get(f"{api}/me", headers={**auth, "X-Request-Id": request_id}, timeout=10)
    assert r.headers["X-Request-Id"] == request_id
    assert requests.get(f"{api}/procedures", timeout=10).headers["X-Request-Id"]  # one is made when absent

    # A whole journey: filing, reception, a wrong login with the citizen's e-mail, inbox, lookup.
    code = file_birth(api, {**auth, "X-Request-Id": request_id})
    reception = official(api, "off-gr-reception")
    assert wait_for(lambda: requests.get(f"{api}/cases/{code}", headers=reception, timeout=10).status_code == 200)
    command(api, reception, code, "receive")
    requests.post(f"{api}/auth/login", json={"login": profile["email"], "password": "sai-mat-khau"}, timeout=10)
    requests.get(f"{api}/inbox", headers=auth, timeout=10)
    time.sleep(3)  # let the events of the journey be handled and logged

    lines = []
    for path in log_dir.glob("*.log"):
        if path.stem in suite_mod.LOCAL_STAND_INS:
            continue  # the mail sink and payment simulator stand in for outside parties
        text = path.read_text(encoding="utf-8", errors="replace")
        for value in (profile["national_id"], profile["email"], profile["phone"], profile["full_name"]):
            assert value not in text, f"{path.name} contains personal data"
        lines += [(path.stem, json.loads(x)) for x in text.splitlines() if x.startswith("{")]
    assert lines, "services log JSON lines"
    assert all({"ts", "level", "service", "message"} <= set(line) for _, line in lines)
    ours = {(name, line["message"].split(":")[0]) for name, line in lines if line.get("request_id") == request_id}
    # The gateway's request id reaches the service that filed the dossier and the one that opened its case.
    assert ("intake", "dossier filed") in ours
    assert any(name == "processing" and msg.startswith("case opened") for name, msg in ours)
    assert any(line.get("dossier_code") == code for name, line in lines if name == "processing")
