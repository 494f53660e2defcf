"""Start the test CAS server (django-cas-server) on 127.0.0.1:PORT.

Environment: PORT, CAS_USER, CAS_PASSWORD, CAS_ATTRIBUTES (JSON object), and optionally
CAS_DATA_DIR (a directory for the SQLite database; by default a temporary one, removed at exit
unless the process is killed). Migrates the database, allows every service under
http://127.0.0.1:<any port>/ with all attributes released, then serves with Django's runserver
(threaded, no reloader) until killed. The Rust tests start it with TONGBAN_TEST_PYTHON.
"""
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    port = os.environ.get("PORT")
    for name in ("PORT", "CAS_USER", "CAS_PASSWORD"):
        if not os.environ.get(name):
            sys.exit(f"cas peer: {name} must be set")
    if not os.environ.get("CAS_DATA_DIR"):
        data_dir = tempfile.mkdtemp(prefix="tongban-cas-")
        os.environ["CAS_DATA_DIR"] = data_dir

        def clean_up(*_):
            shutil.rmtree(data_dir, ignore_errors=True)
            os._exit(0)

        signal.signal(signal.SIGTERM, clean_up)
        signal.signal(signal.SIGINT, clean_up)

    sys.path.insert(0, HERE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tongban_cas.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)

    from cas_server.models import ReplaceAttributName, ServicePattern

    pattern, _ = ServicePattern.objects.get_or_create(
        pattern=r"^http://127\.0\.0\.1:\d+/.*", defaults={"name": "tongban-tests", "pos": 0}
    )
    # "*" releases every attribute of the user under its own name.
    ReplaceAttributName.objects.get_or_create(name="*", replace="", service_pattern=pattern)

    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
