"""The verify workbench.

``python3 app.py`` sets everything up (a virtual environment, the dependencies, a data folder
seeded with the samples) and starts the workbench; Streamlit itself runs this same file.
"""

import sys
from pathlib import Path

if "streamlit" not in sys.modules:  # started as `python3 app.py`: bootstrap, then hand over to Streamlit
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    from verify._bootstrap import ensure_venv, exec_in_venv

    python = ensure_venv()
    exec_in_venv(python, ["-m", "verify.ui.launch", *sys.argv[1:]])
else:
    from verify.ui.main import run

    run()
