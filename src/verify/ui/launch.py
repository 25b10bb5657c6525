"""Start the workbench: ``python -m verify.ui.launch`` (what ``python3 app.py`` runs after setup)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from verify.config import load_settings

ROOT = Path(__file__).resolve().parents[3]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"verify: data folder {settings.data_dir}", flush=True)
    from verify.seed import seed_on_start  # the samples, once, into an empty data folder

    seed_on_start(settings, enabled=os.environ.get("VERIFY_NO_SEED") != "1")
    port = os.environ.get("VERIFY_PORT", "8501")
    address = os.environ.get("VERIFY_ADDRESS", "127.0.0.1")
    print(f"verify: starting the workbench at http://{address}:{port}/", flush=True)
    # The web server would otherwise replace a loopback peer's address with what its
    # X-Forwarded-For header says: the trusted-header check must see the proxy itself.
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "none")
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), "--server.port", port, "--server.address", address, *args]
    sys.exit(stcli.main())


if __name__ == "__main__":
    main()
