"""The verdict page (run by st.navigation; the logic lives in verify.ui.views.verdict)."""

from verify.ui.views.verdict import render

if __name__ == "__main__":
    render()
