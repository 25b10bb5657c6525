"""The background work page (run by st.navigation; the logic lives in verify.ui.views.jobs)."""

from verify.ui.views.jobs import render

if __name__ == "__main__":
    render()
