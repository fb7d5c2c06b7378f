"""``make demo``: a clickable install flow on one machine, no Slack account needed.

It migrates the demo database (SQLite ``demo.sqlite3`` unless ``DATABASE_URL`` is
set), creates a superuser and prints its login, creates two demo Slack apps (one of
them with Sign in with Slack),
starts a fake Slack on a thread of this process and the Django dev server as a
child process pointed at it, and prints the URL and an app configuration token of
the fake Slack (add it in the admin, then "Create on Slack" a third app). Background
work (``slack_installs.tasks``, e.g. ``manage.py slack_installs_refresh_tokens --enqueue``)
goes to django-tasks-db's database backend, whose worker (``manage.py db_worker``) runs
as another child process. Ctrl-C stops them all.

Environment (all optional):
  DEMO_HOST / DEMO_PORT              the site (default 127.0.0.1:8000)
  FAKE_SLACK_PORT                    the fake Slack (default 8765, on DEMO_HOST)
  DEMO_ADMIN_USER                    the superuser (default "admin")
  DEMO_ADMIN_PASSWORD                its password; by default one is generated on the
                                     first run and kept in .demo-admin-password
  SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET,
  SLACK_BOT_SCOPES, SLACK_USER_SCOPES
                                     real credentials: one app against the real Slack
                                     instead of the fake one
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_FILE = ROOT / ".demo-admin-password"

DEMO_APPS: list[dict[str, Any]] = [
    {
        "slug": "standup-bot",
        "name": "Standup Bot",
        "client_id": "1000000001.2000000001",
        "bot_scopes": "chat:write,commands",
        "user_scopes": "",
        "pipelines": ["slack_installs.pipelines.send_welcome_message"],
        "sign_in_enabled": False,
        "token_rotation": False,
    },
    {
        "slug": "acme-helper",
        "name": "Acme Helper",
        "client_id": "1000000002.2000000002",
        "bot_scopes": "chat:write,commands,incoming-webhook",
        "user_scopes": "users:read",
        "pipelines": ["slack_installs.pipelines.link_django_user"],
        "sign_in_enabled": True,
        "token_rotation": True,
    },
]
REAL_APP_SLUG = "my-slack-app"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")
    import django

    django.setup()


def admin_password(environ: dict[str, str], password_file: Path = PASSWORD_FILE) -> str:
    """The password to print: from the environment, else generated once and kept in a file."""
    if environ.get("DEMO_ADMIN_PASSWORD"):
        return environ["DEMO_ADMIN_PASSWORD"]
    if password_file.exists():
        kept = password_file.read_text().strip()
        if kept:
            return kept
    password = secrets.token_urlsafe(12)
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return password


def ensure_superuser(username: str, password: str) -> None:
    """Create the superuser, or reset it to ``password`` so the printed login always works."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()


def ensure_demo_apps() -> list[Any]:
    """Create (or re-activate) the demo apps; their secrets are made once and then kept."""
    from slack_installs.exceptions import DecryptionError
    from slack_installs.models import SlackApp

    apps = []
    for spec in DEMO_APPS:
        fields = {k: v for k, v in spec.items() if k not in ("slug", "token_rotation")}
        app = SlackApp.objects.filter(slug=spec["slug"]).first() or SlackApp(slug=spec["slug"])
        for name, value in fields.items():
            setattr(app, name, value)
        app.is_active = True
        try:
            has_secrets = bool(app.client_secret and app.signing_secret)
        except DecryptionError:  # the demo key was changed: start with fresh secrets
            has_secrets = False
        if not has_secrets:
            app.client_secret = secrets.token_hex(16)
            app.signing_secret = secrets.token_hex(16)
        app.save()
        apps.append(app)
    return apps


def real_credentials(environ: dict[str, str]) -> dict[str, str] | None:
    """The real app's settings, when ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set."""
    client_id = environ.get("SLACK_CLIENT_ID", "").strip()
    client_secret = environ.get("SLACK_CLIENT_SECRET", "").strip()
    if not client_id or not client_secret:
        return None
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "signing_secret": environ.get("SLACK_SIGNING_SECRET", "").strip(),
        "bot_scopes": environ.get("SLACK_BOT_SCOPES", "chat:write,commands").strip(),
        "user_scopes": environ.get("SLACK_USER_SCOPES", "").strip(),
    }


def ensure_real_app(credentials: dict[str, str]) -> Any:
    """Create or update the one app with real credentials; the demo apps are switched off."""
    from slack_installs.models import SlackApp

    SlackApp.objects.filter(slug__in=[spec["slug"] for spec in DEMO_APPS]).update(is_active=False)
    app = SlackApp.objects.filter(slug=REAL_APP_SLUG).first() or SlackApp(slug=REAL_APP_SLUG)
    app.name = app.name or "My Slack app"
    app.is_active = True
    for name, value in credentials.items():
        setattr(app, name, value)
    app.full_clean()
    app.save()
    return app


