"""verify: a media-verification workbench for newsrooms.

The core (everything outside ``verify.ui`` and ``verify.cli``) knows nothing of Streamlit or the
terminal, so both front ends stay thin and the rules live in one place.
"""

__version__ = "0.1.0"
