"""The PanDA UI chart: atlas_testbed's public host routes / to the frontend and /api, /ws to the
backend; the backend knows its public URL; the secrets chart provides what it reads."""
import render
from render import Failure, check


@check
def the_ui_host_routes_root_to_the_frontend_and_api_and_ws_to_the_backend(helm4, helm3):
    for helm in (helm4, helm3):
        docs = render.template(helm, "ui", "atlas_testbed")
        routes = {}
        for ing in (d for d in docs if d["kind"] == "Ingress"):
            for rule in ing["spec"]["rules"]:
                for p in rule["http"]["paths"]:
                    routes[(rule["host"], p["path"])] = p["backend"]["service"]["name"]
            assert ing["spec"]["tls"][0]["secretName"] == "test-secrets-ui-tls-certs", ing["spec"]["tls"]
        want = {("panda-ui-tb.cern.ch", "/"): "test-ui-frontend", ("panda-ui-tb.cern.ch", "/api"): "test-ui-backend",
                ("panda-ui-tb.cern.ch", "/ws"): "test-ui-backend-ws"}
        if routes != want:
            raise Failure(f"{helm}: routes {routes}, want {want}")
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        backend = next(d for d in render.workloads(docs) if d["metadata"]["name"] == "test-ui-backend")
        labels = render.pod_spec(backend)[0]["labels"]
        for name in ("test-ui-backend", "test-ui-backend-ws"):
            selector = services[name]["spec"]["selector"]
            assert all(labels.get(k) == v for k, v in selector.items()), f"{name} does not select the backend pods"
        env = {e["name"]: e.get("value") for e in render.pod_spec(backend)[1]["containers"][0]["env"]}
        assert env["PANDAUI_FRONTEND_BASE_URL"] == "https://panda-ui-tb.cern.ch", env
        assert env["PANDAUI_ALLOWED_HOSTS"].split(",")[0] == "panda-ui-tb.cern.ch", env
        assert env["PANDAUI_VO"] == "ATLAS", env


@check
def the_secrets_chart_renders_what_the_ui_reads(helm4, helm3):
    docs = [d for d in render.yaml.safe_load_all(render.run(
        [helm4, "template", "test-secrets", "secrets", "-f", "secrets/ci/test-values.yaml", "--set", "affix=test-"]).stdout) if d]
    names = {d["metadata"]["name"]: d for d in docs}
    env = names["test-secrets-ui-envs"]["stringData"]
    for key in ("PANDAUI_SECRET_KEY", "AUTH_IAM_ENDPOINT", "AUTH_IAM_CLIENT_ID", "AUTH_IAM_CLIENT_SECRET",
                "DB_CONN_PANDAUI_VENDOR", "DB_CONN_PANDAUI_NAME", "DB_CONN_PANDAUI_USER", "DB_CONN_PANDAUI_PASSWORD",
                "DB_CONN_PANDAUI_HOST", "DB_CONN_PANDAUI_PORT", "DB_SCHEMA_PANDAUI", "DB_SCHEMA_PANDA"):
        assert env.get(key), f"ui-envs lacks {key}"
    assert env["PANDA_SERVER_API_URL"] == "https://test-panda-server:443/api/v1", env["PANDA_SERVER_API_URL"]
    assert "test-secrets-ui-certs" in names
    proc = render.run([helm4, "template", "t", "secrets", "-f", "secrets/ci/test-values.yaml", "--set", "ui.iam.clientId="], check=False)
    if proc.returncode == 0 or "ui.iam.clientId" not in proc.stderr:
        raise Failure(f"an enabled UI without an IAM client was accepted:\n{proc.stderr}")