def configuration_token_lines(fake: Any) -> list[str]:
    """A configuration token of the fake Slack, for "Create on Slack" in the admin."""
    issued = fake.issue_configuration_token()
    return [
        "    Create a third app on the fake Slack: in the admin, add an app configuration",
        f"    token for workspace {issued.team_id} with",
        f"      token:          {issued.token}",
        f"      refresh token:  {issued.refresh_token}",
        "    then add a Slack app without credentials and press “Create on Slack” on its",
        "    Manifest page.",
    ]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own loopback site)
                return True
        except urllib.error.HTTPError:
            return True  # it answers, even if with an error page
        except OSError:
            time.sleep(0.3)
    return False


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    # Ctrl-C and SIGTERM both stop the demo, even where SIGINT was ignored by a parent shell.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    host = os.environ.get("DEMO_HOST", "127.0.0.1")
    port = int(os.environ.get("DEMO_PORT", "8000"))
    fake_port = int(os.environ.get("FAKE_SLACK_PORT", "8765"))
    username = os.environ.get("DEMO_ADMIN_USER", "admin")
    credentials = real_credentials(dict(os.environ))

    if not port_is_free(host, port):
        print(f"Port {port} on {host} is in use: stop what runs there or set DEMO_PORT.")
        return 1

    setup_django()
    from django.core.management import call_command

    print("Migrating the demo database ...")
    call_command("migrate", interactive=False, verbosity=0)
    password = admin_password(dict(os.environ))
    ensure_superuser(username, password)

    site_env = dict(os.environ, PYTHONUNBUFFERED="1")
    fake = None
    if credentials:
        from django.core.exceptions import ValidationError

        try:
            app = ensure_real_app(credentials)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            print(f"The Slack credentials in the environment are not usable: {problems}")
            return 1
        apps_line = f"{app.name} (client id {app.client_id}), against the real Slack"
    else:
        from slack_installs.testing import FakeSlack
        from slack_installs.testing.database import database_resolver

        apps = ensure_demo_apps()
        # Apps added later in the admin are known too, read from the database per request.
        fake = FakeSlack(host, fake_port, resolve_app=database_resolver())
        rotation = {spec["slug"]: spec["token_rotation"] for spec in DEMO_APPS}
        for app in apps:
            fake.register_slack_app(app, token_rotation=rotation[app.slug])
        try:
            fake.start()
        except OSError as exc:
            print(f"Cannot start the fake Slack on {host}:{fake_port} ({exc.strerror}).")
            print("Stop what runs there or set FAKE_SLACK_PORT.")
            return 1
        site_env.update(SLACK_URL=fake.url, SLACK_API_URL=fake.api_url)
        apps_line = ", ".join(app.name for app in apps) + ", against the fake Slack"

    site = f"http://{host}:{port}"
    server = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"],
        cwd=ROOT,
        env=site_env,
    )
    # The tasks' worker, on the same database and the same (fake) Slack as the site.
    worker = subprocess.Popen(  # noqa: S603 (our own manage.py)
        [sys.executable, str(ROOT / "manage.py"), "db_worker", "--no-reload", "--verbosity", "0"],
        cwd=ROOT,
        env=site_env,
    )
    try:
        if not wait_until_up(site + "/", server):
            print("The Django dev server did not start; see its output above.")
            return 1
        print()
        print("  django-slack-installs demo is running")
        print(f"    Site:        {site}/")
        print(f"    Admin:       {site}/admin/   user: {username}   password: {password}")
        print(f"    Apps:        {apps_line}")
        print("    Tasks:       the database backend, its worker running (manage.py db_worker)")
        if fake is not None:
            print(f"    Fake Slack:  {fake.url}/")
            print("\n".join(configuration_token_lines(fake)))
        else:
            redirect_base = os.environ.get("SLACK_REDIRECT_BASE_URL") or site
            print(
                f"    Redirect URL to add in your Slack app's settings: "
                f"{redirect_base}/slack/{REAL_APP_SLUG}/oauth/callback/\n"
                "    (Slack wants HTTPS: set SLACK_REDIRECT_BASE_URL to your https tunnel.)"
            )
        print("  Press Ctrl-C to stop.")
        print(flush=True)
        return server.wait()
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        stop(worker)
        stop(server)
        if fake is not None:
            fake.stop()


if __name__ == "__main__":
    sys.exit(main())
