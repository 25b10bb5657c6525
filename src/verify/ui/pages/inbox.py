"""The inbox page (run by st.navigation; the logic lives in verify.ui.views.inbox)."""

from verify.ui.views.inbox import render

if __name__ == "__main__":
    render()
