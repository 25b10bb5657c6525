"""The warnings page (run by st.navigation; the logic lives in verify.ui.views.warnings)."""

from verify.ui.views.warnings import render

if __name__ == "__main__":
    render()
