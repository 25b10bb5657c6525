"""The export page (run by st.navigation; the logic lives in verify.ui.views.export)."""

from verify.ui.views.export import render

if __name__ == "__main__":
    render()
